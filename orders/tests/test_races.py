"""Concurrency on PostgreSQL (SPEC 4): row locks make simultaneous verifications end consistently."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from core.testing import requires_postgres, run_in_threads, wrong_code
from notifications.models import Message
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from orders.tests.factories import employee_of
from otp.models import PickupCode

THREADS = 20


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_right_codes_deliver_once(make_package, store, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    staff = [employee_of(store) for _ in range(THREADS)]

    results = run_in_threads(
        lambda i: services.package_deliver(package=package, actor=staff[i], channel="api", otp_value=code), THREADS
    )

    successes = [r for r in results if isinstance(r, services.DeliveryOutcome)]
    failures = [r for r in results if isinstance(r, ApplicationError)]
    assert len(successes) == 1
    assert len(failures) == THREADS - 1 and {f.code for f in failures} == {"invalid_state"}
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED
    assert (
        AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.SUCCESS).count()
        == 1
    )
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.TRANSITION, to_status="delivered").count() == 1
    for channel in ("sms", "email", "push"):
        assert Message.objects.filter(package=package, event="picked_up", channel=channel).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_wrong_codes_lock_at_exactly_max_attempts(make_package, store, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    wrong = wrong_code(issued_code(package))
    staff = [employee_of(store) for _ in range(THREADS)]

    results = run_in_threads(
        lambda i: services.package_deliver(package=package, actor=staff[i], channel="api", otp_value=wrong), THREADS
    )

    codes = sorted(r.code for r in results if isinstance(r, ApplicationError))
    assert len(codes) == THREADS
    assert codes.count("otp_invalid") == 5 and codes.count("otp_locked") == THREADS - 5
    row = PickupCode.objects.get(package=package)
    assert row.attempts == row.max_attempts == 5 and row.is_locked
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_resend_racing_verification_ends_consistently(make_package, store, issued_code):
    """A verification with the old code and a resend at once: either delivered (resend refused) or the old code
    refused after the new one exists; never a delivered package with a live code."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    staff = employee_of(store)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        results = run_in_threads(
            lambda i: (
                services.package_deliver(package=package, actor=staff, channel="api", otp_value=code)
                if i == 0
                else services.package_resend_code(package=package, actor=staff, channel="api")
            ),
            count=2,
        )
    package.refresh_from_db()
    live = PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).count()
    if package.status == PackageStatus.DELIVERED:
        assert live == 0
        assert isinstance(results[1], ApplicationError) and results[1].code == "invalid_state"
    else:
        assert live == 1
        assert isinstance(results[0], ApplicationError) and results[0].code == "otp_invalid"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_packages_of_one_order_delivered_at_once_leave_the_order_picked_up(make_package, store):
    from orders.models import OrderStatus
    from orders.tests.factories import PackageFactory

    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = PackageFactory(order=first.order, store=store)
    services.package_complete_packaging(package=second, actor=None, channel="system")
    services.package_mark_ready(package=second, actor=None, channel="system")
    staff = [employee_of(store) for _ in range(2)]
    packages = [first, second]
    results = run_in_threads(
        lambda i: services.package_deliver(package=packages[i], actor=staff[i], channel="api", manual=True), count=2
    )
    assert all(isinstance(r, services.DeliveryOutcome) for r in results)
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.PICKED_UP
