"""The sign-in lockout (core.lockout) on all three doors, the staff sign-in page, ``POST /api/auth/token/`` and admin's
sign-in: wrong passwords lock an account only from the address they came from, and one address trying many
usernames is stopped at its own limit. The clients are told apart by REMOTE_ADDR (127.0.0.0/8)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from core.throttling import client_ip_address
from orders.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

VICTIM, ATTACKER, ELSEWHERE, PROXY = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"
ACCOUNT_LIMIT, ADDRESS_LIMIT = 3, 7
DOORS = ["staff", "api", "admin"]
SIGNED_IN = {"staff": 302, "api": 200, "admin": 302}
WRONG = {"staff": 200, "api": 401, "admin": 200}
ACCOUNT_LOCKED = {
    "en": "Too many failed sign-ins for this account. Try again in 15 minutes.",
    "tr": "Bu hesap için çok fazla başarısız giriş denemesi yapıldı. 15 dakika sonra yeniden deneyin.",
}
ADDRESS_LOCKED = {
    "en": "Too many failed sign-ins from this network address. Try again in 15 minutes.",
    "tr": "Bu ağ adresinden çok fazla başarısız giriş denemesi yapıldı. 15 dakika sonra yeniden deneyin.",
}


@pytest.fixture(autouse=True)
def lockout(settings):
    settings.AXES_ENABLED = True  # off in the test settings
    settings.AXES_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.AXES_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.AXES_COOLOFF_TIME = 0.25
    # The API's own per-address request rate stays out of the way: what is tested here is the lockout.
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "1000/min"},
    }


@pytest.fixture
def admin_user(db):
    """The account an attacker wants most: the superuser, which signs in on every door."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


def sign_in(door: str, username: str, password: str, address: str, language: str = "en", **environ):
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language, **environ)
    credentials = {"username": username, "password": password}
    if door == "api":
        return client.post("/api/auth/token/", json.dumps(credentials), content_type="application/json")
    if door == "admin":
        return client.post(reverse("admin:login"), {**credentials, "next": reverse("admin:index")})
    return client.post(reverse("login"), credentials)


def message_of(door: str, response) -> str:
    if door == "api":
        return response.json()["message"]
    return response.content.decode()


@pytest.mark.parametrize("door", DOORS)
def test_wrong_passwords_from_elsewhere_do_not_lock_the_account(door, admin_user):
    """The attacker locks only himself: the owner, at their own address, signs in."""
    answers = [sign_in(door, "admin", "wrong-password", ATTACKER).status_code for _ in range(ACCOUNT_LIMIT + 3)]
    assert answers == [WRONG[door]] * (ACCOUNT_LIMIT - 1) + [429] * 4
    assert sign_in(door, "admin", PASSWORD, ATTACKER).status_code == 429  # locked there, even the right password
    assert sign_in(door, "admin", PASSWORD, VICTIM).status_code == SIGNED_IN[door]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_wrong_passwords_lock_the_account_at_their_address(door, language, admin_user):
    for _ in range(ACCOUNT_LIMIT):
        sign_in(door, "admin", "wrong-password", VICTIM)
    response = sign_in(door, "admin", PASSWORD, VICTIM, language=language)
    assert response.status_code == 429
    assert ACCOUNT_LOCKED[language] in message_of(door, response)
    if door == "api":
        assert response.json()["code"] == "throttled" and response["Retry-After"] == "900"
    # Another account from the same address is not locked (the address is below its own limit).
    other = UserFactory(username="mert", is_staff=True)
    assert sign_in(door, other.username, PASSWORD, VICTIM).status_code == SIGNED_IN[door]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_one_address_trying_many_usernames_is_stopped(door, language, admin_user):
    """Password spraying: never more than ACCOUNT_LIMIT - 1 tries on one username, so the account limit never
    trips; the address's own limit does, for every account, the one with the right password included."""
    answers = []
    for index in range(ADDRESS_LIMIT):
        username = f"user{index // (ACCOUNT_LIMIT - 1)}"
        answers.append(sign_in(door, username, "wrong-password", ATTACKER).status_code)
    assert answers == [WRONG[door]] * (ADDRESS_LIMIT - 1) + [429]
    response = sign_in(door, "admin", PASSWORD, ATTACKER, language=language)
    assert response.status_code == 429
    assert ADDRESS_LOCKED[language] in message_of(door, response)
    # The account itself is not locked: its owner signs in from another address.
    assert sign_in(door, "admin", PASSWORD, VICTIM).status_code == SIGNED_IN[door]


