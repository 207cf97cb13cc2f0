"""Concurrency on PostgreSQL (SPEC 4): row locks make simultaneous verifications end consistently, through the
services and through the API."""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from core.testing import requires_postgres, run_in_threads, wrong_code
from notifications.models import Message
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
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


SPRAY_THREADS = 8


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order_level", [False, True], ids=["package", "order"])
def test_parallel_wrong_codes_on_many_packages_cannot_pass_the_spray_limit(
    make_package, store, issued_code, order_level
):
    """SPEC 4: more than 20 failures by one user in 10 minutes answer throttled. With 19 already counted, of 8
    simultaneous wrong codes on 8 different packages by that user exactly one is counted (the 20th) and the
    others are throttled: the failure window is read after the user's earlier verifications have committed."""
    from otp import conf

    staff = employee_of(store)
    earlier = [make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP) for _ in range(4)]
    for attempt in range(conf.SPRAY_MAX_FAILURES - 1):
        package = earlier[attempt % len(earlier)]
        with pytest.raises(ApplicationError) as refused:
            services.package_deliver(
                package=package, actor=staff, channel="api", otp_value=wrong_code(issued_code(package))
            )
        assert refused.value.code in ("otp_invalid", "otp_locked")
    assert AuditRecord.objects.filter(actor=staff, outcome=AuditOutcome.FAILURE).count() == conf.SPRAY_MAX_FAILURES - 1
    targets = [make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP) for _ in range(SPRAY_THREADS)]

    def attempt(index):
        package = targets[index]
        wrong = wrong_code(issued_code(package))
        if order_level:
            return services.order_verify(order=package.order, actor=staff, channel="api", otp_value=wrong)
        return services.package_deliver(package=package, actor=staff, channel="api", otp_value=wrong)

    results = run_in_threads(attempt, SPRAY_THREADS)

    codes = sorted(r.code if isinstance(r, ApplicationError) else repr(r) for r in results)
    assert codes == ["otp_invalid"] + ["throttled"] * (SPRAY_THREADS - 1)
    assert AuditRecord.objects.filter(actor=staff, outcome=AuditOutcome.FAILURE).count() == conf.SPRAY_MAX_FAILURES
    assert sum(PickupCode.objects.get(package=p).attempts for p in targets) == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_verification_waiting_for_its_user_lock_holds_no_package_lock(make_package, store, issued_code):
    """The user's verification lock is taken before the package row lock, in every verification: one waiting
    for it holds nothing another transaction could need, so the two kinds of lock cannot deadlock."""
    import threading

    from django.db import connection, transaction

    from orders.models import Package
    from otp import services as otp

    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    staff = employee_of(store)
    holding, release, waiter_done = threading.Event(), threading.Event(), threading.Event()
    outcome = {}

    def hold_user_lock():
        try:
            with transaction.atomic():
                otp.verifications_lock(actor=staff)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def verify():
        try:
            outcome["result"] = services.package_deliver(
                package=package, actor=staff, channel="api", otp_value=issued_code(package)
            )
        finally:
            waiter_done.set()
            connection.close()

    holder = threading.Thread(target=hold_user_lock)
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=verify)
    waiter.start()
    try:
        assert not waiter_done.wait(0.5), "the verification did not wait for its user's lock"
        with transaction.atomic():  # the package row is free while the verification waits
            assert Package.objects.select_for_update(nowait=True).get(pk=package.pk).pk == package.pk
    finally:
        release.set()
        holder.join(10)
        waiter.join(10)
    assert isinstance(outcome.get("result"), services.DeliveryOutcome)


API_THREADS = 8


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_api_verifications_deliver_once(make_package, store, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    clients = [bearer(employee_of(store)) for _ in range(API_THREADS)]

    def verify(index):
        if index % 2:
            response = clients[index].post(f"/api/orders/{package.order_id}/verify-otp", {"otp": code})
        else:
            response = clients[index].post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})
        return response.status_code, response.json().get("code")

    outcomes = Counter(run_in_threads(verify, API_THREADS))
    assert outcomes[(200, None)] == 1, outcomes
    assert outcomes[(409, "invalid_state")] == API_THREADS - 1, outcomes
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED
