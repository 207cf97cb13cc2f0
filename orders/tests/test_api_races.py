"""Simultaneous API calls on PostgreSQL (SPEC 4): of many verifications of one package exactly one succeeds."""

from collections import Counter

import pytest

from core.testing import requires_postgres, run_in_threads
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import employee_of

THREADS = 8


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_api_verifications_deliver_once(make_package, store, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    clients = [bearer(employee_of(store)) for _ in range(THREADS)]

    def verify(index):
        if index % 2:
            response = clients[index].post(f"/api/orders/{package.order_id}/verify-otp", {"otp": code})
        else:
            response = clients[index].post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})
        return response.status_code, response.json().get("code")

    outcomes = Counter(run_in_threads(verify, THREADS))
    assert outcomes[(200, None)] == 1, outcomes
    assert outcomes[(409, "invalid_state")] == THREADS - 1, outcomes
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED
