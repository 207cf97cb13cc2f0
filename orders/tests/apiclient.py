"""Test helpers for the REST API: clients that log in through the real token endpoint.

Every API test authenticates the way a POS does, with ``Authorization: Bearer <access>`` from
``POST /api/auth/token/``, never with ``force_authenticate``.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from orders.tests.factories import PASSWORD

# The keys of a package's representation (SPEC 9.3): what the API answers and what the schema documents.
PACKAGE_KEYS = frozenset(
    {
        "id",
        "orderId",
        "orderNumber",
        "store",
        "status",
        "statusDisplay",
        "deliveryType",
        "deliveryFromStore",
        "customer",
        "pickupPerson",  # SPEC 13: null, or {name, phoneMasked}
        "items",
        "readyAt",
        "readyExpiresAt",
        "deliveredAt",
        "cancelledAt",
        "cancellationReason",
        "otp",
        "availableCommands",
        "createdAt",
        "updatedAt",
    }
)


def obtain_tokens(username: str, password: str = PASSWORD) -> dict:
    response = Client().post(
        "/api/auth/token/", {"username": username, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


class BearerClient:
    """A Django test client sending a Bearer token and JSON bodies."""

    def __init__(self, token: str | None = None, **headers: str) -> None:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.client = Client(headers=headers)

    def get(self, path: str, data: dict | None = None, **extra):
        return self.client.get(path, data, **extra)

    def post(self, path: str, data=None, **extra):
        body = json.dumps({} if data is None else data)
        return self.client.post(path, body, content_type="application/json", **extra)

    def request(self, method: str, path: str, data=None, **extra):
        body = json.dumps(data) if data is not None else ""
        return getattr(self.client, method.lower())(path, body, content_type="application/json", **extra)


def bearer(user) -> BearerClient:
    """A client logged in as ``user`` through ``POST /api/auth/token/``."""
    return BearerClient(obtain_tokens(user.get_username())["access"])


def assert_error(response, status: int, code: str) -> dict:
    """The SPEC 9.4 error body with this status and code; returns the body."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Request-rate counters live in the shared cache: start every API test from zero."""
    cache.clear()
    yield
    cache.clear()
