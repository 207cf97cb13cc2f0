"""factory-boy factories shared by every app's tests."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from orders.models import Customer, Order, Package, PackageItem, StaffMembership, StaffRole, Store

PASSWORD = "pass-word-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ST{n:03d}")
    name = factory.LazyAttribute(lambda store: f"Store {store.code}")
    timezone = "Europe/Istanbul"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = StaffRole.EMPLOYEE


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+90532{n:07d}")
    email = factory.LazyAttribute(lambda c: f"customer{c.phone[-7:]}@example.com")
    push_token = factory.LazyAttribute(lambda c: f"push-{c.phone[-7:]}")
    language = "en"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    order_number = factory.Sequence(lambda n: f"ORD{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    store = factory.SubFactory(StoreFactory)


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    store = factory.LazyAttribute(lambda package: package.order.store)

    @factory.post_generation
    def items(obj, create, extracted, **kwargs):
        if create:
            PackageItem.objects.create(package=obj, sku=f"SKU-{str(obj.pk)[:6]}", name="Sneakers", quantity=1)


def employee_of(store, username=None, role=StaffRole.EMPLOYEE):
    user = UserFactory(**({"username": username} if username else {}))
    StaffMembership.objects.create(user=user, store=store, role=role)
    return user


def integration_user(username="oms"):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get_or_create(name="integration")[0])
    return user


def staff_admin(*codenames: str):
    """(user, signed-in client) of a staff administrator (not a superuser) with only the given ``orders``
    permissions."""
    user = get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return user, client
