"""The test suite: SQLite in memory unless DATABASE_URL names PostgreSQL; nothing leaves the process."""

from .base import *  # noqa: F403
from .base import BASE_DIR, CACHES, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
SECRET_KEY = "test-secret-key"
OTP_HASH_KEY = "test-otp-hash-key"
SITE_URL = "https://pickup.example.com"  # a production-like length, for the SMS length tests
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = CACHES
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
OUTBOX_DIR = BASE_DIR / "var" / "test-outbox"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
WEBHOOK_ALLOW_HTTP = True  # the tests' receivers listen on plain http; the https rule's tests switch it off

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
