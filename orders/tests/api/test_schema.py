"""The OpenAPI document (SPEC 9.2), its browsable page, and a schema-driven run that must find no 500.

The schemathesis run generates requests from ``/api/schema/`` for every operation, valid and invalid
(negative mode), sends them in-process to the WSGI application with real Bearer tokens, and checks
each answer against the schema: status documented, body matching, never a server error.
"""

import re
from contextlib import contextmanager

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.models import PackageStatus, StaffMembership, StaffRole
from orders.tests.apiclient import PACKAGE_KEYS, BearerClient, _fresh_throttles, obtain_tokens  # noqa: F401 - autouse fixture
from orders.tests.factories import integration_user

pytestmark = pytest.mark.django_db


SPEC_OPERATIONS = {
    ("post", "/api/auth/token/"),
    ("post", "/api/auth/token/refresh/"),
    ("get", "/api/packages/"),
    ("get", "/api/packages/{id}/"),
    ("post", "/api/packages/{id}/commands/"),
    ("post", "/api/packages/{id}/verify-otp/"),
    ("post", "/api/packages/{id}/resend-otp/"),
    ("post", "/api/orders/{id}/verify-otp/"),
    ("get", "/api/orders/{id}/"),
    ("post", "/api/orders/"),
}


def schema_document() -> dict:
    response = BearerClient(Accept="application/json").get("/api/schema/")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3_and_documents_every_endpoint():
    document = schema_document()
    assert document["openapi"].startswith("3.")
    validate_schema(document)  # drf-spectacular's OpenAPI 3 JSON-schema validation
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations == SPEC_OPERATIONS
    for method, path in SPEC_OPERATIONS:
        operation = document["paths"][path][method]
        assert operation.get("summary"), (method, path)
        responses = operation["responses"]
        assert any(status.startswith("2") for status in responses), (method, path)
        assert "429" in responses, (method, path)
        if path not in ("/api/auth/token/", "/api/auth/token/refresh/"):
            assert "401" in responses and operation["security"] == [{"jwtAuth": []}, {"apiKeyAuth": []}], (method, path)


def test_schema_documents_bodies_and_error_codes():
    document = schema_document()
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["required"]) == {"success", "message", "code"}
    code_enum = schemas[schemas["Error"]["properties"]["code"]["$ref"].split("/")[-1]]["enum"]
    assert set(code_enum) == {
        "validation_error",
        "otp_invalid",
        "otp_expired",
        "otp_locked",
        "otp_not_issued",
        "not_authenticated",
        "permission_denied",
        "not_found",
        "invalid_state",
        "conflict",
        "customer_restricted",
        "throttled",
        "service_unavailable",  # the database outage answer (core.middleware), beyond SPEC 9.4
        "idempotency_key_reused",  # SPEC 14
        "idempotency_key_in_use",
    }
    package = schemas["PackageOutput"]["properties"]
    assert set(package) == PACKAGE_KEYS
    assert set(schemas["OtpState"]["properties"]) == {"required", "expiresAt", "attemptsRemaining", "locked"}
    intake = schemas["OrderIntakeInputRequest"]["properties"]
    assert set(intake) == {"orderNumber", "customer", "pickupPerson", "store", "deliveryType", "packages"}
    assert set(schemas["PickupPersonRequest"]["properties"]) == {"name", "phone"}
    verify = schemas["VerifyWithCodeRequest"]["properties"]  # VerifyOtpInputRequest is oneOf this or manual
    assert set(verify) == {"otp", "manualConfirm", "collectedBy"}
    # SPEC 4: six ASCII digits, said in the schema so that a POS can check before it sends.
    assert verify["otp"]["pattern"] == "^[0-9]{6}$" and verify["otp"]["type"] == "string"
    create = document["paths"]["/api/orders/"]["post"]["responses"]
    assert {"200", "201", "400", "403", "409", "422"} <= set(create)


def test_schema_answers_yaml_too_and_both_paths():
    client = BearerClient()
    assert client.get("/api/schema").status_code == 200
    assert b"openapi: 3" in client.get("/api/schema/").content


def test_docs_page_uses_vendored_assets_only():
    client = BearerClient()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), "the page must not load anything from another host"
    for needle in ("cdn", "jsdelivr", "unpkg", "cloudflare"):
        assert needle not in html.lower()
    assets = re.findall(r"[\"'](/static/drf_spectacular_sidecar/[^\"']+)[\"']", html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in set(assets):
        served = client.client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])


# --- schemathesis ------------------------------------------------------------------------------------


@contextmanager
def wsgi_application():
    """Django's WSGI application sharing the test's database connection, as the test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_schemathesis_finds_no_server_error_and_no_response_breaking_the_schema(settings, manager, make_package, store):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "anon": "100000/min"},
    }
    StaffMembership.objects.filter(user=manager).update(role=StaffRole.MANAGER)
    packages = [make_package(status) for status in PackageStatus]
    real_package_ids = [str(p.pk) for p in packages]
    real_order_ids = [str(p.order_id) for p in packages]
    staff_token = obtain_tokens(manager.username)["access"]
    oms_token = obtain_tokens(integration_user().username)["access"]

    with wsgi_application() as app:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {(op.method.lower(), op.path) for op in operations} == SPEC_OPERATIONS
        for operation in operations:
            token = oms_token if (operation.method.lower(), operation.path) == ("post", "/api/orders/") else staff_token
            ids = real_order_ids if operation.path.startswith("/api/orders/{id}") else real_package_ids
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _exercise(operation, mode, app, token, ids)


def _exercise(operation, mode, app, token, real_ids):
    headers = {"Authorization": f"Bearer {token}"}

    @seed(4)
    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode, headers=headers),
        real_id=st.sampled_from([None, *real_ids]),
    )
    def run(case, real_id):
        if mode == GenerationMode.POSITIVE and real_id is not None and "id" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "id": real_id}  # reach real objects too
        response = case.call(app=app)
        case.validate_response(response, checks=CHECKS)

    run()
