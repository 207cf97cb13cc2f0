"""The API's paths (``orders.urls``): each answers with and without a trailing slash."""

import pytest

from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


# --- every path with and without a trailing slash -------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_path_answers_with_and_without_trailing_slash(slash, api, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert api.get(f"/api/packages{slash}").status_code == 200
    assert api.get(f"/api/packages/{package.pk}{slash}").status_code == 200
    assert api.get(f"/api/orders/{package.order_id}{slash}").status_code == 200
    assert api.post(f"/api/packages/{package.pk}/commands{slash}", {"command": "X"}).status_code == 400
    assert api.post(f"/api/packages/{package.pk}/resend-otp{slash}").status_code == 429  # cooldown
    assert api.post(f"/api/packages/{package.pk}/verify-otp{slash}", {"otp": "1"}).status_code == 400
    assert api.post(f"/api/orders/{package.order_id}/verify-otp{slash}", {"otp": "1"}).status_code == 400
    assert api.post(f"/api/orders{slash}", {}).status_code == 403  # staff may not create orders
    assert api.client.get(f"/api/schema{slash}").status_code == 200
    assert api.client.get(f"/api/docs{slash}").status_code == 200
    token = api.client.post(
        f"/api/auth/token{slash}", {"username": "ayse", "password": "pass-word-123"}, content_type="application/json"
    )
    assert token.status_code == 200
    refresh = api.client.post(
        f"/api/auth/token/refresh{slash}", {"refresh": token.json()["refresh"]}, content_type="application/json"
    )
    assert refresh.status_code == 200
    # The failed verifications above were audited as refusals of the malformed kind: none counted.
    assert not AuditRecord.objects.filter(kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE).exists()
