"""Abuse limits through the API (SPEC 4 and 9.4): the failed-verification window and request-rate throttles."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from core import throttling
from core.testing import requires_redis, wrong_code
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401

S = PackageStatus
pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_more_than_20_failed_verifications_in_10_minutes_are_throttled(employee, make_package, issued_code):
    client = bearer(employee)
    packages = [make_package(S.READY_FOR_CUSTOMER_PICKUP) for _ in range(5)]
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
    assert fresh.status == S.READY_FOR_CUSTOMER_PICKUP  # even the right code waits for the window
    order_level = client.post(f"/api/orders/{fresh.order_id}/verify-otp", {"otp": issued_code(fresh)})
    assert_error(order_level, 429, "throttled")


def test_the_failure_window_is_per_user(employee, make_package, issued_code, store):
    from orders.tests.factories import employee_of

    client = bearer(employee)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    for _ in range(20):
        client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong_code(issued_code(package))})
    colleague = bearer(employee_of(store, "can"))
    other = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    assert colleague.post(f"/api/packages/{other.pk}/verify-otp/", {"otp": issued_code(other)}).status_code == 200


def test_request_rate_throttle_answers_429_with_retry_after(settings, employee):
    with_rates(settings, user="3/min")
    client = bearer(employee)
    for _ in range(3):
        assert client.get("/api/packages/").status_code == 200
    response = client.get("/api/packages/")
    body = assert_error(response, 429, "throttled")
    assert 1 <= body["details"]["retryAfter"] <= 60
    assert response["Retry-After"] == str(body["details"]["retryAfter"])


def test_anonymous_rate_throttle_on_the_token_endpoint(settings, employee):
    with_rates(settings, anon="2/min")
    client = BearerClient()
    for _ in range(2):
        assert client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}).status_code == 401
    assert_error(client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}), 429, "throttled")


def test_retry_after_is_the_real_wait_when_more_is_counted_than_a_lowered_rate_allows(settings, employee):
    """Six requests counted under 10/min, then the rate lowered to 2/min: the client must wait until four of them
    have left the minute, about 60 s, not the 1 s DRF's own estimate falls back to."""
    with_rates(settings, anon="10/min")
    client = BearerClient()
    for _ in range(6):
        assert client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}).status_code == 401
    with_rates(settings, anon="2/min")
    response = client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"})
    body = assert_error(response, 429, "throttled")
    assert 55 <= body["details"]["retryAfter"] <= 60
    assert response["Retry-After"] == str(body["details"]["retryAfter"])


class _BrokenCache:
    def get(self, *args, **kwargs):
        raise ConnectionError("cache down")

    def set(self, *args, **kwargs):
        raise ConnectionError("cache down")


def test_throttles_degrade_open_when_the_cache_is_down(settings, employee, monkeypatch):
    with_rates(settings, user="1/min")
    client = bearer(employee)
    monkeypatch.setattr(throttling.UserRateThrottle, "cache", _BrokenCache())
    for _ in range(3):
        assert client.get("/api/packages/").status_code == 200


SUBPROCESS_SCRIPT = """
import json, sys
import django
django.setup()
from types import SimpleNamespace
from core.throttling import UserRateThrottle

user = SimpleNamespace(pk=int(sys.argv[1]), is_authenticated=True)
request = SimpleNamespace(user=user, META={"REMOTE_ADDR": "127.0.0.1"})
results = [UserRateThrottle().allow_request(request, view=None) for _ in range(int(sys.argv[2]))]
print(json.dumps(results))
"""


@requires_redis
def test_request_rate_holds_across_processes(settings, employee):
    """Requests counted by this process and by another process share one limit (Redis)."""
    with_rates(settings, user="5/min")
    client = bearer(employee)
    for _ in range(3):
        assert client.get("/api/packages/").status_code == 200
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "API_USER_RATE": "5/min",
    }
    # The other process is a separate interpreter with its own memory: only Redis is shared.
    result = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_SCRIPT, str(employee.pk), "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, False]
    assert_error(client.get("/api/packages/"), 429, "throttled")
