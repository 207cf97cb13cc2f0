"""Production: everything from the environment, secure by default (SPEC 11).

Required: SECRET_KEY, OTP_HASH_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL),
REDIS_URL (cache, broker, throttles). A missing one, or a key that is short, uniform or (Fernet) malformed,
stops the process at start (ImproperlyConfigured) instead of falling back to a development default or
failing at the first request. See docs/operations.md.
"""

from django.core.exceptions import ImproperlyConfigured

from core.logging import logging_config
from notifications.crypto import fernet_from_keys

from .base import *  # noqa: F403
from .base import env, postgres_statement_options

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
OTP_HASH_KEY = env.str("OTP_HASH_KEY")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS])
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=SECRET_KEY)
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": JWT_SIGNING_KEY}  # noqa: F405 - from base


def _require_random_key(name: str, value: str, *, min_length: int) -> None:
    """The lengths of docs/operations.md, and at least 5 different characters (Django's rule for SECRET_KEY,
    which it only warns about) so that a placeholder like ``xxxx...`` is refused. The value is never echoed."""
    if len(value) < min_length or len(set(value)) < 5:
        raise ImproperlyConfigured(
            f"{name} must be at least {min_length} random characters in production (this one is too short "
            'or too uniform); generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )


if SECRET_KEY.startswith(("insecure", "django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is a development default; set a random value in production.")
_require_random_key("SECRET_KEY", SECRET_KEY, min_length=50)
_require_random_key("JWT_SIGNING_KEY", JWT_SIGNING_KEY, min_length=50)
_require_random_key("OTP_HASH_KEY", OTP_HASH_KEY, min_length=32)
# Built as notifications.crypto builds them for every message: an empty or mistyped list would otherwise load,
# pass `check --deploy`, and answer 500 to every READY_FOR_PICKUP and resend.
try:
    fernet_from_keys(FIELD_ENCRYPTION_KEYS)
except ValueError:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS must be one or more Fernet keys, comma-separated (32 url-safe base64-encoded bytes "
        'each); generate one with: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"'
    ) from None
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts this site answers for.")
# The pickup pass link carries the code (SPEC 13): https only, on the first allowed host unless set.
SITE_URL = env.str("SITE_URL", default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}").rstrip("/")
if not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("SITE_URL must be an https:// address: the pickup pass link carries the code.")

# Set but empty (``DATABASE_URL=${DATABASE_URL}`` with nothing behind it) is refused like missing: django-environ
# gave no ENGINE and the process died with a bare ``KeyError: 'ENGINE'``.
if not env.str("DATABASE_URL").strip():
    raise ImproperlyConfigured("DATABASE_URL is empty; set it to postgres://user:password@host:5432/name.")
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"].get("ENGINE") != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL (DATABASE_URL=postgres://...).")
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection broken by a database restart is noticed and replaced at the next request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
DATABASES["default"]["OPTIONS"].update(postgres_statement_options())

REDIS_URL = env.str("REDIS_URL")
# An empty or scheme-less value loaded, then every throttled API request failed on the cache and Celery quietly
# fell back to its default broker, amqp://guest@localhost.
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL, e.g. redis://host:6379/0.")
CACHES = {
    "default": {
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cc",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL  # empty means unset, not amqp://localhost
if CELERY_BROKER_URL.startswith("unix://"):
    # The cache takes a unix:// socket, Celery does not ("No such transport: unix"): every worker and every publish
    # would fail while the web processes started as if all were well.
    raise ImproperlyConfigured(
        "Celery cannot use a unix:// URL: with REDIS_URL on a socket, set CELERY_BROKER_URL as well, "
        "e.g. redis+socket:///run/redis/redis.sock?virtual_host=0."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 2,
    **PUBLISH_FAIL_FAST_OPTIONS,  # noqa: F405 - from base
}
CELERY_TASK_ALWAYS_EAGER = False

# HTTPS: behind a proxy that terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]  # probes speak plain HTTP inside the network
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Customer messages go to real channels: SMS and push to an HTTP provider (NOTIFY_SMS_URL, NOTIFY_PUSH_URL),
# e-mail over SMTP. notifications.checks stops `migrate` (the release step) and `check` when a URL is missing
# or a channel is `console` or `file` (codes printed or written to disk, never delivered) without
# NOTIFY_ALLOW_CONSOLE=true.
NOTIFY_SMS_BACKEND = env.str("NOTIFY_SMS_BACKEND", default="http")
NOTIFY_EMAIL_BACKEND = env.str("NOTIFY_EMAIL_BACKEND", default="smtp")
NOTIFY_PUSH_BACKEND = env.str("NOTIFY_PUSH_BACKEND", default="http")

# One JSON object per log line by default (core/logging.py); LOG_FORMAT=plain for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
# Celery workers and beat log through the same configuration instead of replacing the root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
