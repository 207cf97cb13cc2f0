"""Pickup passes (SPEC 13): the token of the link ``<SITE_URL>/p/<token>`` and the text of the pass's QR code.

A pass holds the package id, the code, the code's expiry and whom the message went to (the customer or the person
they named to collect), sealed with authenticated encryption; nothing about it is stored. Whoever holds the link
holds the code, so the token is as secret as the code: it is built only where the code is in the clear (the worker,
just before a message is handed to its backend) and read only by the pass page.

Layout, before base64url without padding (54 characters):

    version (1 byte, 0x01) || AES-SIV(key, plaintext, associated data: "pickup-pass", version)
    plaintext = package UUID (16) || expiry, Unix seconds (4, big-endian) || code * 2 + holder (3, big-endian)

AES-SIV (RFC 5297) rather than AES-GCM: it needs no nonce, its 16-byte synthetic IV is also the tag, so the token is
16 characters shorter than GCM's (12-byte nonce + 16-byte tag), which keeps a Turkish SMS with the link within three
parts. It is deterministic: the same package, code, expiry and holder give the same token, which tells nothing but
that equality (and a new code gives a new token). Forging a token means forging a 128-bit tag.

Keys: AES-256-SIV keys (64 bytes) derived with HKDF-SHA256 from each of ``FIELD_ENCRYPTION_KEYS``, the Fernet keys of
the outbox, with an info string of their own, so the pass key is independent of the outbox's. The first key seals,
every key opens: rotating FIELD_ENCRYPTION_KEYS (new key first, old ones kept) keeps the passes already sent
readable, as it keeps the outbox's codes.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from otp import conf

VERSION = 1
_ASSOCIATED_DATA = [b"pickup-pass", bytes([VERSION])]
_HKDF_INFO = b"click-collect pickup pass v1"
_PLAINTEXT = struct.Struct(">16sI3s")
# 1 version byte + 16 bytes of synthetic IV + the plaintext.
TOKEN_BYTES = 1 + 16 + _PLAINTEXT.size
TOKEN_LENGTH = -(-TOKEN_BYTES * 4 // 3)  # base64url without padding
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")

# The path of the pass page; the access log shows ``/p/…`` (core.logging redacts what follows it).
PASS_PATH = "/p/"

# Whom a pass was sent to.
CUSTOMER = "customer"
PICKUP_PERSON = "pickup_person"
_HOLDERS = (CUSTOMER, PICKUP_PERSON)

# The QR code's text, which a counter's scanner types into the staff search box (SPEC 12, 13).
QR_PREFIX = "PICKUP:"
_UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_QR_RE = re.compile(rf"PICKUP:({_UUID_PATTERN}):([0-9]{{{conf.CODE_DIGITS}}})")


@dataclass(frozen=True)
class PickupPass:
    """What a pass holds. ``code`` is the plaintext pickup code: never log, store or return it."""

    package_id: uuid.UUID
    code: str
    expires_at: datetime
    holder: str

    def __repr__(self) -> str:  # a pass in a traceback or a debugger shows no code
        return f"PickupPass(package_id={self.package_id}, holder={self.holder})"

    @property
    def qr_text(self) -> str:
        return pass_qr_text(package_id=self.package_id, code=self.code)


def _key_material(key: str | bytes) -> bytes:
    raw = key.encode() if isinstance(key, str) else key
    try:
        return base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        return raw


@lru_cache(maxsize=8)
def _derived_keys(keys: tuple[str | bytes, ...]) -> tuple[AESSIV, ...]:
    derived = []
    for key in keys:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_HKDF_INFO)
        derived.append(AESSIV(hkdf.derive(_key_material(key))))
    return tuple(derived)


def _ciphers(keys: Sequence[str | bytes] | None = None) -> tuple[AESSIV, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS if keys is None else keys)
    if not keys:
        raise ValueError("FIELD_ENCRYPTION_KEYS is empty")
    return _derived_keys(keys)


def pass_token_make(*, package_id: Any, code: str, expires_at: datetime, holder: str = CUSTOMER) -> str:
    """The token of a pass (see the module docstring); ValueError for a code that is not six ASCII digits, an
    unknown holder or an expiry outside 1970-2106."""
    if not re.fullmatch(rf"[0-9]{{{conf.CODE_DIGITS}}}", code or ""):
        raise ValueError("a pass holds a pickup code of six ASCII digits")
    if holder not in _HOLDERS:
        raise ValueError(f"unknown pass holder {holder!r}")
    package_uuid = package_id if isinstance(package_id, uuid.UUID) else uuid.UUID(str(package_id))
    seconds = int(expires_at.timestamp())
    if not 0 <= seconds < 2**32:
        raise ValueError("a pass expiry must be between 1970 and 2106")
    packed = (int(code) * 2 + _HOLDERS.index(holder)).to_bytes(3, "big")
    plaintext = _PLAINTEXT.pack(package_uuid.bytes, seconds, packed)
    sealed = bytes([VERSION]) + _ciphers()[0].encrypt(plaintext, _ASSOCIATED_DATA)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def pass_token_read(token: Any) -> PickupPass | None:
    """The pass a token holds, or None for anything else: not a string, truncated, padded, altered, sealed with a
    key no longer in FIELD_ENCRYPTION_KEYS, another version. Never raises for any input."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(sealed) != TOKEN_BYTES or sealed[0] != VERSION:
        return None
    if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode() != token:
        return None  # the last character's spare bits set: one token, one spelling
    for cipher in _ciphers():
        try:
            plaintext = cipher.decrypt(sealed[1:], _ASSOCIATED_DATA)
        except InvalidTag:
            continue
        package_bytes, seconds, packed = _PLAINTEXT.unpack(plaintext)
        number = int.from_bytes(packed, "big")
        code, holder = divmod(number, 2)
        if code >= 10**conf.CODE_DIGITS:
            return None
        return PickupPass(
            package_id=uuid.UUID(bytes=package_bytes),
            code=f"{code:0{conf.CODE_DIGITS}d}",
            expires_at=datetime.fromtimestamp(seconds, tz=UTC),
            holder=_HOLDERS[holder],
        )
    return None


def pass_url(*, package_id: Any, code: str, expires_at: datetime, holder: str = CUSTOMER, masked: bool = False) -> str:
    """``<SITE_URL>/p/<token>``, the link a code-carrying message holds; the function NOTIFY_PASS_URL names for
    ``notifications``. ``masked``: the link as a stored message body shows it (``/p/******``), since the token is
    as secret as the code."""
    if masked:
        token = "******"
    else:
        token = pass_token_make(package_id=package_id, code=code, expires_at=expires_at, holder=holder)
    return f"{settings.SITE_URL.rstrip('/')}{PASS_PATH}{token}"


def pass_qr_text(*, package_id: Any, code: str) -> str:
    return f"{QR_PREFIX}{package_id}:{code}"


def pass_qr_text_parse(text: Any) -> tuple[uuid.UUID, str] | None:
    """(package id, code) of a pass's QR text as a scanner types it (surrounding spaces ignored), or None."""
    if not isinstance(text, str):
        return None
    match = _QR_RE.fullmatch(text.strip())
    if match is None:
        return None
    return uuid.UUID(match[1]), match[2]
