"""Inputs at the edges of the API (SPEC 9.4: every error in the JSON shape, in the request's language; no
input, however malformed, produces a 500), and the probes with and without the trailing slash."""

import json

import pytest
from django.test import Client

from core.testing import wrong_code
from orders import services
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import PackageFactory, employee_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000])
def test_a_deeply_nested_body_is_a_validation_error_not_a_500(body, employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    anonymous = Client().post("/api/auth/token/", body, content_type="application/json")
    assert_error(anonymous, 400, "validation_error")
    signed_in = bearer(employee).client.post(
        f"/api/packages/{package.pk}/verify-otp/", body, content_type="application/json"
    )
    assert_error(signed_in, 400, "validation_error")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused_as_unparseable(constant, employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    body = '{"manualConfirm": true, "reason": ' + constant + "}"
    answer = bearer(employee).client.post(
        f"/api/packages/{package.pk}/verify-otp/", body, content_type="application/json"
    )
    error = assert_error(answer, 400, "validation_error")
    assert error["message"] == "The request body is not valid JSON."
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP  # the valid keys beside it did not count either


def test_a_body_over_the_size_limit_answers_json(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"username": "x" * 5000, "password": "y"})
    response = Client().post("/api/auth/token/", body, content_type="application/json")
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/readyz/"])
def test_probes_answer_with_and_without_the_slash(client, path):
    response = client.get(path)
    assert response.status_code in (200, 503) and response["Content-Type"].startswith("application/json")


def test_token_errors_speak_turkish(employee, store):
    wrong = Client().post(
        "/api/auth/token/",
        {"username": "ayse", "password": "not-it"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    assert (
        assert_error(wrong, 401, "not_authenticated")["message"]
        == "Verilen kimlik bilgileriyle aktif bir hesap bulunamadı"
    )
    leaving = employee_of(store, "leaving")
    client = bearer(leaving)
    leaving.delete()
    gone = client.get("/api/packages/", HTTP_ACCEPT_LANGUAGE="tr")
    assert assert_error(gone, 401, "not_authenticated")["message"] == "Kullanıcı bulunamadı"


def test_the_last_attempt_is_said_in_the_singular(employee, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    api = bearer(employee)
    for _ in range(3):
        api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong_code(issued_code(package))})
    body = assert_error(
        api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong_code(issued_code(package))}),
        400,
        "otp_invalid",
    )
    assert body["details"]["attemptsRemaining"] == 1
    assert body["message"] == "The pickup code is wrong. 1 attempt left."


def test_order_verify_says_package_delivered_while_the_order_waits_for_more(employee, make_package, issued_code, store):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = PackageFactory(order=first.order, store=store)
    services.package_complete_packaging(package=second, actor=None, channel="system")
    services.package_mark_ready(package=second, actor=None, channel="system")
    api = bearer(employee)
    response = api.post(f"/api/orders/{first.order_id}/verify-otp", {"otp": issued_code(first)})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered."
    assert response.json()["data"]["order"]["orderStatus"] == "ready"
    response = api.post(f"/api/orders/{first.order_id}/verify-otp", {"otp": issued_code(second)})
    assert response.json()["message"] == "Order picked up."
    assert response.json()["data"]["order"]["orderStatus"] == "picked_up"


def test_code_and_manual_confirmation_together_is_a_checked_code(employee, make_package, issued_code):
    """Both sent: the code is compared (a wrong one is counted as any wrong entry), never waved through as a manual
    confirmation; a malformed one is a validation_error that counts nothing, as without the flag."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    api = bearer(employee)
    url = f"/api/packages/{package.pk}/verify-otp/"
    body = assert_error(api.post(url, {"otp": "12ab", "manualConfirm": True}), 400, "validation_error")
    assert "otp" in body["details"]["fields"]
    assert_error(api.post(url, {"otp": wrong_code(issued_code(package)), "manualConfirm": True}), 400, "otp_invalid")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert package.pickup_codes.get(used_at=None, invalidated_at=None).attempts == 1
    # manualConfirm with a null code is a manual confirmation.
    response = api.post(url, {"otp": None, "manualConfirm": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Package delivered after manual confirmation."
