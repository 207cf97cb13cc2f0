"""System check: a production process must not start with channels that cannot reach a customer.

With ``console`` a customer's pickup code is only printed (masked) and the message is marked sent:
nothing fails, nobody notices, and the customer never gets the code. ``file`` is the same, and it also
keeps every code in plain text on the server's disk. With ``http`` and no URL every message fails at
send time, long after the deploy. All are errors when ``DEBUG`` is off, so ``manage.py migrate`` (the
release step), ``check`` and ``check --deploy`` stop on them instead. ``NOTIFY_ALLOW_CONSOLE=true``
allows ``console`` and ``file`` without debug, for a production-like run that must not send (the
benchmarks).

Registered as an ordinary check, not ``deploy=True``: a deploy-only check runs only under
``check --deploy``, which the release step does not run; ``migrate`` runs ordinary checks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error
from django.utils.module_loading import import_string

CHANNELS = ("sms", "email", "push")
# Which built-in backend names each channel can use (notifications.backends.backend_for).
BUILT_IN = {
    "sms": {"file", "console", "http"},
    "email": {"file", "console", "smtp"},
    "push": {"file", "console", "http"},
}
LABELS = {"sms": "SMS", "email": "e-mail", "push": "push"}
E_CONSOLE = "notifications.E001"
E_NO_URL = "notifications.E002"
E_UNKNOWN = "notifications.E003"
E_FILE = "notifications.E004"
# Backends that never reach a customer: what they do with a message, and the error without DEBUG.
UNDELIVERED = {
    "console": ("printed", E_CONSOLE),
    "file": ("written in plain text to OUTBOX_DIR", E_FILE),
}


def check_notification_backends(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for channel in CHANNELS:
        setting = f"NOTIFY_{channel.upper()}_BACKEND"
        name = getattr(settings, setting, "file")
        if "." in name:
            try:
                import_string(name)
            except ImportError as error:
                errors.append(Error(f"{setting} names {name!r}, which cannot be imported: {error}", id=E_UNKNOWN))
        elif name not in BUILT_IN[channel]:
            errors.append(
                Error(
                    f"{setting} is {name!r}, which is not a backend for {LABELS[channel]}.",
                    hint=f"One of {', '.join(sorted(BUILT_IN[channel]))}, or a dotted path to a backend class.",
                    id=E_UNKNOWN,
                )
            )
        elif name in UNDELIVERED:
            if not settings.DEBUG and not getattr(settings, "NOTIFY_ALLOW_CONSOLE", False):
                what, error_id = UNDELIVERED[name]
                errors.append(
                    Error(
                        f"{setting} is {name!r} with DEBUG off: {LABELS[channel]} messages, pickup codes included, "
                        f"would only be {what} and never reach the customer.",
                        hint=(
                            "Set a real channel (http with its URL for SMS and push, smtp for e-mail); "
                            "NOTIFY_ALLOW_CONSOLE=true only for a run that must not send."
                        ),
                        id=error_id,
                    )
                )
        elif name == "http":
            url_setting = f"NOTIFY_{channel.upper()}_URL"
            if not getattr(settings, url_setting, ""):
                errors.append(
                    Error(
                        f"{setting} is 'http' but {url_setting} is empty: every {LABELS[channel]} message would fail.",
                        hint=f"Set {url_setting} (and NOTIFY_{channel.upper()}_TOKEN) to the provider's endpoint.",
                        id=E_NO_URL,
                    )
                )
    return errors
