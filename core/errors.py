"""The one domain error type. Services raise it; the API and the staff pages show it."""

from typing import Any

from django.utils.translation import gettext_lazy as _

# Stable error code -> HTTP status (SPEC 9.4). The API's exception handler reads this table.
HTTP_STATUS = {
    "validation_error": 400,
    "otp_invalid": 400,
    "otp_expired": 400,
    "otp_locked": 400,
    "otp_not_issued": 400,
    "not_authenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "invalid_state": 409,
    "conflict": 409,
    # SPEC 14: an Idempotency-Key sent again with another request; or while its first request is still running.
    "idempotency_key_reused": 409,
    "idempotency_key_in_use": 409,
    "customer_restricted": 422,
    "throttled": 429,
    # Not in SPEC 9.4: the database is unreachable (restart, failover); nothing was changed (core.middleware).
    "service_unavailable": 503,
}

DEFAULT_MESSAGES = {
    "validation_error": _("The request is not valid."),
    "otp_invalid": _("The pickup code is wrong."),
    "otp_expired": _("The pickup code has expired. Send a new code."),
    "otp_locked": _("Too many wrong entries. Send a new code."),
    "otp_not_issued": _("There is no valid pickup code for this package. Send a new code."),
    "not_authenticated": _("Authentication is required."),
    "permission_denied": _("You are not allowed to do this."),
    "not_found": _("Not found."),
    "invalid_state": _("This command does not apply to the package in its current state."),
    "conflict": _("This order number already exists with different content."),
    "idempotency_key_reused": _("This Idempotency-Key was used with another request. Use a new key."),
    "idempotency_key_in_use": _("A request with this Idempotency-Key is still being processed. Retry it in a moment."),
    "customer_restricted": _("The customer is restricted from Click & Collect orders after repeated no-shows."),
    "throttled": _("Too many requests. Try again later."),
    "service_unavailable": _("The service is briefly unavailable. Try again in a few seconds."),
}


class ApplicationError(Exception):
    """A refusal with a stable ``code`` (SPEC 9.4), a human ``message`` and optional ``details``.

    Raising it means nothing was changed, except where a service documents otherwise
    (a wrong pickup code is counted before the error is raised).
    """

    def __init__(self, code: str, message: Any = None, details: dict | None = None):
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES[code]
        self.details = details or {}
        super().__init__(str(self.message))

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def __repr__(self) -> str:
        return f"ApplicationError({self.code!r}, details={self.details!r})"
