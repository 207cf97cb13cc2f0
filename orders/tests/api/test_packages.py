"""Reading packages through the API (SPEC 9.2, 9.3, ``orders.api.packages``): the representation, the list's
filters, search and pages, and one package, through real Bearer tokens."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.services import app_setting_set
from orders import commands as cmd
from orders.models import PackageStatus
from orders.tests.apiclient import PACKAGE_KEYS, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory
from otp.models import PickupCode

pytestmark = pytest.mark.django_db


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
