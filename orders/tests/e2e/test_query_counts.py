"""SQL queries of the hot paths (issue 7.2): one verification, and the package lists at any size.

Counted as production runs them: application settings come from the process snapshot (production
keeps it for ``APP_SETTINGS_CACHE_SECONDS``, 2 s), and the verification runs in its own transaction
(``transaction=True``), so the test's wrapping savepoints are not counted.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.testing import wrong_code
from orders import services
from orders.models import AuditRecord, Package, PackageStatus
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import OrderFactory, PackageFactory
from otp.models import PickupCode

VERIFY_SERVICE_MAX_QUERIES = 8
# The API call adds the token's user (read with its integration-account flag) and the answer's package items:
# the answer is built from the rows the service loaded (the order of one package, its customer and store).
VERIFY_API_MAX_QUERIES = 10
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def _statements(captured) -> list[str]:
    """The statements of the verification's own transaction: up to its COMMIT (what follows is the
    eager sending of its messages, which a worker does in production), without transaction control."""
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.startswith("COMMIT"):
            break
        if not sql.startswith(TRANSACTION_CONTROL):
            statements.append(sql)
    return statements


@pytest.mark.django_db(transaction=True)
def test_one_verification_takes_at_most_eight_queries(employee, make_package, issued_code, settings_snapshot):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)

    with CaptureQueriesContext(connection) as captured:
        outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)

    assert outcome.package.status == PackageStatus.DELIVERED
    statements = _statements(captured)
    assert len(statements) <= VERIFY_SERVICE_MAX_QUERIES, "\n".join(statements)
    # Everything a delivery promises was still written by those queries.
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED and package.ready_expires_at is None
    assert package.order.status == "picked_up"
    assert PickupCode.objects.get(package=package).used_at is not None
    assert AuditRecord.objects.filter(package=package, kind="verification", outcome="success").count() == 1
    assert (
        AuditRecord.objects.filter(package=package, kind="transition", to_status=PackageStatus.DELIVERED).count() == 1
    )
    assert set(package.messages.filter(event="picked_up").values_list("channel", flat=True)) == {"sms", "email", "push"}


@pytest.mark.django_db(transaction=True)
def test_verification_of_a_package_in_a_bigger_order_stays_bounded(
    employee, make_package, issued_code, settings_snapshot
):
    """An order with several packages takes the order lock path: two more queries, still bounded."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    sibling = PackageFactory(order=package.order, store=package.store)
    code = issued_code(package)

    with CaptureQueriesContext(connection) as captured:
        services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)

    statements = _statements(captured)
    assert len(statements) <= VERIFY_SERVICE_MAX_QUERIES + 2, "\n".join(statements)
    package.order.refresh_from_db()
    sibling.refresh_from_db()
    assert sibling.status == PackageStatus.WAITING
    assert package.order.status == "processing"  # one delivered, one still waiting


@pytest.mark.django_db(transaction=True)
def test_wrong_code_is_bounded_too(employee, make_package, issued_code, settings_snapshot):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    wrong = wrong_code(issued_code(package))

    with CaptureQueriesContext(connection) as captured, pytest.raises(Exception) as refused:
        services.package_deliver(package=package, actor=employee, channel="api", otp_value=wrong)

    assert getattr(refused.value, "code", None) == "otp_invalid"
    statements = _statements(captured)
    assert len(statements) <= VERIFY_SERVICE_MAX_QUERIES, "\n".join(statements)
    assert PickupCode.objects.get(package=package).attempts == 1


@pytest.fixture
def publish_only(settings):
    """Sending tasks are published (to the in-memory broker), not run in this process, as in production."""
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_verify_api_call_is_bounded(employee, make_package, issued_code, settings_snapshot, publish_only):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    client = bearer(employee)

    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})

    assert response.status_code == 200, response.content
    assert response.json()["data"]["package"]["status"] == PackageStatus.DELIVERED
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= VERIFY_API_MAX_QUERIES, "\n".join(statements)


def _add_packages(store, count: int) -> None:
    for _ in range(count):
        PackageFactory(order=OrderFactory(store=store), store=store)


@pytest.mark.django_db
def test_api_list_queries_do_not_grow_with_rows(employee, store, settings_snapshot):
    client = bearer(employee)

    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/packages/", {"pageSize": 200})
        assert response.status_code == 200
        return len(response.json()["results"]), len(captured.captured_queries)

    _add_packages(store, 3)
    rows_small, small = count_queries()
    _add_packages(store, 117)
    rows_large, large = count_queries()
    assert (rows_small, rows_large) == (3, 120)
    assert small == large


@pytest.mark.django_db
def test_staff_list_page_queries_do_not_grow_with_rows(client, employee, store, settings_snapshot):
    client.force_login(employee)
    url = reverse("staff:package-list")
    client.get(url)  # the first visit stores the chosen store in the session

    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode().count('<tr id="row-'), len(captured.captured_queries)

    _add_packages(store, 3)
    rows_small, small = count_queries()
    _add_packages(store, 97)
    rows_large, large = count_queries()
    assert (rows_small, rows_large) == (3, min(Package.objects.filter(store=store).count(), 50))
    assert small == large
