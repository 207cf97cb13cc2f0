"""Django admin as an administrator's day: what came from order intake is not edited silently, forgiving a no-show
needs the permission the strikes' own action needs, package times read as the store's staff and customers read them,
and a malformed choice is a form error, not a 500."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from orders.models import NoShowStrike, Order, Package, PackageItem, PackageStatus, StaffMembership, Store
from orders.tests.factories import CustomerFactory, staff_admin

pytestmark = pytest.mark.django_db


# --- orders, packages and items come from intake -------------------------------------------------------------


def test_an_order_cannot_be_added_in_admin(admin_client, store):
    customer = CustomerFactory()
    response = admin_client.post(
        reverse("admin:orders_order_add"),
        {
            "order_number": "HAND-1",
            "customer": customer.pk,
            "store": store.pk,
            "delivery_type": "in_store",
            "packages-TOTAL_FORMS": "0",
            "packages-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    assert not Order.objects.filter(order_number="HAND-1").exists()


def test_an_orders_customer_cannot_be_switched_in_admin(admin_client, make_package):
    """The next code would go to the other customer's phone, and nothing in the audit trail would say so."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    order = package.order
    owner = order.customer
    other = CustomerFactory()
    admin_client.post(
        reverse("admin:orders_order_change", args=[order.pk]),
        {
            "order_number": "RENAMED",
            "customer": other.pk,
            "store": order.store_id,
            "delivery_type": "in_store",
            "packages-TOTAL_FORMS": "1",
            "packages-INITIAL_FORMS": "1",
            "packages-0-id": package.pk,
            "packages-0-order": order.pk,
        },
    )
    order.refresh_from_db()
    assert (order.customer, order.order_number) == (owner, order.order_number)
    assert order.order_number != "RENAMED"
    assert admin_client.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403


def test_package_items_cannot_be_changed_nor_added_in_admin(admin_client, make_package):
    package = make_package(PackageStatus.DELIVERED)
    item = package.items.first()
    assert admin_client.get(reverse("admin:orders_packageitem_add")).status_code == 403
    admin_client.post(
        reverse("admin:orders_packageitem_change", args=[item.pk]),
        {"package": package.pk, "sku": "SKU-X", "name": "Something else", "quantity": "9"},
    )
    # Through the package page's inline as well.
    admin_client.post(
        reverse("admin:orders_package_change", args=[package.pk]),
        {
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "1",
            "items-0-id": item.pk,
            "items-0-package": package.pk,
            "items-0-sku": "SKU-X",
            "items-0-name": "Something else",
            "items-0-quantity": "9",
            "items-1-package": package.pk,
            "items-1-sku": "EXTRA",
            "items-1-name": "Extra",
            "items-1-quantity": "1",
            "audit-TOTAL_FORMS": "0",
            "audit-INITIAL_FORMS": "0",
        },
    )
    item.refresh_from_db()
    assert (item.sku, item.quantity) == (item.sku, 1) and item.sku != "SKU-X"
    assert list(PackageItem.objects.filter(package=package).values_list("pk", flat=True)) == [item.pk]


def test_a_package_is_cancelled_not_deleted_in_admin(admin_client, make_package):
    package = make_package(PackageStatus.WAITING)
    response = admin_client.post(reverse("admin:orders_package_delete", args=[package.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Package.objects.filter(pk=package.pk).exists()


def test_a_packages_page_offers_no_save_button_since_nothing_on_it_can_be_edited(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    page = admin_client.get(reverse("admin:orders_package_change", args=[package.pk])).content.decode()
    assert package.order.order_number in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page and 'name="_addanother"' not in page
    # The actions that do change a package stay on the list.
    listing = admin_client.get(reverse("admin:orders_package_changelist")).content.decode()
    assert 'value="resend_code"' in listing and 'value="cancel_packages"' in listing


# --- forgiving a no-show ---------------------------------------------------------------------------------------


def strike_of(make_package):
    package = make_package(PackageStatus.CANCELLED)
    return NoShowStrike.objects.create(customer=package.order.customer, package=package)


def test_forgiving_on_the_customer_page_needs_the_strikes_change_permission(make_package):
    """The strikes' action needs orders.change_noshowstrike; the customer page's link asked orders.change_customer
    only, so a clerk who may edit customers' e-mail addresses could lift restrictions."""
    strike = strike_of(make_package)
    _, client = staff_admin("view_customer", "change_customer", "view_noshowstrike")
    page = client.get(reverse("admin:orders_customer_change", args=[strike.customer_id])).content.decode()
    assert "/forgive/" not in page
    url = reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk])
    assert client.post(url, {"reason": "Goodwill"}).status_code == 403
    strike.refresh_from_db()
    assert strike.forgiven_at is None


def test_forgiving_on_the_customer_page_works_with_the_strikes_permission(make_package):
    strike = strike_of(make_package)
    _, client = staff_admin("view_customer", "view_noshowstrike", "change_noshowstrike")
    page = client.get(reverse("admin:orders_customer_change", args=[strike.customer_id])).content.decode()
    assert "/forgive/" in page
    url = reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk])
    assert client.post(url, {"reason": "Goodwill"}).status_code == 302
    strike.refresh_from_db()
    assert strike.forgiven_reason == "Goodwill"


