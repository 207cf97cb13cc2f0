"""Request-rate throttles of the API, counted in the shared cache (Redis when REDIS_URL is set).

Every web process on every machine counts in the same cache keys, so a limit holds across
processes. When the cache is unreachable the request is let through: the limits that protect
pickup codes (attempts per code, failed verifications per user) live in the database, and a cache
outage must not turn into 500s at the counter.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


class _DegradeOpenMixin:
    def get_rate(self):
        # Read at request time, not import time, so a changed setting (or a test override) applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def wait(self):
        """Seconds until this client may send a request again: until enough of its counted requests have left
        the window. DRF answers None when more requests are counted than the rate now allows (the rate was
        lowered, or processes counted at once), which the client would be told as a 1-second wait."""
        if self.num_requests <= 0:
            return self.duration
        if len(self.history) >= self.num_requests:
            return max(0.0, self.duration - (self.now - self.history[self.num_requests - 1]))
        return super().wait()

    def allow_request(self, request, view):
        self.key = None
        try:
            allowed = super().allow_request(request, view)
        except Exception as error:  # noqa: BLE001 - cache down: degrade open, never 500
            logger.warning("throttle cache unavailable, request let through: %s", error.__class__.__name__)
            return True
        if self.key is not None:  # this throttle counted the request: its state for the RateLimit headers
            rate_limit_note(request, self._state(allowed))
        return allowed

    def _state(self, allowed: bool) -> RateLimitState:
        remaining = max(0, self.num_requests - len(self.history))
        if not allowed:
            reset = self.wait() or 0
        elif self.history:  # the oldest counted request leaves the window: one more is free
            reset = self.duration - (self.now - self.history[-1])
        else:
            reset = self.duration
        return RateLimitState(limit=self.num_requests, remaining=remaining, reset=max(0, math.ceil(reset)))


@dataclass(frozen=True)
class RateLimitState:
    """What the IETF ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` headers say (SPEC 14):
    the requests the window allows, those still free in it, and the seconds until one more is free."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


RATE_LIMIT_ATTR = "rate_limit_state"


def rate_limit_note(request, state: RateLimitState) -> None:
    """Keep the tightest throttle's state on the Django request, for ``RateLimitHeadersMiddleware``."""
    django_request = getattr(request, "_request", request)
    kept = getattr(django_request, RATE_LIMIT_ATTR, None)
    if kept is None or state.remaining < kept.remaining:
        setattr(django_request, RATE_LIMIT_ATTR, state)


def rate_limit_peek(request) -> RateLimitState | None:
    """The state of the client's address under the ``anon`` rate, without counting this request: for an answer
    given before the throttles ran (401, 403, the JSON 404 of an unknown path). None when the cache is down."""
    throttle = AnonRateThrottle()
    if throttle.rate is None:
        return None
    try:
        history = throttle.cache.get(
            throttle.cache_format % {"scope": throttle.scope, "ident": throttle.get_ident(request)}, []
        )
    except Exception as error:  # noqa: BLE001 - cache down: no headers rather than a 500
        logger.warning("throttle cache unavailable, no RateLimit headers: %s", error.__class__.__name__)
        return None
    now = throttle.timer()
    history = [moment for moment in history if moment > now - throttle.duration]
    reset = throttle.duration - (now - history[-1]) if history else 0
    return RateLimitState(
        limit=throttle.num_requests,
        remaining=max(0, throttle.num_requests - len(history)),
        reset=max(0, math.ceil(reset)),
    )


class UserRateThrottle(_DegradeOpenMixin, throttling.UserRateThrottle):
    """``user`` rate per authenticated user (anonymous requests count by address)."""


class AnonRateThrottle(_DegradeOpenMixin, throttling.AnonRateThrottle):
    """``anon`` rate per client address for unauthenticated requests (token endpoint, schema)."""


class ClientAddressThrottle(_DegradeOpenMixin, throttling.SimpleRateThrottle):
    """A rate per client address (``client_ip_address``) for a page anyone may open, such as the pickup pass;
    ``scope`` names the rate in DEFAULT_THROTTLE_RATES. Works on a plain Django request: ``view`` is unused."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip_address(request)}


def client_ip_address(request) -> str | None:
    """The client's address as the sign-in lockout counts it (``AXES_CLIENT_IP_CALLABLE``): DRF's rule with
    ``NUM_PROXIES``, as the throttles count it (``REMOTE_ADDR``, or the entry the trusted proxies appended to
    ``X-Forwarded-For``; what the client wrote there itself is never read). If that is not an address
    (``NUM_PROXIES`` larger than the real chain of proxies lets a client's own text through), ``REMOTE_ADDR``: axes
    stores it in an address column.

    An IPv6 client is its /64 (the network's first address, ``2001:db8:1:2::``): a subscriber, a phone or a rented
    server holds a whole /64, so counting single addresses let one client try 2**64 addresses' worth of passwords
    around the per-address limit (``core.lockout``)."""
    address = throttling.BaseThrottle().get_ident(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return request.META.get("REMOTE_ADDR")
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.7, as a dual-stack socket reports an IPv4 client
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)


# django-axes' username column (AccessAttempt, AccessLog, AccessFailureLog).
AXES_USERNAME_LENGTH = 255


def client_username(request, credentials=None) -> str | None:
    """The username django-axes records and locks (``AXES_USERNAME_CALLABLE``): the one sent, as axes reads it
    itself, cut to its column's 255 characters. No account's name is that long (150 at most), and Django's sign-in
    forms check no length (``AuthenticationForm`` only sets the input's ``maxlength``), so a longer name reached
    axes and PostgreSQL refused the row (DataError): 500 on the staff and admin sign-in pages."""
    source = credentials if credentials else getattr(request, "data", request.POST)
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    return username[:AXES_USERNAME_LENGTH] if isinstance(username, str) else username
