"""Administrators who are staff but not superusers (SPEC 2: superusers/staff are administrators) in Django admin:
the package actions work for them as for a superuser, within their admin permissions, and being staff gives them
no store on the staff pages or the API."""

import pytest
from django.urls import reverse

from orders.models import AuditRecord, PackageStatus
from orders.tests.apiclient import bearer
from orders.tests.factories import staff_admin

pytestmark = pytest.mark.django_db


def cancel(client, package, reason="Damaged box"):
    return client.post(
        reverse("admin:orders_package_changelist"),
        {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": reason},
    )


def test_a_staff_administrator_with_change_permission_cancels_in_admin(make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    user, client = staff_admin("view_package", "change_package")
    cancel(client, package)
    package.refresh_from_db()
    assert (package.status, package.cancellation_reason) == (PackageStatus.CANCELLED, "Damaged box")
    record = AuditRecord.objects.get(package=package, to_status="cancelled")
    assert (record.actor, record.channel) == (user, "admin")


def test_a_view_only_staff_administrator_cannot_run_the_package_actions(make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    _, client = staff_admin("view_package")
    page = client.get(reverse("admin:orders_package_changelist")).content.decode()
    assert "cancel_packages" not in page and "resend_code" not in page
    cancel(client, package)
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS


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
