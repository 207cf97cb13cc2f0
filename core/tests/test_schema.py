"""The OpenAPI document says what the server answers (SPEC 9.4, docs/api.md *Errors*): a POS integrator generates
its client from it, so an error's ``details`` keys, the 429's ``retryAfter`` and ``Retry-After``, the 503 and the
verify answers' ``data`` shapes are checked here against the document, and real answers against their schemas."""

from __future__ import annotations

import jsonschema
import pytest
from django.conf import settings as django_settings
from django.test import Client

from orders.tests.apiclient import _fresh_throttles, assert_error  # noqa: F401
from otp.services import THROTTLE_REASONS

pytestmark = pytest.mark.django_db


def schema_document() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def response_schema(document: dict, response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def validate(document: dict, schema: dict, instance) -> None:
    """``instance`` against ``schema`` with the document's components for its ``$ref``s."""
    jsonschema.validate(instance, {**schema, "components": document["components"]})


def component(document: dict, schema: dict) -> dict:
    return document["components"]["schemas"][schema["$ref"].split("/")[-1]]


def test_every_operation_documents_429_with_retry_after_in_the_body_and_the_header():
    document = schema_document()
    for method, path, operation in operations(document):
        answer = operation["responses"]["429"]
        throttled = component(document, response_schema(document, answer))
        assert throttled["properties"]["code"]["enum"] == ["throttled"], (method, path)
        assert "details" in throttled["required"], (method, path)
        details = throttled["properties"]["details"]
        assert details["required"] == ["retryAfter"], (method, path)
        assert details["properties"]["retryAfter"]["type"] == "integer"
        assert answer["headers"]["Retry-After"]["required"] is True, (method, path)
        assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_every_operation_documents_the_503_of_a_database_outage():
    document = schema_document()
    for method, path, operation in operations(document):
        answer = operation["responses"]["503"]
        unavailable = component(document, response_schema(document, answer))
        assert unavailable["properties"]["code"]["enum"] == ["service_unavailable"], (method, path)
        assert unavailable["properties"]["details"]["required"] == ["retryAfter"]
        assert "Retry-After" in answer["headers"], (method, path)


def test_error_details_name_every_key_the_server_sends():
    document = schema_document()
    schemas = document["components"]["schemas"]
    details = component(document, schemas["Error"]["properties"]["details"])
    properties = details["properties"]
    assert set(properties) == {
        "fields",
        "attemptsRemaining",
        "replacedCode",
        "retryAfter",
        "reason",
        "status",
        "command",
        "orderNumber",
        "restrictedUntil",
    }
    assert properties["attemptsRemaining"]["type"] == "integer"
    assert properties["replacedCode"]["type"] == "boolean"
    assert properties["retryAfter"]["type"] == "integer"
    assert properties["restrictedUntil"]["format"] == "date-time"
    assert properties["fields"]["type"] == "object"

    def enum_of(prop):
        return set(component(document, prop["allOf"][0])["enum"])

    assert enum_of(properties["reason"]) == set(THROTTLE_REASONS)
    assert "ready_for_customer_pickup" in enum_of(properties["status"])
    assert "CANCEL_PACKAGE" in enum_of(properties["command"])


def test_verify_answers_document_their_data_shapes():
    document = schema_document()
    paths = document["paths"]

    def data_of(path):
        envelope = component(document, response_schema(document, paths[path]["post"]["responses"]["200"]))
        assert set(envelope["required"]) == {"success", "message", "data"}
        return component(document, envelope["properties"]["data"])

    package_verify = data_of("/api/packages/{id}/verify-otp/")
    assert set(package_verify["required"]) == {"package", "order"}
    assert package_verify["properties"]["package"]["$ref"].endswith("/PackageOutput")
    assert package_verify["properties"]["order"]["$ref"].endswith("/OrderOutput")
    order_verify = data_of("/api/orders/{id}/verify-otp/")
    assert order_verify["required"] == ["order"]
    assert order_verify["properties"]["order"]["$ref"].endswith("/OrderOutput")
    order = document["components"]["schemas"]["OrderOutput"]
    assert {"id", "orderNumber", "orderStatus", "packages"} <= set(order["required"])  # SPEC 9.2
    # SPEC 14: CampusBite's web client reads `status`, the same value as `orderStatus` (one enum for both).
    assert "status" in order["required"]
    assert order["properties"]["status"]["allOf"][0]["$ref"] == order["properties"]["orderStatus"]["$ref"]
    assert order["properties"]["orderStatus"]["$ref"].endswith("/OrderStatusEnum")
    assert document["components"]["schemas"]["OrderStatusEnum"]["enum"] == [
        "processing",
        "ready",
        "picked_up",
        "cancelled",
    ]


def test_the_token_refresh_body_is_described_for_integrators_not_by_the_code_comment():
    document = schema_document()
    refresh = document["components"]["schemas"]["StaffTokenRefreshRequest"]
    assert "simplejwt" not in refresh.get("description", "")
    for path in ("/api/auth/token/", "/api/auth/token/refresh/"):
        assert "simplejwt" not in document["paths"][path]["post"].get("description", "")
        assert "Takes a" not in document["paths"][path]["post"].get("description", "")


def test_a_real_429_of_the_request_rate_matches_its_documented_schema_and_header(settings):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"},
    }
    document = schema_document()  # the first of the two
    client = Client()
    client.post("/api/auth/token/", {}, content_type="application/json")
    response = client.post("/api/auth/token/", {}, content_type="application/json")
    body = assert_error(response, 429, "throttled")
    answer = document["paths"]["/api/auth/token/"]["post"]["responses"]["429"]
    validate(document, response_schema(document, answer), body)
    assert response["Retry-After"] == str(body["details"]["retryAfter"])
    assert "reason" not in body["details"]  # the request rate is no pickup-code limit


def test_a_real_sign_in_lockout_matches_the_documented_429(settings):
    settings.AXES_ENABLED = True  # off in the test settings
    settings.AXES_FAILURE_LIMIT = 2
    from orders.tests.factories import UserFactory

    UserFactory(username="locked")
    document = schema_document()
    client = Client()
    for _ in range(3):
        response = client.post(
            "/api/auth/token/", {"username": "locked", "password": "wrong"}, content_type="application/json"
        )
    body = assert_error(response, 429, "throttled")
    answer = document["paths"]["/api/auth/token/"]["post"]["responses"]["429"]
    validate(document, response_schema(document, answer), body)
    assert response["Retry-After"] == str(body["details"]["retryAfter"])


def test_a_real_validation_error_matches_the_error_schema():
    document = schema_document()
    response = Client().post("/api/auth/token/", {}, content_type="application/json")
    body = assert_error(response, 400, "validation_error")
    answer = document["paths"]["/api/auth/token/"]["post"]["responses"]["400"]
    validate(document, response_schema(document, answer), body)
    assert set(body["details"]["fields"]) == {"username", "password"}


def test_delivery_type_is_an_enum_in_answers_as_in_the_intake_body():
    """A client generated from the document got a free string for ``deliveryType`` in the answers, though the
    intake body takes one of DeliveryType's values: both are the same enum."""
    document = schema_document()
    schemas = document["components"]["schemas"]
    for name in ("PackageOutput", "OrderOutput", "OrderIntakeInputRequest"):
        field = schemas[name]["properties"]["deliveryType"]
        field = field.get("allOf", [field])[0]  # the input's has a default beside it
        assert "$ref" in field, (name, field)
        assert component(document, field)["enum"] == ["in_store"]
