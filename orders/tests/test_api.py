"""The package and order endpoints of SPEC 9.2, through real Bearer tokens: answers, representations, errors."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.services import app_setting_set
from core.testing import wrong_code
from orders import commands as cmd
from orders.models import AuditKind, AuditOutcome, AuditRecord, Package, PackageStatus
from orders.tests.apiclient import PACKAGE_KEYS, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, OrderFactory, PackageFactory, employee_of, integration_user
from otp.models import PickupCode

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(employee):
    return bearer(employee)


@pytest.fixture
def manager_api(manager):
    return bearer(manager)


# --- representation ------------------------------------------------------------------------------


def test_package_representation_is_spec_9_3_and_never_carries_the_code(api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    response = api.get(f"/api/packages/{package.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PACKAGE_KEYS
    assert body["id"] == str(package.pk)
    assert body["orderId"] == str(package.order_id)
    assert body["orderNumber"] == package.order.order_number
    assert body["store"] == {"code": "IST01", "name": "Istanbul Kanyon"}
    assert body["status"] == "ready_for_customer_pickup"
    assert body["statusDisplay"] == "Ready for Customer Pickup"
    assert body["deliveryType"] == "in_store"
    assert body["deliveryFromStore"] is True
    customer = package.order.customer
    assert body["customer"] == {"name": customer.name, "phoneMasked": customer.phone_masked, "trustTier": "good"}
    assert customer.phone not in response.content.decode()
    assert body["items"] == [{"sku": f"SKU-{str(package.pk)[:6]}", "name": "Sneakers", "quantity": 1}]
    assert body["readyAt"] and body["readyExpiresAt"]
    assert body["deliveredAt"] is None and body["cancelledAt"] is None and body["cancellationReason"] == ""
    current = PickupCode.objects.get(package=package, used_at=None, invalidated_at=None)
    assert body["otp"]["required"] is True
    assert body["otp"]["attemptsRemaining"] == 5
    assert body["otp"]["locked"] is False
    assert body["otp"]["expiresAt"].startswith(current.expires_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["availableCommands"] == [cmd.DELIVER, cmd.RESEND_CODE]
    text = response.content.decode()
    assert f'"{code}"' not in text and current.code_hash not in text
    assert "codeHash" not in text


def test_available_commands_follow_the_role(api, manager_api, make_package):
    package = make_package(PackageStatus.WAITING)
    assert api.get(f"/api/packages/{package.pk}").json()["availableCommands"] == [cmd.COMPLETE_PACKAGING]
    assert manager_api.get(f"/api/packages/{package.pk}").json()["availableCommands"] == [
        cmd.COMPLETE_PACKAGING,
        cmd.CANCEL,
    ]


def test_otp_disabled_store_shows_no_code_and_offers_no_resend(api, store, make_package):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    body = api.get(f"/api/packages/{package.pk}/").json()
    assert body["otp"] == {"required": False, "expiresAt": None, "attemptsRemaining": None, "locked": False}
    assert body["availableCommands"] == [cmd.DELIVER]


# --- list ------------------------------------------------------------------------------------------


def test_list_shows_only_the_callers_stores_paginated(api, make_package, other_store):
    mine = [make_package(PackageStatus.WAITING) for _ in range(3)]
    make_package(PackageStatus.WAITING, at_store=other_store)
    response = api.get("/api/packages/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert {row["id"] for row in body["results"]} == {str(p.pk) for p in mine}
    assert body["next"] is None and body["previous"] is None


def test_list_pages(api, make_package):
    for _ in range(3):
        make_package(PackageStatus.WAITING)
    first = api.get("/api/packages", {"pageSize": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and "page=2" in first["next"]
    second = api.get("/api/packages", {"pageSize": 2, "page": 2}).json()
    assert len(second["results"]) == 1
    assert {r["id"] for r in first["results"]}.isdisjoint({r["id"] for r in second["results"]})
    assert_error(api.get("/api/packages", {"page": 9}), 404, "not_found")


@pytest.mark.parametrize("query", ["page=", "pageSize=", "page=1&page=2", "page=0", "pageSize=201", "page=x"])
def test_a_malformed_page_parameter_is_a_field_error_not_a_silent_default(api, make_package, query):
    make_package(PackageStatus.WAITING)
    body = assert_error(api.get(f"/api/packages/?{query}"), 400, "validation_error")
    assert set(body["details"]["fields"]) == {query.split("=")[0]}


def test_list_filters_by_status_and_store(manager, make_package, other_store):
    from orders.models import StaffMembership, StaffRole

    StaffMembership.objects.create(user=manager, store=other_store, role=StaffRole.MANAGER)
    client = bearer(manager)
    waiting = make_package(PackageStatus.WAITING)
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    elsewhere = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    ids = lambda response: {row["id"] for row in response.json()["results"]}  # noqa: E731
    assert ids(client.get("/api/packages/", {"status": "ready_for_customer_pickup"})) == {
        str(ready.pk),
        str(elsewhere.pk),
    }
    assert ids(client.get("/api/packages/", {"store": "ANK01"})) == {str(elsewhere.pk)}
    assert ids(client.get("/api/packages/", {"store": "ist01", "status": "waiting"})) == {str(waiting.pk)}
    body = assert_error(client.get("/api/packages/", {"status": "lost"}), 400, "validation_error")
    assert "status" in body["details"]["fields"]


def test_list_search_matches_order_number_name_and_phone_digits(api, store, employee):
    from orders.tests.factories import PackageFactory

    target = PackageFactory(
        order__store=store,
        order__order_number="WEB-778899",
        order__customer=CustomerFactory(name="Elif Yıldız", phone="+905551112233"),
    )
    PackageFactory(order__store=store, order__customer=CustomerFactory(name="Can Demir", phone="+905449998877"))

    def found(term):
        return {row["id"] for row in api.get("/api/packages/", {"search": term}).json()["results"]}

    assert found("WEB-778899") == {str(target.pk)}
    assert found("elif") == {str(target.pk)}
    assert found("0555 111 22 33") == {str(target.pk)}
    assert found("1112233") == {str(target.pk)}
    assert found("nobody") == set()


def test_list_does_not_query_per_package(employee, make_package):
    """The same number of queries for a page of 5 and a page of 50 packages (no N+1)."""
    client = bearer(employee)

    def add_packages(count):
        for index in range(count):
            make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP if index % 2 else PackageStatus.WAITING)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/packages/")
        assert response.status_code == 200
        return len(response.json()["results"]), len(captured.captured_queries)

    add_packages(5)
    rows_5, queries_5 = queries()
    add_packages(45)
    rows_50, queries_50 = queries()
    assert (rows_5, rows_50) == (5, 50)
    assert queries_5 == queries_50


# --- detail and access ----------------------------------------------------------------------------


def test_detail_of_another_store_or_unknown_id_is_not_found(api, make_package, other_store):
    foreign = make_package(PackageStatus.WAITING, at_store=other_store)
    assert_error(api.get(f"/api/packages/{foreign.pk}/"), 404, "not_found")
    assert_error(api.get("/api/packages/00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    assert_error(api.get("/api/packages/not-a-uuid/"), 404, "not_found")
    assert_error(api.get("/api/packages/12/"), 404, "not_found")


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


def test_order_detail_for_staff_and_the_order_system(api, make_package, other_store):
    package = make_package(PackageStatus.WAITING)
    response = api.get(f"/api/orders/{package.order_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(package.order_id)
    assert body["orderStatus"] == "processing"
    assert [p["id"] for p in body["packages"]] == [str(package.pk)]
    assert set(body["packages"][0]) == PACKAGE_KEYS

    oms = bearer(integration_user())
    response = oms.get(f"/api/orders/{package.order_id}")
    assert response.status_code == 200
    assert response.json()["packages"][0]["availableCommands"] == []

    foreign = make_package(PackageStatus.WAITING, at_store=other_store)
    assert_error(api.get(f"/api/orders/{foreign.order_id}/"), 404, "not_found")
    assert_error(api.get("/api/orders/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_order_of_two_stores_shows_staff_only_their_packages(make_package, store, other_store, employee):
    order = OrderFactory(store=store)
    mine = PackageFactory(order=order, store=store)
    PackageFactory(order=order, store=other_store)
    colleague = employee_of(other_store, "mehmet")
    body = bearer(employee).get(f"/api/orders/{order.pk}/").json()
    assert [p["id"] for p in body["packages"]] == [str(mine.pk)]
    assert len(bearer(colleague).get(f"/api/orders/{order.pk}/").json()["packages"]) == 1


# --- every path with and without a trailing slash -------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_path_answers_with_and_without_trailing_slash(slash, api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert api.get(f"/api/packages{slash}").status_code == 200
    assert api.get(f"/api/packages/{package.pk}{slash}").status_code == 200
    assert api.get(f"/api/orders/{package.order_id}{slash}").status_code == 200
    assert api.post(f"/api/packages/{package.pk}/commands{slash}", {"command": "X"}).status_code == 400
    assert api.post(f"/api/packages/{package.pk}/resend-otp{slash}").status_code == 429  # cooldown
    assert api.post(f"/api/packages/{package.pk}/verify-otp{slash}", {"otp": "1"}).status_code == 400
    assert api.post(f"/api/orders/{package.order_id}/verify-otp{slash}", {"otp": "1"}).status_code == 400
    assert api.post(f"/api/orders{slash}", {}).status_code == 403  # staff may not create orders
    assert api.client.get(f"/api/schema{slash}").status_code == 200
    assert api.client.get(f"/api/docs{slash}").status_code == 200
    token = api.client.post(
        f"/api/auth/token{slash}", {"username": "ayse", "password": "pass-word-123"}, content_type="application/json"
    )
    assert token.status_code == 200
    refresh = api.client.post(
        f"/api/auth/token/refresh{slash}", {"refresh": token.json()["refresh"]}, content_type="application/json"
    )
    assert refresh.status_code == 200
    # The failed verifications above were audited as refusals of the malformed kind: none counted.
    assert not AuditRecord.objects.filter(kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE).exists()
