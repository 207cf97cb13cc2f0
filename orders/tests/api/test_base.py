"""docs/api.md *Errors* and *Representations* say what the server answers, and each error answer matches what the
OpenAPI document says for its operation and status: the ``details`` keys of each code, the ``Retry-After`` header,
the times' format, and which refusal comes first on ``verify-otp`` of another store's package."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from django.test import Client

from core.services import app_setting_set
from core.testing import wrong_code
from orders import commands as cmd
from orders.models import Package, PackageStatus
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import employee_of, integration_user

pytestmark = pytest.mark.django_db


# ISO 8601 in UTC with Z, the fraction of a second when the time has one (docs/api.md, Representations).
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def documented(document: dict, method: str, path: str, response) -> dict:
    """The body, after checking it against the schema documented for this operation and status."""
    answers = document["paths"][path][method]["responses"]
    assert str(response.status_code) in answers, (method, path, response.status_code)
    answer = answers[str(response.status_code)]
    body = response.json()
    schema = answer["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": document["components"]})
    for header, spec in answer.get("headers", {}).items():
        if spec.get("required"):
            assert response.has_header(header), header
    return body


def test_invalid_state_names_the_state_and_the_command(document, api, make_package):
    package = make_package(PackageStatus.DELIVERED)
    response = api.post(f"/api/packages/{package.pk}/commands/", {"command": cmd.COMPLETE_PACKAGING})
    assert_error(response, 409, "invalid_state")
    body = documented(document, "post", "/api/packages/{id}/commands/", response)
    assert body["details"] == {"status": "delivered", "command": cmd.COMPLETE_PACKAGING}
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": "123456"})
    body = documented(document, "post", "/api/packages/{id}/verify-otp/", response)
    assert body["details"] == {"status": "delivered", "command": cmd.DELIVER}


def test_invalid_state_of_a_resend_without_codes_names_only_the_command(document, api, store, make_package):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/packages/{package.pk}/resend-otp/", {})
    assert_error(response, 409, "invalid_state")
    body = documented(document, "post", "/api/packages/{id}/resend-otp/", response)
    assert body["details"] == {"command": cmd.RESEND_CODE}


def test_invalid_state_of_an_order_with_nothing_ready_has_no_details(document, api, make_package):
    package = make_package(PackageStatus.DELIVERED)
    response = api.post(f"/api/orders/{package.order_id}/verify-otp", {"otp": "123456"})
    body = assert_error(response, 409, "invalid_state")
    documented(document, "post", "/api/orders/{id}/verify-otp/", response)
    assert "details" not in body


def test_resend_cooldown_is_a_documented_429_with_its_reason_and_header(document, api, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = api.post(f"/api/packages/{package.pk}/resend-otp/", {})
    body = assert_error(response, 429, "throttled")
    documented(document, "post", "/api/packages/{id}/resend-otp/", response)
    assert body["details"]["reason"] == "resend_cooldown"
    assert response["Retry-After"] == str(body["details"]["retryAfter"])


def test_a_locked_code_says_no_attempts_remain(document, api, store, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1, store=store)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    wrong = wrong_code(issued_code(package))
    first = api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong})
    assert documented(document, "post", "/api/packages/{id}/verify-otp/", first)["details"] == {"attemptsRemaining": 0}
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)})
    body = assert_error(response, 400, "otp_locked")
    documented(document, "post", "/api/packages/{id}/verify-otp/", response)
    assert body["details"] == {"attemptsRemaining": 0}


def test_times_are_utc_with_z_and_microseconds(api, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    body = api.get(f"/api/packages/{package.pk}/").json()
    times = [body[key] for key in ("readyAt", "readyExpiresAt", "createdAt", "updatedAt")] + [body["otp"]["expiresAt"]]
    for value in times:
        assert UTC_TIME.match(value), value
    assert any("." in value for value in times)  # a client must read the fraction too


def test_verify_of_another_stores_package_is_404_unless_the_body_has_wrong_json_types(
    document, other_store, make_package
):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    stranger = bearer(employee_of(other_store, "mehmet"))
    path = f"/api/packages/{package.pk}/verify-otp/"
    for body in ({}, {"otp": "12"}, {"otp": "123456", "manualConfirm": True}, {"manualConfirm": True}):
        assert_error(stranger.post(path, body), 404, "not_found")
    for body in ({"otp": 123456}, {"manualConfirm": "yes"}, []):
        response = stranger.post(path, body)
        assert "fields" in assert_error(response, 400, "validation_error")["details"]
        documented(document, "post", "/api/packages/{id}/verify-otp/", response)
    not_json = stranger.client.post(path, "{", content_type="application/json")
    form = stranger.client.post(path, {"otp": "123456"})  # multipart form data
    for response in (not_json, form):
        assert "details" not in assert_error(response, 400, "validation_error")
        documented(document, "post", "/api/packages/{id}/verify-otp/", response)
    assert Package.objects.get(pk=package.pk).status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


def test_a_wrong_method_on_the_probes_is_a_bare_405_with_allow():
    for path in ("/healthz", "/readyz"):
        response = Client().post(path)
        assert response.status_code == 405
        assert "GET" in response["Allow"]
        assert response.content == b""


def test_a_wrong_method_under_api_is_the_json_405(api):
    response = api.request("DELETE", "/api/packages/")
    body = assert_error(response, 405, "validation_error")
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert "details" not in body
    assert json.loads(response.content)["success"] is False


def test_the_error_message_follows_accept_language(api):
    response = api.get("/api/packages/00000000-0000-0000-0000-000000000000/", HTTP_ACCEPT_LANGUAGE="tr")
    assert assert_error(response, 404, "not_found")["message"] == "Bulunamadı."


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", "/api/orders/", "POST"),
        ("delete", "/api/orders", "POST"),
        ("put", "/api/packages/", "GET"),
        ("delete", "/api/packages/00000000-0000-0000-0000-000000000000/", "GET"),
        ("get", "/api/packages/00000000-0000-0000-0000-000000000000/verify-otp/", "POST"),
    ],
)
def test_a_method_the_path_lacks_is_405_for_staff_and_the_order_system(method, path, allow, employee):
    for client in (bearer(employee), bearer(integration_user())):
        response = client.request(method, path, HTTP_ACCEPT_LANGUAGE="tr")
        body = assert_error(response, 405, "validation_error")
        assert method.upper() in body["message"] and "izin verilmiyor" in body["message"]
        assert allow in response["Allow"]


def test_the_paths_own_methods_keep_their_permissions(employee):
    staff, oms = bearer(employee), bearer(integration_user())
    assert_error(staff.post("/api/orders/", {}), 403, "permission_denied")
    assert_error(oms.get("/api/packages/"), 403, "permission_denied")
    assert_error(BearerClient().get("/api/packages/"), 401, "not_authenticated")
