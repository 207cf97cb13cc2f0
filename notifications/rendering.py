"""The text of a customer message from its template (SPEC 7): rendered masked when the row is written, and with
the code when it is sent."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from notifications.models import MessageChannel

# The languages the message templates exist in (``notifications/templates/notifications/<language>/``).
MESSAGE_LANGUAGES = ("en", "tr")


def message_language(preferred: str) -> str:
    """The template language for a customer who prefers ``preferred``: theirs when it exists, else English."""
    return preferred if preferred in MESSAGE_LANGUAGES else "en"


def message_render(
    *, event: str, channel: str, language: str, context: dict[str, Any], code: str | None
) -> tuple[str, str]:
    """(subject, body) from ``notifications/<language>/<event>.<channel>.txt``; subject only for e-mail."""
    data = {**context, "code": code or ""}
    body = render_to_string(f"notifications/{language}/{event}.{channel}.txt", data).strip()
    subject = ""
    if channel == MessageChannel.EMAIL:
        subject = render_to_string(f"notifications/{language}/{event}.subject.txt", data).strip()
    return subject, body
