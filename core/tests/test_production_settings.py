"""Production settings (SPEC 11) and structured logs (issue 7.4).

The settings module is loaded in a fresh interpreter with a production environment, so what is
checked is what ``DJANGO_SETTINGS_MODULE=config.settings.production`` really gives, including the
refusal to start without the required variables. The log tests run a whole verify flow with every
logger captured and look for the code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from core.logging import JsonFormatter, logging_config
from core.testing import PRODUCTION_ENV, wrong_code
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture

ROOT = Path(__file__).resolve().parent.parent.parent
DUMPED = [
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_FORMAT",
    "CACHES",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ACKS_LATE",
    "CELERY_TASK_REJECT_ON_WORKER_LOST",
    "CELERY_WORKER_HIJACK_ROOT_LOGGER",
    "NOTIFY_SMS_BACKEND",
]


def load_production(**overrides: str | None) -> subprocess.CompletedProcess:
    """Import config.settings.production in a new interpreter; print the settings above as JSON."""
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV and key != "LOG_FORMAT"}
    env.update(PRODUCTION_ENV)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    script = (
        "import json, importlib; s = importlib.import_module('config.settings.production'); "
        f"print(json.dumps({{k: getattr(s, k) for k in {DUMPED!r}}}, default=str)); "
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'conn_max_age': s.DATABASES['default']['CONN_MAX_AGE'], "
        "'health': s.DATABASES['default']['CONN_HEALTH_CHECKS'], 'formatter': s.LOGGING['handlers']['console']['formatter'], "
        "'binding': s.DATABASES['default']['OPTIONS'].get('server_side_binding'), "
        "'prepare': s.DATABASES['default']['OPTIONS'].get('prepare_threshold')}))"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_prepared_statements_are_on_by_default_and_can_be_turned_off():
    on = json.loads(load_production().stdout.strip().splitlines()[-1])
    off = json.loads(load_production(DB_PREPARED_STATEMENTS="false").stdout.strip().splitlines()[-1])
    assert (on["binding"], on["prepare"]) == (True, 5)
    assert (off["binding"], off["prepare"]) == (None, None)  # Django's client-side binding, nothing prepared


def test_production_defaults_are_secure():
    result = load_production()
    assert result.returncode == 0, result.stderr
    values, database = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["pickup.example.com"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["LANGUAGE_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://pickup.example.com"]
    assert values["LOG_FORMAT"] == "json" and database["formatter"] == "json"
    assert values["CACHES"]["default"]["BACKEND"] == "core.cache.RedisCache"  # Django's, one client per pool
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/0"
    assert values["CELERY_TASK_ACKS_LATE"] is True and values["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert values["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is False  # workers log JSON lines too
    assert values["NOTIFY_SMS_BACKEND"] != "file"  # customer texts never pile up on a web server's disk
    assert database == {
        "db": "django.db.backends.postgresql",
        "conn_max_age": 60,
        "health": True,
        "formatter": "json",
        "binding": True,
        "prepare": 5,
    }


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "OTP_HASH_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "REDIS_URL"]
)
def test_production_refuses_to_start_without_a_required_variable(missing):
    result = load_production(**{missing: None})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", "insecure-local-only-secret-key-change-me"),
        ("SECRET_KEY", "short"),
        ("ALLOWED_HOSTS", "*"),
        ("DATABASE_URL", "sqlite:////tmp/db.sqlite3"),
    ],
)
def test_production_refuses_unsafe_values(variable, value):
    result = load_production(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", ""),  # was a bare KeyError: 'ENGINE'
        ("REDIS_URL", ""),  # loaded: the cache failed on every throttled request, Celery used amqp://localhost
        ("REDIS_URL", "cache.internal:6379"),
    ],
)
def test_production_refuses_an_empty_or_malformed_service_url_by_name(variable, value):
    result = load_production(**{variable: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable}" in result.stderr


def test_a_redis_socket_needs_a_broker_url_celery_can_use():
    # kombu has no unix:// transport: a broker defaulting to such a REDIS_URL failed in every worker and publish.
    socket = "unix:///run/redis/redis.sock?db=0"
    refused = load_production(REDIS_URL=socket)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Celery cannot use a unix:// URL" in refused.stderr
    broker = "redis+socket:///run/redis/redis.sock?virtual_host=0"
    result = load_production(REDIS_URL=socket, CELERY_BROKER_URL=broker)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-2])["CELERY_BROKER_URL"] == broker


def test_an_empty_celery_broker_url_means_the_redis_url():
    result = load_production(CELERY_BROKER_URL="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-2])["CELERY_BROKER_URL"] == "redis://cache.internal:6379/0"


@pytest.mark.parametrize(
    "value",
    [
        "",  # an empty variable is set, so env.list() gave [] and every encryption failed at request time
        "notakey",
        "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=,not-a-fernet-key",  # the old key of a rotation mistyped
    ],
)
def test_production_refuses_field_encryption_keys_that_are_not_fernet_keys(value):
    result = load_production(FIELD_ENCRYPTION_KEYS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
    assert "notakey" not in result.stderr and "not-a-fernet-key" not in result.stderr  # never the value


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", "k7Qp2Vx9Lm4Rt8Wz1Ns6Bd3Hf5Jc0Gy-short-of-50"),  # 43: docs/operations.md asks 50+
        ("SECRET_KEY", "x" * 64),  # long but one character
        ("OTP_HASH_KEY", "k7Qp2Vx9Lm4Rt8Wz1Ns6"),  # 20: docs/operations.md asks 32+
        ("OTP_HASH_KEY", "ab" * 32),  # two characters
        ("JWT_SIGNING_KEY", "k7Qp2Vx9Lm4Rt8Wz1Ns6Bd3Hf5Jc0Gy"),  # signs tokens instead of SECRET_KEY: same rule
        ("JWT_SIGNING_KEY", "z" * 64),
    ],
)
def test_production_refuses_short_or_uniform_keys(variable, value):
    result = load_production(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
    assert value not in result.stderr


def test_keys_generated_as_the_docs_say_are_accepted():
    from cryptography.fernet import Fernet

    result = load_production(
        SECRET_KEY=secrets.token_urlsafe(50),
        OTP_HASH_KEY=secrets.token_hex(32),
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    )
    assert result.returncode == 0, result.stderr


def test_the_https_redirect_can_be_turned_off_for_a_local_run_only_explicitly():
    result = load_production(SECURE_SSL_REDIRECT="false", LOG_FORMAT="plain")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-2])
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["LOG_FORMAT"] == "plain"
    assert values["SESSION_COOKIE_SECURE"] is True  # the cookies stay secure whatever the redirect


# --- structured logs --------------------------------------------------------------------------------


def _record(message: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("orders.services", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_writes_one_object_per_line_with_known_fields_only():
    line = JsonFormatter().format(
        _record("package %s delivered", "p-1", package_id="p-1", duration_ms=12, otp="123456", body="Your code 123456")
    )
    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "package p-1 delivered"
    assert document["level"] == "WARNING" and document["logger"] == "orders.services"
    assert document["package_id"] == "p-1" and document["duration_ms"] == 12
    assert document["time"].endswith("+00:00")
    # Unknown extras (a careless otp= or body=) never reach the line.
    assert "otp" not in document and "body" not in document and "123456" not in line


def test_json_formatter_keeps_exceptions():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    document = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in document["exception"]


def test_logging_config_refuses_an_unknown_format():
    with pytest.raises(ValueError):
        logging_config(log_format="xml")
    assert logging_config(log_format="json")["handlers"]["console"]["formatter"] == "json"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(JsonFormatter().format(record))


@pytest.fixture
def every_log_line():
    """Every record of every logger, at DEBUG, formatted as production would write it."""
    root = logging.getLogger()
    handler = _Collect()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers configured with their own level (django.db.backends: WARNING) are opened up too.
    quiet = {name: logging.getLogger(name).level for name in ("django.db.backends", "axes", "notifications", "orders")}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(previous)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.django_db
def test_a_whole_verify_flow_logs_no_code(
    employee, make_package, issued_code, every_log_line, outbox_dir, settings, django_capture_on_commit_callbacks
):
    """Ready (code issued and sent), a wrong entry, the right entry: the code is in no log line.

    The SQL log is opened up as well (DEBUG): it carries only the code's keyed hash, never the code.
    """
    settings.DEBUG = True  # Django logs SQL only in debug mode
    client = bearer(employee)
    with django_capture_on_commit_callbacks(execute=True):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    wrong = wrong_code(code)
    # The customer got it: the message was really sent with the code in it.
    assert any(code in path.read_text() for path in outbox_dir.rglob("*.json"))

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong}).status_code == 400
        response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})
    assert response.status_code == 200

    assert len(every_log_line) > 20  # the flow did log (SQL, sending, requests)
    # The code as a word: not the microseconds of a timestamp or a run inside a hex id or hash.
    as_word = re.compile(rf"(?<![\w.:]){code}(?!\w)")
    leaking = [line for line in every_log_line if as_word.search(line)]
    assert leaking == []
    assert any('"logger": "django.db.backends"' in line for line in every_log_line)
