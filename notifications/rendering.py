"""The text of a customer message from its template (SPEC 7): rendered masked when the row is written, and with
the code when it is sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from notifications.models import MessageChannel

# The languages the message templates exist in (``notifications/templates/notifications/<language>/``).
MESSAGE_LANGUAGES = ("en", "tr")


def message_language(preferred: str) -> str:
    """The template language for a customer who prefers ``preferred``: theirs when it exists, else English."""
    return preferred if preferred in MESSAGE_LANGUAGES else "en"


def message_pass_url(*, package_id: Any, context: dict[str, Any], code: str | None, masked: bool) -> str:
    """The pickup pass link of a code-carrying message (SPEC 13), from the function NOTIFY_PASS_URL names; "" for a
    message without a code or written before passes existed (its context has no ``pass``). ``masked``: as the
    stored body shows it. The real link holds the code sealed, so it is made only where the code is in the clear."""
    details = context.get("pass")
    if not code or not package_id or not isinstance(details, dict):
        return ""
    expires_at = parse_datetime(str(details.get("expires_at", "")))
    if expires_at is None:
        return ""
    return import_string(settings.NOTIFY_PASS_URL)(
        package_id=package_id, code=code, expires_at=expires_at, holder=details.get("holder", "customer"), masked=masked
    )


def message_render(
    *,
    event: str,
    channel: str,
    language: str,
    context: dict[str, Any],
    code: str | None,
    pass_url: str = "",
) -> tuple[str, str]:
    """(subject, body) from ``notifications/<language>/<event>.<channel>.txt``; subject only for e-mail.
    ``pass_url``: the pickup pass link (``message_pass_url``), masked or real as ``code`` is."""
    data = {**context, "code": code or "", "pass_url": pass_url}
    body = render_to_string(f"notifications/{language}/{event}.{channel}.txt", data).strip()
    subject = ""
    if channel == MessageChannel.EMAIL:
        subject = render_to_string(f"notifications/{language}/{event}.subject.txt", data).strip()
    return subject, body
