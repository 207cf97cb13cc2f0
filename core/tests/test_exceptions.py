"""The one error body of SPEC 9.4 for DRF's own refusals too: 405, 415, parse errors, unknown paths, languages."""

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext, ngettext

from core.errors import HTTP_STATUS, ApplicationError
from core.exceptions import api_exception_handler, error_body
from core.testing import wrong_code
from orders.models import PackageStatus
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(employee):
    return bearer(employee)


def test_every_application_error_code_maps_to_its_status():
    for code, status in HTTP_STATUS.items():
        response = api_exception_handler(ApplicationError(code, details={"x": 1}), {})
        assert response.status_code == status
        assert response.data["success"] is False and response.data["code"] == code
        assert response.data["details"] == {"x": 1}


def test_error_body_leaves_out_empty_details():
    assert error_body("not_found", "Not found.") == {"success": False, "message": "Not found.", "code": "not_found"}


def test_wrong_method_is_405_with_allow_and_the_error_shape(api, make_package):
    package = make_package(PackageStatus.WAITING)
    response = api.client.get(f"/api/packages/{package.pk}/verify-otp/")
    body = assert_error(response, 405, "validation_error")
    assert "GET" in body["message"]
    assert "POST" in response["Allow"]
    assert_error(api.client.delete("/api/packages/"), 405, "validation_error")


def test_body_that_is_not_json_is_a_validation_error(api, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/verify-otp/"
    body = assert_error(api.client.post(url, "{otp:", content_type="application/json"), 400, "validation_error")
    assert body["message"] == "The request body is not valid JSON."
    body = assert_error(api.client.post(url, {"otp": "123456"}), 400, "validation_error")  # multipart form
    assert body["message"] == "Send the request body as application/json."
    assert_error(api.client.post(url, "otp=123456", content_type="text/plain"), 400, "validation_error")


def test_a_json_null_body_is_refused_in_the_requests_language(api, make_package):
    """DRF's "No data provided" is not translatable: the handler says it in the request's language."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    url = f"/api/packages/{package.pk}/verify-otp/"
    for language, expected in (
        ("en", "No data was sent: the body must be a JSON object."),
        ("tr", "Veri gönderilmedi: istek gövdesi bir JSON nesnesi olmalı."),
    ):
        response = api.client.post(url, "null", content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
        body = assert_error(response, 400, "validation_error")
        assert body["details"]["fields"]["nonFieldErrors"] == [expected]


def test_unknown_api_paths_answer_the_json_404(api):
    for path in ("/api/nothing", "/api/packages/x/y/z", "/api/orders/1/verify", "/api/"):
        response = api.client.get(path)
        assert response["Content-Type"].startswith("application/json")
        assert_error(response, 404, "not_found")
    strict = Client(enforce_csrf_checks=True)  # a POST gets the JSON 404 too, not the CSRF failure page
    assert_error(strict.post("/api/nothing/", "{}", content_type="application/json"), 404, "not_found")
    assert_error(api.client.put("/api/orders/1/verify", "{}", content_type="application/json"), 404, "not_found")


def test_any_accept_header_gets_json(employee):
    client = BearerClient(Accept="text/html")
    response = client.get("/api/packages/")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_authenticated"


def turkish(message: str) -> str:
    with translation.override("tr"):
        text = gettext(message)
    assert text != message, f"no Turkish for {message!r}"
    return text


def test_messages_follow_accept_language(employee, make_package, issued_code):
    client_tr = BearerClient(**{"Accept-Language": "tr"})
    body = assert_error(client_tr.get("/api/packages/"), 401, "not_authenticated")
    assert body["message"] == turkish("Authentication credentials were not provided.")
    english = BearerClient(**{"Accept-Language": "en"})
    assert assert_error(english.get("/api/packages/"), 401, "not_authenticated")["message"] == (
        "Authentication credentials were not provided."
    )
    token = english.post("/api/auth/token/", {"username": "ayse", "password": "pass-word-123"}).json()["access"]
    client = BearerClient(token, **{"Accept-Language": "tr"})
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    body = assert_error(client.post(f"/api/packages/{package.pk}/commands/", {}), 400, "validation_error")
    assert body["details"]["fields"]["command"] == [turkish("This field is required.")]
    assert assert_error(client.get("/api/packages/nope/"), 404, "not_found")["message"] == turkish("Not found.")
    wrong = wrong_code(issued_code(package))
    body = assert_error(client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong}), 400, "otp_invalid")
    with translation.override("tr"):
        expected = ngettext(
            "The pickup code is wrong. %(count)s attempt left.", "The pickup code is wrong. %(count)s attempts left.", 4
        ) % {"count": 4}
    assert expected != "The pickup code is wrong. 4 attempts left."  # the Turkish is there
    assert body["message"] == expected
    response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)})
    assert response.json()["message"] == turkish("Package delivered.")


def test_health_probes_answer_without_authentication(db):
    client = BearerClient()
    response = client.client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    response = client.client.get("/readyz")
    assert response.status_code in (200, 503)
    assert set(response.json()["checks"]) == {"database", "cache", "broker", "beat"}
