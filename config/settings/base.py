"""Settings shared by every environment, read from the environment with django-environ.

Nothing here needs a server: with no environment set the product runs on SQLite, a
file cache and kombu's filesystem broker under ``var/``. Production sets DATABASE_URL,
REDIS_URL and the keys (see config/settings/production.py and README).
"""

import base64
import hashlib
import zoneinfo
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(str(env_file))
# After .env, so that a VAR_DIR written there holds here too (as it does in the processes honcho starts).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-only-secret-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _derived_key(purpose: str) -> bytes:
    """A key derived from SECRET_KEY, for local runs only; production sets its own."""
    return hashlib.sha256(f"{purpose}:{SECRET_KEY}".encode()).digest()


# Key of the HMAC that pickup codes are stored under (SPEC 4). Rotating it invalidates live codes.
OTP_HASH_KEY = env.str("OTP_HASH_KEY", default=_derived_key("otp-hash").hex())
# Fernet key(s) for secrets waiting in the outbox (codes in unsent messages and webhook payloads).
# Comma-separated: the first encrypts, all decrypt, so a key can be rotated without losing messages.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    default=[base64.urlsafe_b64encode(_derived_key("field-encryption")).decode()],
)

# The site's address as customers reach it: the pickup pass link in messages is <SITE_URL>/p/<token> (SPEC 13).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",  # its messages in Turkish (token refused, user not found)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_htmx",
    "core",
    "orders",
    "otp",
    "notifications",
]

MIDDLEWARE = [
    # Outermost: every answer, the probes' and the 503s included, carries X-Request-Id, on every log line too.
    "core.middleware.RequestIdMiddleware",
    # First, so that every answer carries the policy: pages, API JSON, errors, the probes, axes' lockout page.
    "csp.middleware.CSPMiddleware",
    # /healthz and /readyz answer whatever the Host header (a probe uses the process's own address).
    "core.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # RateLimit-* on every API answer (SPEC 14), the 503's included.
    "core.middleware.RateLimitHeadersMiddleware",
    # A database error in the view answers 503 "try again" instead of the HTML 500 (with handler500).
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: the staff pages answer htmx's requests with the partial of the same template.
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.AdminTimeZoneMiddleware",
    # An admin action's selection that holds a value no key can be (x, NUL, 2**64) answered 500: such values dropped.
    "core.middleware.AdminSelectedActionsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every answer (django-csp): scripts and styles only from files this site serves, no
# inline script or style, no eval, nothing from another origin (the staff pages, admin and the API docs load only
# vendored files). data: images are Swagger UI's icons, drawn as data: URLs in its stylesheet. Not framed anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.context_processors.staff_page",
            ],
        },
    }
]


