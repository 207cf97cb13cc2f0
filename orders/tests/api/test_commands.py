"""The package commands through the API (SPEC 9.2, ``orders.api.commands``): the commands endpoint, verify-otp,
resend-otp and the order's verify-otp, through real Bearer tokens; the verify-otp answer equals a fresh read;
the failed-verification window (SPEC 4)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.services import app_setting_set
from core.testing import wrong_code
from orders import commands as cmd
from orders.models import AuditKind, AuditOutcome, AuditRecord, Package, PackageStatus, StaffRole
from orders.tests.apiclient import PASSWORD, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import PackageFactory, employee_of
from otp.models import PickupCode

pytestmark = pytest.mark.django_db


# --- commands -------------------------------------------------------------------------------------


def test_commands_walk_a_package_to_ready(api, make_package):
    package = make_package(PackageStatus.WAITING)
    response = api.post(f"/api/packages/{package.pk}/commands/", {"command": cmd.COMPLETE_PACKAGING})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["message"]
    assert body["data"]["package"]["status"] == "packed_all_items"
    response = api.post(f"/api/packages/{package.pk}/commands", {"command": cmd.READY_FOR_PICKUP})
    assert response.status_code == 200
    assert response.json()["data"]["package"]["status"] == "ready_for_customer_pickup"
    assert response.json()["data"]["package"]["otp"]["attemptsRemaining"] == 5
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.TRANSITION, channel="api").count() == 2


def test_command_from_the_wrong_state_is_invalid_state_and_changes_nothing(api, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    before = Package.objects.values().get(pk=package.pk)
    body = assert_error(
        api.post(f"/api/packages/{package.pk}/commands/", {"command": cmd.COMPLETE_PACKAGING}), 409, "invalid_state"
    )
    assert body["details"]["status"] == "ready_for_customer_pickup"
    assert Package.objects.values().get(pk=package.pk) == before


def test_unknown_or_missing_command_is_a_validation_error(api, make_package):
    package = make_package(PackageStatus.WAITING)
    body = assert_error(api.post(f"/api/packages/{package.pk}/commands/", {"command": "FLY"}), 400, "validation_error")
    assert "command" in body["details"]["fields"]
    assert_error(api.post(f"/api/packages/{package.pk}/commands/", {}), 400, "validation_error")


def test_only_managers_cancel_and_a_reason_is_needed(api, manager_api, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/commands/"
    assert_error(api.post(url, {"command": cmd.CANCEL, "reason": "out of stock"}), 403, "permission_denied")
    body = assert_error(manager_api.post(url, {"command": cmd.CANCEL}), 400, "validation_error")
    assert "reason" in body["details"]["fields"]
    assert_error(manager_api.post(url, {"command": cmd.CANCEL, "reason": "   "}), 400, "validation_error")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    response = manager_api.post(url, {"command": cmd.CANCEL, "reason": "customer called"})
    assert response.status_code == 200
    data = response.json()["data"]["package"]
    assert data["status"] == "cancelled" and data["cancellationReason"] == "customer called"
    assert data["availableCommands"] == []


def test_deliver_command_needs_the_code(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/commands/"
    assert_error(api.post(url, {"command": cmd.DELIVER}), 400, "validation_error")
    response = api.post(url, {"command": cmd.DELIVER, "otp": issued_code(package)})
    assert response.status_code == 200
    assert response.json()["data"]["package"]["status"] == "delivered"


# --- verify-otp -----------------------------------------------------------------------------------


def test_verify_with_the_right_code_delivers(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["message"] == "Package delivered."
    assert body["data"]["package"]["status"] == "delivered"
    assert body["data"]["package"]["readyExpiresAt"] is None
    assert body["data"]["order"]["orderStatus"] == "picked_up"
    assert body["data"]["order"]["id"] == str(package.order_id)
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED


def test_wrong_code_counts_and_says_how_many_attempts_remain(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/verify-otp"
    body = assert_error(api.post(url, {"otp": wrong_code(issued_code(package))}), 400, "otp_invalid")
    assert body["details"] == {"attemptsRemaining": 4}
    assert PickupCode.objects.get(package=package, used_at=None, invalidated_at=None).attempts == 1
    assert api.get(f"/api/packages/{package.pk}").json()["otp"]["attemptsRemaining"] == 4
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"otp": "12345"},
        {"otp": "1234567"},
        {"otp": "12a456"},
        {"otp": " 123456"},
        {"otp": "١٢٣٤٥٦"},
        {"otp": 123456},
        {"otp": None},
        {"otp": ["123456"]},
        {"manualConfirm": "true"},
        {"manualConfirm": 1},
        {"manualConfirm": False},
    ],
)
def test_malformed_verification_is_a_validation_error_and_not_an_attempt(api, make_package, payload):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert_error(api.post(f"/api/packages/{package.pk}/verify-otp/", payload), 400, "validation_error")
    assert PickupCode.objects.get(package=package, used_at=None, invalidated_at=None).attempts == 0
    assert not AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).exists()


def test_locked_after_the_last_wrong_entry_even_for_the_right_code(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/verify-otp/"
    code = issued_code(package)
    for remaining in (4, 3, 2, 1, 0):
        body = assert_error(api.post(url, {"otp": wrong_code(code)}), 400, "otp_invalid")
        assert body["details"]["attemptsRemaining"] == remaining
    assert_error(api.post(url, {"otp": code}), 400, "otp_locked")
    assert api.get(f"/api/packages/{package.pk}/").json()["otp"]["locked"] is True


def test_expired_code(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(seconds=600)):
        assert_error(
            api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)}), 400, "otp_expired"
        )


def test_no_live_code_is_otp_not_issued(api, store, make_package):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)  # became ready without a code
    app_setting_set(key="IS_OTP_ENABLED", value=True, store=store)
    assert_error(api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": "123456"}), 400, "otp_not_issued")


def test_manual_confirmation_where_allowed_and_refused_where_not(api, store, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered after manual confirmation."
    assert AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION).manual is True

    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    other = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert_error(api.post(f"/api/packages/{other.pk}/verify-otp/", {"manualConfirm": True}), 403, "permission_denied")
    other.refresh_from_db()
    assert other.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


@pytest.mark.parametrize("path", ["verify-otp/", "commands/"])
def test_a_code_sent_with_manual_confirm_is_checked(path, api, store, make_package, issued_code):
    """``{otp, manualConfirm: true}``: the code is compared, as without the flag (a wrong one counts an attempt), and
    the right one is an ordinary verified delivery, also where manual confirmation is off."""
    extra = {"command": cmd.DELIVER} if path == "commands/" else {}
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/{path}"
    code = issued_code(package)
    body = assert_error(api.post(url, {**extra, "otp": wrong_code(code), "manualConfirm": True}), 400, "otp_invalid")
    assert body["details"]["attemptsRemaining"] == 4
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None, invalidated_at=None).attempts == 1

    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    response = api.post(url, {**extra, "otp": code, "manualConfirm": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered."
    assert response.json()["data"]["package"]["status"] == "delivered"
    records = AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).order_by("pk")
    assert [(r.outcome, r.manual) for r in records] == [(AuditOutcome.FAILURE, False), (AuditOutcome.SUCCESS, False)]


def test_verify_without_codes_at_the_store_delivers_and_says_so(api, store, make_package):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", {})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered. No pickup code was required at this store."
    assert response.json()["data"]["package"]["status"] == "delivered"


def test_verify_a_package_that_is_not_ready_is_invalid_state(api, make_package):
    package = make_package(PackageStatus.WAITING)
    assert_error(api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": "123456"}), 409, "invalid_state")


# --- resend-otp -----------------------------------------------------------------------------------


def test_resend_respects_the_cooldown_and_replaces_the_code(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    old = issued_code(package)
    url = f"/api/packages/{package.pk}/resend-otp/"
    response = api.post(url, {})
    body = assert_error(response, 429, "throttled")
    assert 1 <= body["details"]["retryAfter"] <= 60
    assert response["Retry-After"] == str(body["details"]["retryAfter"])
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = api.post(url.rstrip("/"))
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert response.json()["data"]["package"]["otp"]["attemptsRemaining"] == 5
        new = issued_code(package)
        assert new not in response.content.decode().replace(str(package.pk), "")
        if new != old:
            assert_error(api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": old}), 400, "otp_invalid")
        assert api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": new}).status_code == 200


def test_resend_for_a_package_that_is_not_ready_is_invalid_state(api, make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    assert_error(api.post(f"/api/packages/{package.pk}/resend-otp/", {}), 409, "invalid_state")


# --- orders ---------------------------------------------------------------------------------------


def test_campusbite_order_verify_call_works_unchanged(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/orders/{package.order_id}/verify-otp", {"otp": issued_code(package)})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True and isinstance(body["message"], str)
    order = body["data"]["order"]
    assert order["id"] == str(package.order_id)
    assert order["orderNumber"] == package.order.order_number
    assert order["orderStatus"] == "picked_up"
    assert order["status"] == "picked_up"  # CampusBite's web client reads data.order.status
    assert [p["status"] for p in order["packages"]] == ["delivered"]


def test_every_verify_answers_the_orders_status_as_campusbite_reads_it(api, make_package, issued_code):
    """``data.order.status`` is ``data.order.orderStatus``, on both verify calls, while another package waits and
    once the order is picked up; the order read afterwards says the same."""
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order=first.order)
    response = api.post(f"/api/packages/{first.pk}/verify-otp/", {"otp": issued_code(first)})
    order = response.json()["data"]["order"]
    assert order["status"] == order["orderStatus"] == "ready"
    response = api.post(f"/api/orders/{first.order_id}/verify-otp", {"otp": issued_code(second)})
    order = response.json()["data"]["order"]
    assert order["status"] == order["orderStatus"] == "picked_up"
    fresh = api.get(f"/api/orders/{first.order_id}/").json()
    assert fresh["status"] == fresh["orderStatus"] == "picked_up"


def test_order_verify_picks_the_matching_package_and_counts_wrong_codes_on_each(api, store, make_package, issued_code):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order=first.order)
    url = f"/api/orders/{first.order_id}/verify-otp/"
    bad = wrong_code(issued_code(first), issued_code(second))
    assert_error(api.post(url, {"otp": bad}), 400, "otp_invalid")
    assert set(PickupCode.objects.filter(used_at=None, invalidated_at=None).values_list("attempts", flat=True)) == {1}
    response = api.post(url, {"otp": issued_code(second)})
    assert response.status_code == 200
    statuses = {p["id"]: p["status"] for p in response.json()["data"]["order"]["packages"]}
    assert statuses == {str(first.pk): "ready_for_customer_pickup", str(second.pk): "delivered"}
    assert response.json()["data"]["order"]["orderStatus"] == "ready"


def test_order_verify_manual_confirm_delivers_every_ready_package(api, make_package):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order=first.order)
    response = api.post(f"/api/orders/{first.order_id}/verify-otp", {"manualConfirm": True})
    assert response.status_code == 200
    order = response.json()["data"]["order"]
    assert order["orderStatus"] == "picked_up"
    assert {p["status"] for p in order["packages"]} == {"delivered"}


def test_order_verify_checks_a_code_sent_with_manual_confirm(api, make_package, issued_code):
    """Not "every ready package, unchecked": the code is tried as without the flag and opens only the one it matches."""
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order=first.order)
    url = f"/api/orders/{first.order_id}/verify-otp"
    bad = wrong_code(issued_code(first), issued_code(second))
    assert_error(api.post(url, {"otp": bad, "manualConfirm": True}), 400, "otp_invalid")
    assert set(PickupCode.objects.filter(used_at=None, invalidated_at=None).values_list("attempts", flat=True)) == {1}
    assert set(Package.objects.filter(order=first.order).values_list("status", flat=True)) == {
        PackageStatus.READY_FOR_CUSTOMER_PICKUP
    }

    response = api.post(url, {"otp": issued_code(second), "manualConfirm": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered."
    statuses = {p["id"]: p["status"] for p in response.json()["data"]["order"]["packages"]}
    assert statuses == {str(first.pk): "ready_for_customer_pickup", str(second.pk): "delivered"}
    success = AuditRecord.objects.get(kind=AuditKind.VERIFICATION, outcome=AuditOutcome.SUCCESS)
    assert (success.package_id, success.manual) == (second.pk, False)


def test_order_verify_errors(api, make_package, other_store):
    foreign = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    assert_error(api.post(f"/api/orders/{foreign.order_id}/verify-otp", {"otp": "123456"}), 404, "not_found")
    assert_error(api.post("/api/orders/nope/verify-otp", {"otp": "123456"}), 404, "not_found")
    waiting = make_package(PackageStatus.WAITING)
    assert_error(api.post(f"/api/orders/{waiting.order_id}/verify-otp", {"otp": "123456"}), 409, "invalid_state")
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert_error(api.post(f"/api/orders/{ready.order_id}/verify-otp", {}), 400, "validation_error")
    assert_error(api.post(f"/api/orders/{ready.order_id}/verify-otp", {"otp": "12"}), 400, "validation_error")


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


def test_more_than_20_failed_verifications_in_10_minutes_are_throttled(employee, make_package, issued_code):
    client = bearer(employee)
    packages = [make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP) for _ in range(5)]
    for package in packages[:4]:  # 4 packages x 5 wrong entries = 20 failures, spread over packages
        for _ in range(5):
            response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong_code(issued_code(package))})
            assert_error(response, 400, "otp_invalid")
    assert (
        AuditRecord.objects.filter(actor=employee, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE).count()
        == 20
    )
    fresh = packages[4]
    response = client.post(f"/api/packages/{fresh.pk}/verify-otp/", {"otp": issued_code(fresh)})
    body = assert_error(response, 429, "throttled")
    assert 1 <= body["details"]["retryAfter"] <= 600
    assert response["Retry-After"] == str(body["details"]["retryAfter"])
    fresh.refresh_from_db()
    assert fresh.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP  # even the right code waits for the window
    order_level = client.post(f"/api/orders/{fresh.order_id}/verify-otp", {"otp": issued_code(fresh)})
    assert_error(order_level, 429, "throttled")


def test_the_failure_window_is_per_user(employee, make_package, issued_code, store):
    from orders.tests.factories import employee_of

    client = bearer(employee)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    for _ in range(20):
        client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong_code(issued_code(package))})
    colleague = bearer(employee_of(store, "can"))
    other = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert colleague.post(f"/api/packages/{other.pk}/verify-otp/", {"otp": issued_code(other)}).status_code == 200
