"""Liveness and readiness probes (SPEC 9.2)."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """The process answers: nothing else is checked."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("readyz", "1", 5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not keep a value")


def _check_broker() -> None:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
@require_GET
def readyz(request):
    """Database, cache and broker each answer; 503 with the failing parts otherwise."""
    checks = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - report, never raise
            logger.warning("readiness check %s failed: %s", name, error.__class__.__name__)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
