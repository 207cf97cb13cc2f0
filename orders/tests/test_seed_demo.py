from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from orders.models import Customer, Order, Package, PackageStatus, StaffMembership, Store


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent():
    call_command("seed_demo", "--password", "s3cret-pass", stdout=StringIO())
    counts = (Store.objects.count(), Order.objects.count(), Package.objects.count(), Customer.objects.count())
    call_command("seed_demo", "--password", "s3cret-pass", stdout=StringIO())
    assert (Store.objects.count(), Order.objects.count(), Package.objects.count(), Customer.objects.count()) == counts
    assert set(Store.objects.values_list("code", "name")) == {("IST01", "Istanbul Kanyon"), ("ANK01", "Ankara Armada")}
    roles = set(StaffMembership.objects.values_list("user__username", "store__code", "role"))
    assert roles == {
        ("ayse", "IST01", "employee"),
        ("mehmet", "ANK01", "employee"),
        ("zeynep", "IST01", "manager"),
        ("zeynep", "ANK01", "manager"),
    }
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="oms").groups.filter(name="integration").exists()
    for username in ("admin", "ayse", "mehmet", "zeynep", "oms"):
        assert authenticate(username=username, password="s3cret-pass") is not None
    for store in ("IST01", "ANK01"):
        states = set(Package.objects.filter(store__code=store).values_list("status", flat=True))
        assert states == set(PackageStatus.values)
    assert all(phone.startswith("+90") for phone in Customer.objects.values_list("phone", flat=True))
