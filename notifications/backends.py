"""Channel backends (SPEC 7): how one rendered customer message leaves the system.

Chosen per channel by ``NOTIFY_SMS_BACKEND``, ``NOTIFY_EMAIL_BACKEND`` and ``NOTIFY_PUSH_BACKEND``:

- ``file`` (default): one JSON file per message under ``OUTBOX_DIR/<channel>/`` with exactly the keys
  ``channel, to, event, subject, body, packageId, createdAt``; ``body`` is the real text.
- ``console``: one line per message on standard output, with the code masked (stdout is usually
  collected as logs, and a pickup code never goes into logs). Use ``file`` to read real texts locally.
- ``smtp`` (e-mail only): through Django's e-mail backend (``EMAIL_BACKEND``, ``EMAIL_HOST`` ...).
- ``http`` (SMS and push): a generic HTTPS JSON provider at ``NOTIFY_<CHANNEL>_URL`` with the bearer token
  ``NOTIFY_<CHANNEL>_TOKEN``, ``NOTIFY_HTTP_TIMEOUT`` and an ``Idempotency-Key`` header (the message id).
- a dotted path to a class with the same interface, for anything else.

A backend returns the provider's message id (or ""), raises ``TransientSendError`` for a failure worth
retrying and ``PermanentSendError`` for one that is not. Error texts never contain the message body.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from core.text import iso_utc


class SendError(Exception):
    """A message could not be handed over. ``str()`` is safe to store: it never holds the body."""

    retryable = True


class TransientSendError(SendError):
    retryable = True


class PermanentSendError(SendError):
    retryable = False


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message, the real text included; lives only in memory while it is sent."""

    id: str
    channel: str
    to: str
    event: str
    language: str
    subject: str
    body: str
    masked_body: str
    package_id: str | None
    created_at: datetime


class FileBackend:
    """One JSON file per message under OUTBOX_DIR/<channel>/, written atomically (temp file + rename)."""

    def send(self, message: OutgoingMessage) -> str:
        folder = Path(settings.OUTBOX_DIR) / message.channel
        document = {
            "channel": message.channel,
            "to": message.to,
            "event": message.event,
            "subject": message.subject,
            "body": message.body,
            "packageId": message.package_id,
            "createdAt": iso_utc(message.created_at),
        }
        # Sortable by time, unique by message id: a second send of one message overwrites, never duplicates.
        name = f"{message.created_at.strftime('%Y%m%dT%H%M%S%f')}-{message.id}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, ensure_ascii=False, indent=2)
            os.replace(temporary, folder / name)
        except OSError as error:
            raise TransientSendError(f"cannot write to the outbox folder: {error.strerror}") from None
        return name


class ConsoleBackend:
    """A line per message on stdout, code masked (see the module docstring)."""

    def send(self, message: OutgoingMessage) -> str:
        subject = f" [{message.subject}]" if message.subject else ""
        sys.stdout.write(f"[{message.channel}] to {message.to} ({message.event}){subject}: {message.masked_body}\n")
        sys.stdout.flush()
        return ""


class SmtpEmailBackend:
    """E-mail through Django's configured e-mail backend (SMTP in production)."""

    def send(self, message: OutgoingMessage) -> str:
        message_id = f"<{message.id}@clickcollect>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            # A stable Message-ID lets the receiving side drop a duplicate of a re-sent message.
            headers={"Message-ID": message_id},
        )
        try:
            email.send(fail_silently=False)
        except (OSError, ValueError) as error:  # smtplib's errors are OSErrors
            raise TransientSendError(f"SMTP: {error.__class__.__name__}") from None
        return message_id


# 408 and 429 and every 5xx are worth another try; other 4xx mean the request itself is wrong.
_RETRYABLE_STATUSES = {408, 425, 429}


class HttpJsonBackend:
    """POST the message as JSON to a provider: bearer token, timeout, ``Idempotency-Key: <message id>``.

    The provider answers 2xx, optionally with ``{"id": "..."}`` (or ``messageId``) as its message id.
    """

    def __init__(self, *, url: str, token: str, timeout: float):
        if not url:
            raise ImproperlyConfigured("The http notification backend needs a URL.")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutgoingMessage) -> str:
        payload = {
            "id": message.id,
            "channel": message.channel,
            "to": message.to,
            "event": message.event,
            "language": message.language,
            "subject": message.subject,
            "body": message.body,
            "packageId": message.package_id,
        }
        headers = {"Idempotency-Key": message.id, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = requests.post(
                self.url,
                data=json.dumps(payload).encode(),
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise TransientSendError(f"provider unreachable: {error.__class__.__name__}") from None
        if 200 <= response.status_code < 300:
            return _provider_id(response)
        # Only the status: a provider may echo the request (and so the code) in its error body.
        error_class = (
            TransientSendError
            if response.status_code >= 500 or response.status_code in _RETRYABLE_STATUSES
            else PermanentSendError
        )
        raise error_class(f"provider answered HTTP {response.status_code}")


def _provider_id(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("id") or data.get("messageId") or "")[:255]
    return ""


def backend_for(channel: str):
    """The backend configured for ``channel`` (sms, email or push)."""
    name = getattr(settings, f"NOTIFY_{channel.upper()}_BACKEND", "file")
    if name == "file":
        return FileBackend()
    if name == "console":
        return ConsoleBackend()
    if name == "smtp":
        if channel != "email":
            raise ImproperlyConfigured(f"The smtp backend sends e-mail only, not {channel}.")
        return SmtpEmailBackend()
    if name == "http":
        return HttpJsonBackend(
            url=getattr(settings, f"NOTIFY_{channel.upper()}_URL", ""),
            token=getattr(settings, f"NOTIFY_{channel.upper()}_TOKEN", ""),
            timeout=settings.NOTIFY_HTTP_TIMEOUT,
        )
    if "." in name:
        return import_string(name)()
    raise ImproperlyConfigured(f"Unknown notification backend {name!r} for {channel}.")
