"""The verify-otp answer is built from the rows the delivery loaded (the hot path, docs/performance.md),
not read again: it must say exactly what a fresh read of the package and of the order says."""

import pytest

from orders.models import PackageStatus, StaffRole
from orders.tests.apiclient import PASSWORD, _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import PackageFactory, employee_of

pytestmark = pytest.mark.django_db


def _verify_and_reread(user, package, code) -> tuple[dict, dict, dict]:
    client = bearer(user)
    response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    fresh_package = client.get(f"/api/packages/{package.pk}/").json()
    fresh_order = client.get(f"/api/orders/{package.order_id}/").json()
    return data, fresh_package, fresh_order


@pytest.mark.parametrize("role", [StaffRole.EMPLOYEE, StaffRole.MANAGER])
def test_one_package_order_answer_equals_a_fresh_read(store, make_package, issued_code, role):
    user = employee_of(store, f"u-{role}", role=role)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    data, fresh_package, fresh_order = _verify_and_reread(user, package, issued_code(package))
    assert data["package"] == fresh_package
    assert data["order"] == fresh_order
    assert data["order"]["orderStatus"] == "picked_up"
    assert data["package"]["otp"] == {"required": True, "expiresAt": None, "attemptsRemaining": None, "locked": False}
    assert [p["id"] for p in data["order"]["packages"]] == [str(package.pk)]


def test_answer_of_an_order_with_more_packages_shows_only_the_callers_and_equals_a_fresh_read(
    store, other_store, employee, make_package, issued_code
):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    sibling = PackageFactory(order=package.order, store=store)  # waiting, same store: visible
    foreign = PackageFactory(order=package.order, store=other_store)  # another store: never shown
    data, fresh_package, fresh_order = _verify_and_reread(employee, package, issued_code(package))
    assert data["package"] == fresh_package
    assert data["order"] == fresh_order
    shown = {p["id"] for p in data["order"]["packages"]}
    assert shown == {str(package.pk), str(sibling.pk)} and str(foreign.pk) not in shown
    assert data["order"]["orderStatus"] == "processing"  # a sibling still waits


def test_superuser_answer_equals_a_fresh_read(store, make_package, issued_code, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    data, fresh_package, fresh_order = _verify_and_reread(admin, package, issued_code(package))
    assert data["package"] == fresh_package and data["order"] == fresh_order
    assert "CANCEL_PACKAGE" not in data["package"]["availableCommands"]  # delivered: nothing applies


def test_unknown_or_foreign_package_is_not_found_and_changes_nothing(
    store, other_store, employee, make_package, issued_code
):
    foreign = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    client = bearer(employee)
    bodies = ({"otp": issued_code(foreign)}, {"otp": "12ab"}, {}, {"manualConfirm": True})
    for target in (foreign.pk, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        for body in bodies:  # not_found first, whatever the body: nothing said about the package
            response = client.post(f"/api/packages/{target}/verify-otp/", body)
            assert response.status_code == 404 and response.json()["code"] == "not_found", (target, body)
    foreign.refresh_from_db()
    assert foreign.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert foreign.pickup_codes.get(used_at=None, invalidated_at=None).attempts == 0