def postgres_statement_options() -> dict:
    """psycopg 3 options: server-side parameter binding with prepared statements, so PostgreSQL parses and plans
    a statement a connection repeats once instead of on every execution (measured: the database's CPU per
    verification halves, docs/performance.md). ``DB_PREPARED_STATEMENTS=false`` turns it off, e.g. behind
    PgBouncer in transaction mode without ``max_prepared_statements`` (docs/operations.md)."""
    if not env.bool("DB_PREPARED_STATEMENTS", default=True):
        return {}
    return {"server_side_binding": True, "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=5)}


# Empty counts as unset (it gave a config without ENGINE: a bare KeyError below); production refuses it by name.
DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(postgres_statement_options())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cc",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Shared by every local process (throttles must hold across them), no server needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff:package-list"
LOGOUT_REDIRECT_URL = "login"
# The "Page expired" page, or JSON for the staff pages' script (which shows it in the open dialog).
CSRF_FAILURE_VIEW = "orders.views.csrf_failure"

# Sign-in lockout (SPEC 10), on the staff sign-in page, POST /api/auth/token/ and admin's sign-in (core.lockout):
# AXES_FAILURE_LIMIT wrong passwords for a username from one client address lock that username from that address, and
# AXES_ADDRESS_FAILURE_LIMIT from one address whatever the usernames lock that address, each for AXES_COOLOFF_HOURS.
# Locking the username alone let anyone lock any account (the administrator's too) from anywhere: a denial of service.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=50)
if not 1 <= AXES_FAILURE_LIMIT <= AXES_ADDRESS_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        f"AXES_FAILURE_LIMIT={AXES_FAILURE_LIMIT} and AXES_ADDRESS_FAILURE_LIMIT={AXES_ADDRESS_FAILURE_LIMIT}: "
        "the per-account limit must be at least 1 and the per-address limit (all usernames from one address) at "
        "least as high, e.g. 5 and 50."
    )
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "core.lockout.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# The lockout answer: the login page with the reason in the user's language (the API gets its JSON error body).
AXES_LOCKOUT_CALLABLE = "orders.views.login_locked_out"
# The address axes records and counts is the one the API throttles count (NUM_PROXIES), not a header the client
# wrote; an IPv6 client's /64.
AXES_CLIENT_IP_CALLABLE = "core.throttling.client_ip_address"
# The username axes records, cut to its column (a longer one answered 500 on PostgreSQL).
AXES_USERNAME_CALLABLE = "core.throttling.client_username"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("tr", _("Turkish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
# The zone Django admin shows times in (lists, pages, the date drill-down), named in its header. Package, order
# and audit times are shown in their store's zone as well, with the zone named. Staff pages use the store's zone.
ADMIN_TIME_ZONE = env.str("ADMIN_TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(ADMIN_TIME_ZONE)
except (ValueError, LookupError) as error:  # ZoneInfoNotFoundError is a KeyError
    raise ImproperlyConfigured(
        f"ADMIN_TIME_ZONE={ADMIN_TIME_ZONE!r} is not a time zone (e.g. Europe/Istanbul, UTC)."
    ) from error
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST API (SPEC 9) ---
REST_FRAMEWORK = {
    # People sign in with JWT; POS devices and the order system send API keys (SPEC 14).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.StaffJWTAuthentication",
        "orders.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["djangorestframework_camel_case.render.CamelCaseJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.UserRateThrottle",
        "core.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_USER_RATE", default="600/min"),
        "anon": env.str("API_ANON_RATE", default="60/min"),
        # The pickup pass page (SPEC 13), per client address: views, and check-ins ("I'm here", "On my way").
        "pickup_pass": env.str("PICKUP_PASS_RATE", default="60/min"),
        "pickup_pass_check_in": env.str("PICKUP_PASS_CHECK_IN_RATE", default="10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Trusted reverse proxies in front of the web processes. 0: the client is REMOTE_ADDR and X-Forwarded-For,
    # which any client can write, is ignored (without this DRF keyed the throttles on the whole header). N: the
    # address the N-th proxy from the app appended to X-Forwarded-For. django-axes uses the same rule (below).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": __import__("datetime").timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "UPDATE_LAST_LOGIN": False,
    # Tokens carry a hash of the password's hash: changing a password revokes every token issued before
    # (core.authentication checks it on each request, core.api on refresh).
    "CHECK_REVOKE_TOKEN": True,
}
# The error answer's serializer in the OpenAPI document, for core.api's token endpoints as for the apps' own.
API_ERROR_SERIALIZER = "orders.serializers.ErrorSerializer"
SPECTACULAR_SETTINGS = {
    "TITLE": "Click & Collect pickup verification API",
    "DESCRIPTION": (
        "Packages, pickup codes and order intake for POS systems and the order system (docs/api.md). "
        "JSON in camelCase; every path answers with and without a trailing slash. Times are UTC in ISO 8601 "
        "with `Z`, with microseconds when the time has them (`2026-11-23T09:00:00.512003Z`). Every error is "
        "`{success: false, message, code, details?}` (the `Error` schema), with `message` in the language of "
        "`Accept-Language` (`en` or `tr`); a method a path does not have answers 405 with `Allow` and that body "
        "(code `validation_error`); any other path under `/api/` answers 404 `not_found`. 429 and 503 carry "
        "`details.retryAfter` and a `Retry-After` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge: Swagger UI would fetch it from validator.swagger.io, handing it the schema's URL (and the
    # Content-Security-Policy refuses images from another origin).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    # One name for the command codes, used by both `command` (input) and `availableCommands` (output).
    "ENUM_NAME_OVERRIDES": {
        "CommandEnum": "orders.serializers.COMMAND_CODES",
        "ThrottleReasonEnum": "otp.services.THROTTLE_REASONS",
        # An order's `orderStatus` and `status` (the same value) share one enum; a package's `status` keeps its name.
        "OrderStatusEnum": "orders.models.OrderStatus",
        "StatusEnum": "orders.models.PackageStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        # 429 (with details.retryAfter and Retry-After) and 503 on every operation, after the camelCase hook.
        "core.schema.document_retry_answers",
        # X-Request-Id, RateLimit-*, Location on a 201, Idempotency-Key (SPEC 14).
        "core.schema.document_headers",
        # Request bodies as the server reads them: oneOf, no defaults, closed intake objects, links (SPEC 14).
        "orders.api.schema.document_request_bodies",
    ],
}

# --- Celery (SPEC 11): Redis when configured, else kombu's filesystem transport under var/celery ---
CELERY_BROKER_DIR = VAR_DIR / "celery"
# A publish to a broker that is down fails within about a second instead of retrying for the connect
# timeout (or forever): it runs on commit inside web requests, and the outbox relay sends the row later.
PUBLISH_FAIL_FAST_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task taken by a worker that died without acknowledging goes back to the queue after this long.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_connect_timeout": 2,  # an unreachable host, not only a refused port
        **PUBLISH_FAIL_FAST_OPTIONS,
    }
else:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        **PUBLISH_FAIL_FAST_OPTIONS,
    }
CELERY_RESULT_BACKEND = None  # tasks report through the database rows they change
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# django-celery-beat's, kept ticking through a database outage (config/celery_beat.py).
CELERY_BEAT_SCHEDULER = "config.celery_beat:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker (or beat) retries the broker for as long as it is down (SPEC 11: an outage of any length), every 2 s at
# first, then every 30 s at most; Celery's default gave up after 100 tries (about 45 minutes) and exited.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Publishing must not hang a request when the broker is down: the outbox relay sends later.
CELERY_TASK_PUBLISH_RETRY = False

# --- Notifications (SPEC 7) ---
OUTBOX_DIR = Path(env.str("OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
NOTIFY_SMS_BACKEND = env.str("NOTIFY_SMS_BACKEND", default="file")
NOTIFY_EMAIL_BACKEND = env.str("NOTIFY_EMAIL_BACKEND", default="file")
NOTIFY_PUSH_BACKEND = env.str("NOTIFY_PUSH_BACKEND", default="file")
# With DEBUG off, `console` and `file` (codes printed or written to disk, never delivered) are refused by
# notifications.checks unless allowed.
NOTIFY_ALLOW_CONSOLE = env.bool("NOTIFY_ALLOW_CONSOLE", default=False)
NOTIFY_SMS_URL = env.str("NOTIFY_SMS_URL", default="")
NOTIFY_SMS_TOKEN = env.str("NOTIFY_SMS_TOKEN", default="")
NOTIFY_PUSH_URL = env.str("NOTIFY_PUSH_URL", default="")
NOTIFY_PUSH_TOKEN = env.str("NOTIFY_PUSH_TOKEN", default="")
NOTIFY_HTTP_TIMEOUT = env.float("NOTIFY_HTTP_TIMEOUT", default=10.0)
# Sending (notifications.sending): tries per message or webhook delivery, the first retry delay (doubling
# each time), and how long a row may stay pending before the periodic relay queues it again.
NOTIFY_MAX_TRIES = env.int("NOTIFY_MAX_TRIES", default=5)
NOTIFY_RETRY_BACKOFF_SECONDS = env.float("NOTIFY_RETRY_BACKOFF_SECONDS", default=30.0)
NOTIFY_RELAY_AFTER_SECONDS = env.int("NOTIFY_RELAY_AFTER_SECONDS", default=180)
# Whether a code waiting in the outbox is still its package's current code, asked before it is sent. The
# function is otp's: notifications, which may not import otp (pyproject.toml's import contracts), is told it here.
NOTIFY_CODE_IS_CURRENT = "otp.services.pickup_code_is_current"
# The pickup pass link of a code-carrying message, built by the worker from the decrypted code just before sending
# (the token is as secret as the code, so it is never stored): otp's, named here for the same reason.
NOTIFY_PASS_URL = "otp.passes.pass_url"
# Webhook tries (notifications.sending): WEBHOOK_TIMEOUT bounds each wait on the socket (connect, each read);
# WEBHOOK_DEADLINE bounds the whole try up to the answer's headers (connect, TLS, sending, status line and headers),
# so a receiver that trickles them a byte at a time frees the worker at the deadline (notifications.http_deadline).
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_DEADLINE = env.float("WEBHOOK_DEADLINE", default=3 * WEBHOOK_TIMEOUT)
if not WEBHOOK_TIMEOUT > 0:
    raise ImproperlyConfigured(f"WEBHOOK_TIMEOUT={WEBHOOK_TIMEOUT:g} must be a number of seconds above 0, e.g. 10.")
if not WEBHOOK_DEADLINE >= WEBHOOK_TIMEOUT:
    raise ImproperlyConfigured(
        f"WEBHOOK_DEADLINE={WEBHOOK_DEADLINE:g} must be a number of seconds at least WEBHOOK_TIMEOUT "
        f"({WEBHOOK_TIMEOUT:g}): it bounds a whole webhook try, WEBHOOK_TIMEOUT each wait within it."
    )
# An endpoint that receives the Whisperer event (it carries the pickup code) must use https, unless this is on
# (local runs: config/settings/local.py; a receiver on a trusted network).
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Click & Collect <no-reply@example.com>")


# LOG_FORMAT=json writes one JSON object per line (core/logging.py); production defaults to it.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
