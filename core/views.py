"""Liveness and readiness probes (SPEC 9.2).

Both are served by ``core.middleware.HealthProbeMiddleware`` before anything reads the Host header: a
load balancer's or orchestrator's probe connects to the process's own address (``Host: 10.0.3.7:8000``),
which is not in ``ALLOWED_HOSTS``, and Django's 400 would make every web process look dead.
"""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.selectors import beat_status

logger = logging.getLogger(__name__)

# GET, and the methods load balancers probe with: HEAD, and OPTIONS (HAProxy's default ``option httpchk``).
probe_methods = require_http_methods(["GET", "HEAD", "OPTIONS"])


@never_cache
@probe_methods
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
    from celery import current_app as app  # the project's (config.celery_app), without importing config

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_beat() -> str:
    return beat_status()


# Each check answers None or "ok" when the part is fine, another word for what it found ("stale"), or raises
# ("unavailable"). Only the words of HEALTHY let the probe answer 200 ("disabled": an administrator's decision).
CHECKS = (
    ("database", _check_database),
    ("cache", _check_cache),
    ("broker", _check_broker),
    ("beat", _check_beat),
)
HEALTHY = frozenset({"ok", "disabled"})


@never_cache
@probe_methods
def readyz(request):
    """Database, cache and broker each answer, and beat has run the no-show sweep within 5 minutes
    (``beat: stale`` otherwise, ``disabled`` when an administrator turned it off, core.selectors.beat_status);
    503 with the failing parts otherwise.

    ``?require=database`` (comma-separated parts) answers 503 only when one of those parts is down, the
    body still naming all four: a readiness probe that takes a web process out of rotation looks at the
    status alone, and with Redis down the counter still works (docs/operations.md, Health checks).
    """
    names = [name for name, _check in CHECKS]
    required = [part.strip() for part in request.GET.get("require", ",".join(names)).split(",") if part.strip()]
    unknown = sorted(set(required) - set(names))
    if unknown or not required:
        return JsonResponse(
            {"status": "error", "message": f"require takes a comma-separated subset of: {', '.join(names)}."},
            status=400,
        )
    checks = {}
    for name, check in CHECKS:
        try:
            checks[name] = check() or "ok"
        except Exception as error:  # noqa: BLE001 - report, never raise
            logger.warning("readiness check %s failed: %s", name, error.__class__.__name__)
            checks[name] = "unavailable"
            continue
        if checks[name] not in HEALTHY:
            logger.warning("readiness check %s failed: %s", name, checks[name])
    ready = all(checks[name] in HEALTHY for name in required)
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
    # The warning above names the failing part; without this Django adds an ERROR line for every probe's 503.
    response._has_been_logged = True
    return response