# --- times -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "ready", "expires"),
    [
        ("en", "Jan. 1, 2027, 12:30 a.m. (Europe/Istanbul)", "Jan. 4, 2027, 12:30 a.m. (Europe/Istanbul)"),
        ("tr", "1 Ocak 2027 00:30 (Europe/Istanbul)", "4 Ocak 2027 00:30 (Europe/Istanbul)"),
    ],
)
def test_package_times_are_the_stores_local_times_and_say_so(admin_client, make_package, language, ready, expires):
    """Staff pages and the customer's message give the deadline in the store's zone; admin gave it in UTC without
    saying so (21:30 on Dec 31 beside a message that says Jan 1, 00:30)."""
    with time_machine.travel(datetime(2026, 12, 31, 21, 30, tzinfo=UTC), tick=False):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert package.store.timezone == "Europe/Istanbul"
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    pages = [
        admin_client.get(reverse("admin:orders_package_change", args=[package.pk]), **headers),
        admin_client.get(reverse("admin:orders_package_changelist"), **headers),
        admin_client.get(reverse("admin:orders_order_change", args=[package.order_id]), **headers),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert expires in html
    assert ready in pages[0].content.decode() and ready in pages[1].content.decode()
    # The audit rows on the package page and in the audit list, too.
    audit = admin_client.get(reverse("admin:orders_auditrecord_changelist"), **headers).content.decode()
    assert ready in audit and ready in pages[0].content.decode()


# --- malformed input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "store_value"), [("abc", "xyz"), ("1e9", "00000000-0000-0000-0000-00000000000g")])
def test_a_malformed_user_or_store_id_is_a_form_error(admin_client, store, user, store_value):
    """The autocomplete widget looked the posted value up to show it again: ValueError, a 500."""
    before = StaffMembership.objects.count()
    response = admin_client.post(
        reverse("admin:orders_staffmembership_add"), {"user": user, "store": store_value, "role": "manager"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert StaffMembership.objects.count() == before
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": store.name,
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": user,
            "memberships-0-role": "employee",
        },
    )
    assert response.status_code == 200
    assert StaffMembership.objects.count() == before
    assert Store.objects.get(pk=store.pk).name == store.name


@pytest.mark.parametrize("initial", ["-1", "-5", "0"])
def test_a_management_form_that_counts_fewer_existing_rows_than_posted_is_a_form_error(
    admin_client, store, employee, initial
):
    """Django trusts INITIAL_FORMS: a negative one made the posted existing memberships new rows, and their
    unique (user, store) a 500 (IntegrityError). The page comes back with an error; nothing changes."""
    membership = StaffMembership.objects.get(user=employee, store=store)
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": "Renamed",
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": initial,
            "memberships-0-id": str(membership.pk),
            "memberships-0-store": str(store.pk),
            "memberships-0-user": str(employee.pk),
            "memberships-0-role": "manager",
        },
    )
    assert response.status_code == 200
    assert list(StaffMembership.objects.filter(store=store).values_list("user", "role")) == [
        (employee.pk, membership.role)
    ]
    assert Store.objects.get(pk=store.pk).name == store.name


def test_two_rows_given_one_user_is_a_form_error(admin_client, store, employee, manager):
    first = StaffMembership.objects.get(user=employee, store=store)
    second = StaffMembership.objects.get(user=manager, store=store)
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": store.name,
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-0-id": str(first.pk),
            "memberships-0-store": str(store.pk),
            "memberships-0-user": str(employee.pk),
            "memberships-0-role": first.role,
            "memberships-1-id": str(second.pk),
            "memberships-1-store": str(store.pk),
            "memberships-1-user": str(employee.pk),
            "memberships-1-role": second.role,
        },
    )
    assert response.status_code == 200
    assert StaffMembership.objects.get(pk=second.pk).user_id == manager.pk
