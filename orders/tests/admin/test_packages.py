"""Admin for orders, packages and their items (``orders.admin.packages``): what came from order intake is not
edited silently, packages change only through their two actions (resend the code, cancel with a reason), which
run the services, also for administrators who are staff but not superusers (SPEC 2), and package times read
as the store's staff and customers read them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from orders.models import AuditRecord, Order, Package, PackageItem, PackageStatus
from orders.tests.apiclient import bearer
from orders.tests.factories import CustomerFactory, staff_admin
from otp.models import PickupCode


@pytest.mark.django_db
def test_admin_resend_action_issues_a_new_code(admin_client, admin_user, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = admin_client.post(
            reverse("admin:orders_package_changelist"), {"action": "resend_code", "_selected_action": [package.pk]}
        )
    assert response.status_code == 302
    assert PickupCode.objects.filter(package=package).count() == 2
    record = AuditRecord.objects.filter(package=package, kind="code_resent").get()
    assert (record.actor, record.channel) == (admin_user, "admin")


@pytest.mark.django_db
def test_admin_cancel_action_asks_for_a_reason(admin_client, make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    url = reverse("admin:orders_package_changelist")
    form = admin_client.post(url, {"action": "cancel_packages", "_selected_action": [package.pk]})
    assert form.status_code == 200 and "reason" in form.content.decode()
    admin_client.post(url, {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": ""})
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS
    admin_client.post(
        url, {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": "Damaged box"}
    )
    package.refresh_from_db()
    assert (package.status, package.cancellation_reason) == (PackageStatus.CANCELLED, "Damaged box")
    assert AuditRecord.objects.filter(package=package, to_status="cancelled", channel="admin").count() == 1


@pytest.mark.django_db
def test_admin_actions_leave_the_state_check_to_the_services(admin_client, make_package):
    """docs/architecture.md: the actions are offered for any selection; the command service refuses, per package."""
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    delivered = make_package(PackageStatus.DELIVERED)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = admin_client.post(
            reverse("admin:orders_package_changelist"),
            {"action": "resend_code", "_selected_action": [ready.pk, delivered.pk]},
            follow=True,
        )
    notices = [str(message) for message in response.context["messages"]]
    refusal = f"{delivered.order.order_number}: “Resend Pickup Code” does not apply to a package that is Delivered."
    assert notices == [refusal, "A new code was sent for 1 package(s)."]
    assert PickupCode.objects.filter(package=ready).count() == 2
    assert PickupCode.objects.filter(package=delivered).count() == 1


# --- orders, packages and items come from intake -------------------------------------------------------------


@pytest.mark.django_db
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


@pytest.mark.django_db
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


@pytest.mark.django_db
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


@pytest.mark.django_db
def test_a_package_is_cancelled_not_deleted_in_admin(admin_client, make_package):
    package = make_package(PackageStatus.WAITING)
    response = admin_client.post(reverse("admin:orders_package_delete", args=[package.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Package.objects.filter(pk=package.pk).exists()


@pytest.mark.django_db
def test_a_packages_page_offers_no_save_button_since_nothing_on_it_can_be_edited(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    page = admin_client.get(reverse("admin:orders_package_change", args=[package.pk])).content.decode()
    assert package.order.order_number in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page and 'name="_addanother"' not in page
    # The actions that do change a package stay on the list.
    listing = admin_client.get(reverse("admin:orders_package_changelist")).content.decode()
    assert 'value="resend_code"' in listing and 'value="cancel_packages"' in listing


# --- times -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
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


def cancel(client, package, reason="Damaged box"):
    return client.post(
        reverse("admin:orders_package_changelist"),
        {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": reason},
    )


@pytest.mark.django_db
def test_a_staff_administrator_with_change_permission_cancels_in_admin(make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    user, client = staff_admin("view_package", "change_package")
    cancel(client, package)
    package.refresh_from_db()
    assert (package.status, package.cancellation_reason) == (PackageStatus.CANCELLED, "Damaged box")
    record = AuditRecord.objects.get(package=package, to_status="cancelled")
    assert (record.actor, record.channel) == (user, "admin")


@pytest.mark.django_db
def test_a_view_only_staff_administrator_cannot_run_the_package_actions(make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    _, client = staff_admin("view_package")
    page = client.get(reverse("admin:orders_package_changelist")).content.decode()
    assert "cancel_packages" not in page and "resend_code" not in page
    cancel(client, package)
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS


@pytest.mark.django_db
def test_being_staff_gives_no_store_on_the_api_or_the_staff_pages(make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    user, client = staff_admin("view_package", "change_package")
    api = bearer(user)
    assert api.get(f"/api/packages/{package.pk}/").status_code == 404
    response = api.post(f"/api/packages/{package.pk}/commands/", {"command": "CANCEL_PACKAGE", "reason": "x"})
    assert response.status_code == 404
    assert client.get(reverse("staff:package-detail", args=[package.pk])).status_code == 404
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS


@pytest.mark.django_db
def test_the_service_itself_asks_the_change_permission_of_an_admin_caller(make_package):
    """The rule is the service's, not only the admin action's: a staff user who may not change packages gets
    nothing from channel=admin."""
    from core.errors import ApplicationError
    from orders import services

    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    viewer, _ = staff_admin("view_package")
    with pytest.raises(ApplicationError) as refused:
        services.package_cancel(package=package, actor=viewer, channel="admin", reason="x")
    assert refused.value.code == "not_found"
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS
