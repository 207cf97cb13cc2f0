"""The sign-in lockout (django-axes, ``AXES_HANDLER``): two limits, neither of which lets a stranger lock an account.

- **An account from one address**: ``AXES_FAILURE_LIMIT`` (5) wrong passwords for a username from one client address
  lock that username *from that address* for ``AXES_COOLOFF_HOURS`` (``AXES_LOCKOUT_PARAMETERS =
  [["username", "ip_address"]]``). Locking the username alone let anyone anywhere lock any account, the
  administrator's included, with five requests every 15 minutes: a denial of service (ASVS 2.2.1). The owner at
  their own address signs in as before.
- **One address across accounts**: ``AXES_ADDRESS_FAILURE_LIMIT`` (50) wrong passwords from one client address,
  whatever the usernames, within the same cool-off lock that address on every account. Without it an address could
  try four passwords on every username in turn (password spraying) and never be stopped.

django-axes compares one number, ``get_failures``, with one ``AXES_FAILURE_LIMIT``, and sums failures per lockout
parameter, so the two limits cannot both be lockout parameters of it. This handler adds the second where axes reads
the first: the address's failures are summed from the same ``AccessAttempt`` rows (no second counter to keep, expire,
reset or show in admin), and when they reach the address limit the request counts as at the account limit, so axes
refuses the sign-in and answers with the lockout response as for the first. Both hold on every sign-in that goes
through ``authenticate`` with the request: the staff sign-in page, ``POST /api/auth/token/`` and Django admin's.

The client address is ``core.throttling.client_ip_address`` (``AXES_CLIENT_IP_CALLABLE``): ``REMOTE_ADDR``, or the
entry the trusted proxies (``NUM_PROXIES``) appended to ``X-Forwarded-For``, never one the client wrote, and an
IPv6 client's /64, so rotating a header or the addresses of one's own network changes nothing.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

ACCOUNT_LOCKED = _("Too many failed sign-ins for this account. Try again in %(minutes)s minutes.")
ADDRESS_LOCKED = _("Too many failed sign-ins from this network address. Try again in %(minutes)s minutes.")


def address_failures(request) -> int:
    """Wrong passwords from the request's client address within the cool-off, whatever the usernames."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginLockoutHandler(AxesDatabaseHandler):
    """axes' database handler with the per-address limit (module docstring). Sets ``request.axes_address_locked``
    when that limit is the one reached, for the lockout message."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            request.axes_address_locked = True
            return max(failures, get_failure_limit(request, credentials))
        return failures


def lockout_message(request) -> tuple[str, int]:
    """What a locked sign-in is told, in the active language, and the seconds until it may try again (the
    cool-off, at least 1): which limit it reached (``request.axes_address_locked``) and when to come back."""
    cool_off = get_cool_off(request)
    seconds = max(1, int(cool_off.total_seconds())) if cool_off else 60
    message = ADDRESS_LOCKED if getattr(request, "axes_address_locked", False) else ACCOUNT_LOCKED
    return str(message % {"minutes": max(1, (seconds + 59) // 60)}), seconds
