"""Test helpers: markers for tests that need a real service, each skip stating its reason (SPEC: no silent
skips), a way to start threads at the same instant for race tests, and a wrong pickup code."""

import os
import threading

import pytest
from django.db import connection

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): SQLite has no row locks, so races cannot be shown on it",
)
requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server (set REDIS_URL)")
requires_shared_database = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): the in-memory SQLite test database cannot be opened by another process",
)


def run_in_threads(target, count: int, *, timeout: float = 60) -> list:
    """Call ``target(index)`` in ``count`` threads released at the same instant; return what each returned or
    raised (an exception is collected in its place, to be asserted on). Each thread closes its own connection."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as error:  # noqa: BLE001 - collected and asserted on
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def wrong_code(*right: str) -> str:
    """A well-formed six-digit pickup code that is none of ``right`` (the codes issued): the next number after
    the first one that is free, so it is refused as wrong (``otp_invalid``), never as malformed."""
    number = int(right[0])
    while True:
        number = (number + 1) % 1_000_000
        if f"{number:06d}" not in right:
            return f"{number:06d}"


# The environment a production process needs at least (settings only: no server is contacted), for tests that
# load config.settings.production in a fresh interpreter.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "OTP_HASH_KEY": "test-only-otp-hash-key-0123456789abcdef",
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=",
    "ALLOWED_HOSTS": "pickup.example.com",
    "DATABASE_URL": "postgres://app@db.internal:5432/clickcollect",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def sms_parts(text: str) -> int:
    """Parts of a concatenated SMS: Turkish ı, ğ, ş, İ, ç are outside GSM-7, so such a text goes as UCS-2."""
    gsm7 = set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
        "abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    if set(text) <= gsm7:
        return 1 if len(text) <= 160 else -(-len(text) // 153)
    return 1 if len(text) <= 70 else -(-len(text) // 67)