@pytest.mark.parametrize("door", ["staff", "api"])
def test_a_rotated_x_forwarded_for_is_still_the_same_address(door, admin_user, settings):
    """No trusted proxy (NUM_PROXIES=0): the header is the client's own text and is not read."""
    for index in range(ADDRESS_LIMIT):
        forged = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{index}"}
        sign_in(door, f"user{index}", "wrong-password", ATTACKER, **forged)
    forged = {"HTTP_X_FORWARDED_FOR": "198.51.100.200"}
    assert sign_in(door, "admin", PASSWORD, ATTACKER, **forged).status_code == 429


@pytest.mark.parametrize("door", ["staff", "api"])
def test_behind_a_trusted_proxy_only_the_address_it_appended_counts(door, admin_user, settings):
    """NUM_PROXIES=1: every request comes from the proxy (REMOTE_ADDR); the client is the last X-Forwarded-For
    entry, which the proxy wrote. What the client put before it is rotated freely and changes nothing, and another
    client behind the same proxy is not locked."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for index in range(ADDRESS_LIMIT):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{index}, {ATTACKER}"}
        sign_in(door, f"user{index}", "wrong-password", PROXY, **forwarded)
    forwarded = {"HTTP_X_FORWARDED_FOR": f"198.51.100.200, {ATTACKER}"}
    assert sign_in(door, "admin", PASSWORD, PROXY, **forwarded).status_code == 429
    assert sign_in(door, "admin", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=VICTIM).status_code == SIGNED_IN[door]


def test_an_ipv6_client_is_its_64(admin_user):
    """One subscriber holds a whole /64: rotating the addresses within it is one address to the lockout."""
    for index in range(ADDRESS_LIMIT):
        sign_in("staff", f"user{index}", "wrong-password", f"2001:db8:1:2::{index + 1:x}")
    assert sign_in("staff", "admin", PASSWORD, "2001:db8:1:2:ffff::1").status_code == 429
    assert sign_in("staff", "admin", PASSWORD, "2001:db8:1:3::1").status_code == 302


@pytest.mark.parametrize(
    ("remote", "counted"),
    [
        ("127.0.0.2", "127.0.0.2"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
    ],
)
def test_the_address_the_lockout_counts(rf, remote, counted):
    assert client_ip_address(rf.get("/", REMOTE_ADDR=remote)) == counted


@pytest.mark.parametrize(
    ("environ", "loads"),
    [
        ({}, True),
        ({"AXES_FAILURE_LIMIT": "10", "AXES_ADDRESS_FAILURE_LIMIT": "100"}, True),
        ({"AXES_FAILURE_LIMIT": "10", "AXES_ADDRESS_FAILURE_LIMIT": "9"}, False),
        ({"AXES_FAILURE_LIMIT": "0"}, False),
    ],
)
def test_the_limits_are_read_from_the_environment_and_checked(environ, loads):
    """A per-address limit below the per-account one would lock an address before its account's own limit, and say
    the wrong reason; the settings refuse to load, naming both variables."""
    script = "import config.settings.base as s; print(s.AXES_FAILURE_LIMIT, s.AXES_ADDRESS_FAILURE_LIMIT)"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AXES_")} | environ
    root = Path(__file__).resolve().parent.parent.parent
    result = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
    if loads:
        limits = environ.get("AXES_FAILURE_LIMIT", "5"), environ.get("AXES_ADDRESS_FAILURE_LIMIT", "50")
        assert result.stdout.split() == list(limits), result.stderr
    else:
        assert "ImproperlyConfigured" in result.stderr and "AXES_ADDRESS_FAILURE_LIMIT" in result.stderr
