"""Request-rate throttles (SPEC 9.4, ``core.throttling``): 429 with Retry-After, the address behind trusted proxies,
the login lockout's address, a cache outage, and one count across processes (Redis)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from core import throttling
from core.testing import requires_redis
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


ROOT = Path(__file__).resolve().parents[2]


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


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


def with_proxies(settings, count: int) -> None:
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": count}


def test_a_forged_x_forwarded_for_does_not_escape_the_anonymous_rate(settings, employee):
    """Without trusted proxies (NUM_PROXIES=0, the default) the address is REMOTE_ADDR: a client that sends another
    X-Forwarded-For with every token request is still one client."""
    with_rates(settings, anon="2/min")
    client = BearerClient()
    for index in range(2):
        forged = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{index}"}
        assert client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}, **forged).status_code == 401
    forged = {"HTTP_X_FORWARDED_FOR": "198.51.100.99"}
    assert_error(client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}, **forged), 429, "throttled")


def test_behind_trusted_proxies_the_address_they_appended_counts(settings, employee):
    """With NUM_PROXIES=1 the last X-Forwarded-For entry (written by the proxy) is the client; what the client put
    before it changes nothing, and another client behind the same proxy has its own count."""
    with_rates(settings, anon="2/min")
    with_proxies(settings, 1)
    client = BearerClient()
    for index in range(2):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{index}, 203.0.113.7"}
        assert client.post("/api/auth/token/", {"username": "ayse", "password": "x"}, **forwarded).status_code == 401
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.99, 203.0.113.7"}
    assert_error(client.post("/api/auth/token/", {"username": "ayse", "password": "x"}, **forwarded), 429, "throttled")
    other = {"HTTP_X_FORWARDED_FOR": "203.0.113.8"}
    assert client.post("/api/auth/token/", {"username": "ayse", "password": "x"}, **other).status_code == 401


@pytest.mark.parametrize(("proxies", "recorded"), [(0, "127.0.0.1"), (1, "203.0.113.7"), (2, "198.51.100.1")])
def test_the_login_lockout_records_the_address_the_throttles_count(settings, employee, proxies, recorded):
    """django-axes takes the client address the way DRF does (AXES_CLIENT_IP_CALLABLE), so its records name the
    same client as the throttles: REMOTE_ADDR, or the address the trusted proxies appended."""
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True
    with_proxies(settings, proxies)
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"}
    response = BearerClient().post("/api/auth/token/", {"username": "ayse", "password": "wrong"}, **forwarded)
    assert response.status_code == 401
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [recorded]


def test_a_forwarded_entry_that_is_not_an_address_is_not_recorded_as_one(settings, employee):
    """NUM_PROXIES larger than the real chain lets a client's own text through: axes keeps REMOTE_ADDR instead."""
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True
    with_proxies(settings, 2)
    forwarded = {"HTTP_X_FORWARDED_FOR": "not-an-address, 203.0.113.7"}
    BearerClient().post("/api/auth/token/", {"username": "ayse", "password": "wrong"}, **forwarded)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]


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
