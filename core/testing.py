"""Markers for tests that need a real service; each skip states its reason (SPEC: no silent skips)."""

import os

import pytest

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): SQLite has no row locks, so races cannot be shown on it",
)
requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server (set REDIS_URL)")
requires_shared_database = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): the in-memory SQLite test database cannot be opened by another process",
)
