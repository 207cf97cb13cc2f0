"""The headers every answer carries (SPEC 14): X-Request-Id (the client's valid one, else new; on the request's log
lines and gunicorn's access line), RateLimit-Limit/Remaining/Reset on every API answer, Location on a 201."""

import io
import json
import logging
import re
import runpy
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.test import Client

from core.logging import JsonFormatter, RequestIdFilter
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import integration_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

INTAKE = {
    "orderNumber": "HDR-1",
    "customer": {"name": "Ali Veli", "phone": "+905321112233", "email": "ali@example.com", "language": "tr"},
    "store": "IST01",
    "packages": [{"items": [{"sku": "A1", "name": "Kettle", "quantity": 1}]}],
}


@pytest.mark.parametrize("path", ["/api/packages/", "/api/nowhere/", "/api/schema/", "/healthz", "/login/"])
def test_every_answer_carries_a_request_id_and_keeps_a_valid_one_of_the_client(path):
    client = Client()
    fresh = client.get(path)
    assert UUID.fullmatch(fresh["X-Request-Id"]), fresh["X-Request-Id"]
    assert client.get(path)["X-Request-Id"] != fresh["X-Request-Id"]
    assert client.get(path, headers={"X-Request-Id": "pos-17.till-3:000042"})["X-Request-Id"] == "pos-17.till-3:000042"
    for invalid in ("", "a" * 129, "has space", "new\\nline", "ünïcode"):
        assert UUID.fullmatch(client.get(path, headers={"X-Request-Id": invalid})["X-Request-Id"]), invalid


def test_the_request_id_is_on_the_lines_the_request_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        Client().get("/api/packages/", headers={"X-Request-Id": "support-case-0001"})  # 401: one warning line
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all(line["request_id"] == "support-case-0001" for line in lines), lines
    plain = logging.Formatter(django_settings.LOGGING["formatters"]["plain"]["format"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "outside a request", None, None)
    RequestIdFilter().filter(record)
    assert "[-] outside a request" in plain.format(record)


def test_gunicorns_access_line_ends_with_the_request_id():
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    gunicorn_logger = Logger(config)
    response = SimpleNamespace(
        status="200 OK", sent=12, headers=[("Content-Type", "application/json"), ("X-Request-Id", "abc-123")]
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/api/packages/",
        "PATH_INFO": "/api/packages/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "QUERY_STRING": "",
    }
    atoms = gunicorn_logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    line = conf["access_log_format"] % atoms
    assert line.endswith(" abc-123"), line


def test_rate_limit_headers_count_down_on_every_api_answer(settings, employee, make_package):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "5/min", "anon": "3/min"},
    }
    package = make_package(PackageStatus.WAITING)
    client = bearer(employee)  # the token endpoint counted one anonymous request
    seen = []
    for _ in range(5):
        response = client.get(f"/api/packages/{package.pk}/")
        seen.append((response.status_code, response["RateLimit-Limit"], response["RateLimit-Remaining"]))
        assert 0 < int(response["RateLimit-Reset"]) <= 60
    assert seen == [(200, "5", str(left)) for left in (4, 3, 2, 1, 0)]
    throttled = client.get(f"/api/packages/{package.pk}/")
    assert_error(throttled, 429, "throttled")
    assert throttled["RateLimit-Remaining"] == "0"
    assert 1 <= int(throttled["RateLimit-Reset"]) <= int(throttled["Retry-After"]) + 1
    # Answers given before the throttles run say where the address stands under the anonymous rate.
    for response in (Client().get("/api/packages/"), Client().post("/api/nowhere/")):
        assert response.status_code in (401, 404)
        assert response["RateLimit-Limit"] == "3" and response["RateLimit-Remaining"] == "2", response.status_code


def test_a_201_carries_the_location_of_what_it_made(store):
    oms = bearer(integration_user())
    created = oms.post("/api/orders/", INTAKE)
    assert created.status_code == 201
    order_id = created.json()["id"]
    assert created["Location"] == f"http://testserver/api/orders/{order_id}/"
    assert oms.get(created["Location"].removeprefix("http://testserver")).json()["id"] == order_id
    assert "Location" not in oms.post("/api/orders/", INTAKE)  # 200: the same order again, nothing made
    assert uuid.UUID(order_id)
