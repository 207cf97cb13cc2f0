"""Encryption of secrets that wait in the outbox (Fernet, keys from FIELD_ENCRYPTION_KEYS)."""

from collections.abc import Sequence

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet_from_keys(keys: Sequence[str | bytes]) -> MultiFernet:
    """The MultiFernet of ``keys`` (the first encrypts, all decrypt). Raises ValueError when the list is empty or
    a key is not a Fernet key; config/settings/production.py calls it at start so that happens before a request."""
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def _fernet() -> MultiFernet:
    return fernet_from_keys(settings.FIELD_ENCRYPTION_KEYS)


def encrypt(value: str) -> bytes:
    return _fernet().encrypt(value.encode())


def decrypt(token: bytes | memoryview) -> str:
    return _fernet().decrypt(bytes(token)).decode()
