"""Helpers for the pickup pass tests: a package's pass token as its latest message would carry it."""

from __future__ import annotations

import json
import re

from otp import passes

LINK_RE = re.compile(r"https?://[^ ]+/p/([A-Za-z0-9_-]+)")


def pass_token_of(package, code: str, holder: str = passes.CUSTOMER) -> str:
    """The token of the package's latest code, sealed as the worker seals it."""
    pickup_code = package.pickup_codes.order_by("-created_at", "-id").first()
    return passes.pass_token_make(package_id=package.pk, code=code, expires_at=pickup_code.expires_at, holder=holder)


def pass_tokens_sent(outbox_dir, *, channel: str = "sms", to: str | None = None) -> list[str]:
    """The pass tokens in the messages the file backend wrote for ``channel`` (to ``to``), oldest first."""
    documents = [json.loads(path.read_text()) for path in sorted((outbox_dir / channel).glob("*.json"))]
    documents.sort(key=lambda document: document["createdAt"])
    return [
        token
        for document in documents
        if to is None or document["to"] == to
        for token in LINK_RE.findall(document["body"])
    ]
