"""No-show expiry and reminders under real concurrency (SPEC 6), with threads on PostgreSQL.

SQLite has no row locks, so these run only where DATABASE_URL names PostgreSQL.
"""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from core.testing import requires_postgres, run_in_threads
from notifications.models import Message
from orders import services
from orders.models import (
    AuditKind,
    AuditRecord,
    Customer,
    NoShowStrike,
    Order,
    OrderStatus,
    Package,
    PackageStatus,
    TrustTier,
)
from orders.tests.factories import CustomerFactory, employee_of
from otp.models import PickupCode

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP


@pytest.fixture(autouse=True)
def _queue_instead_of_sending():
    """Thousands of messages: queue them on the in-memory broker instead of sending each in-process."""
    from config.celery_app import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def bulk_ready_packages(*, store, customers, per_customer, expires_at):
    """Ready packages with a live code each, inserted in bulk (one order per package)."""
    orders = [
        Order(order_number=f"NS-{uuid.uuid4().hex[:12]}", customer=customer, store=store, status=OrderStatus.READY)
        for customer in customers
        for _ in range(per_customer)
    ]
    Order.objects.bulk_create(orders)
    packages = [
        Package(
            order=order,
            store=store,
            status=READY,
            ready_at=expires_at - timedelta(hours=72),
            ready_expires_at=expires_at,
        )
        for order in orders
    ]
    Package.objects.bulk_create(packages)
    PickupCode.objects.bulk_create(
        PickupCode(
            package=package,
            code_hash="0" * 64,
            created_at=expires_at - timedelta(minutes=5),
            expires_at=expires_at + timedelta(minutes=5),
            max_attempts=5,
        )
        for package in packages
    )
    return packages


def test_two_sweeps_in_parallel_cancel_and_penalise_each_package_once(store):
    customers = CustomerFactory.create_batch(100)
    deadline = timezone.now() - timedelta(minutes=1)
    packages = bulk_ready_packages(store=store, customers=customers, per_customer=5, expires_at=deadline)
    assert len(packages) == 500

    results = run_in_threads(lambda i: services.packages_expire_unclaimed(batch_size=40), 2, timeout=120)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 500
    assert Package.objects.filter(status=PackageStatus.CANCELLED, cancellation_reason="no_show").count() == 500
    assert NoShowStrike.objects.count() == 500
    transitions = AuditRecord.objects.filter(kind=AuditKind.TRANSITION, to_status="cancelled")
    assert transitions.count() == 500
    assert transitions.values("package").distinct().count() == 500
    for channel in ("sms", "email", "push"):
        sent = Message.objects.filter(event="cancelled_no_show", channel=channel)
        assert sent.count() == 500 and sent.values("package").distinct().count() == 500
    assert not PickupCode.objects.filter(used_at=None, invalidated_at=None).exists()
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    # Each customer's five strikes were counted although two sweeps wrote them at once.
    assert set(Customer.objects.values_list("trust_tier", flat=True)) == {TrustTier.RESTRICTED}
    assert not Customer.objects.filter(restricted_until=None).exists()

    # A rerun changes nothing.
    assert services.packages_expire_unclaimed() == 0
    assert NoShowStrike.objects.count() == 500 and Message.objects.filter(event="cancelled_no_show").count() == 1500


def customers_with_one_old_strike(store, count):
    """``count`` good customers, each with one counting strike (a package cancelled as a no-show ten days ago)."""
    customers = CustomerFactory.create_batch(count)
    ten_days_ago = timezone.now() - timedelta(days=10)
    packages = bulk_ready_packages(store=store, customers=customers, per_customer=1, expires_at=ten_days_ago)
    Package.objects.filter(pk__in=[p.pk for p in packages]).update(
        status=PackageStatus.CANCELLED, cancellation_reason="no_show", ready_expires_at=None
    )
    NoShowStrike.objects.bulk_create(
        NoShowStrike(customer_id=p.order.customer_id, package=p, created_at=ten_days_ago) for p in packages
    )
    return customers


def test_two_tier_refreshes_in_parallel_move_and_count_each_customer_once(store):
    customers_with_one_old_strike(store, 60)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1)

    results = run_in_threads(lambda i: services.customers_refresh_ended_tiers(batch_size=7), 2)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 60
    assert set(Customer.objects.values_list("trust_tier", "restricted_until")) == {(TrustTier.WATCH, None)}
    assert services.customers_refresh_ended_tiers() == 0


def test_a_tier_refresh_racing_the_sweep_never_undoes_a_restriction(store):
    customers = customers_with_one_old_strike(store, 60)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1)
    deadline = timezone.now() - timedelta(minutes=1)
    bulk_ready_packages(store=store, customers=customers, per_customer=2, expires_at=deadline)

    def sweep_or_refresh(i):
        if i == 0:
            return services.packages_expire_unclaimed(batch_size=20)
        return services.customers_refresh_ended_tiers(batch_size=5)

    results = run_in_threads(sweep_or_refresh, 3, timeout=120)

    assert all(isinstance(r, int) for r in results), results
    assert results[0] == 120 and NoShowStrike.objects.count() == 180
    # The third counting strike restricted every customer, whichever ran first for them.
    assert set(Customer.objects.values_list("trust_tier", flat=True)) == {TrustTier.RESTRICTED}
    assert not Customer.objects.filter(restricted_until__lte=timezone.now()).exists()
    assert not Customer.objects.filter(restricted_until=None).exists()
    assert services.customers_refresh_ended_tiers() == 0


def test_delivery_with_the_right_code_racing_the_sweep_at_the_deadline(make_package, store, issued_code):
    """Each package ends delivered (no penalty) or cancelled (code refused), never both."""
    count = 12
    packages = [make_package(READY) for _ in range(count)]
    deadline = max(p.ready_expires_at for p in packages)
    Package.objects.filter(pk__in=[p.pk for p in packages]).update(ready_expires_at=deadline)
    staff = [employee_of(store) for _ in range(count)]
    # The first code has long expired by the deadline: the customer asked for a new one just before.
    with time_machine.travel(deadline - timedelta(minutes=2), tick=False):
        for package in packages:
            services.package_resend_code(package=package, actor=staff[0], channel="api")
    codes = [issued_code(package) for package in packages]

    def deliver_or_sweep(i):
        """Threads 0 to count - 1 each deliver their package; the last one sweeps."""
        if i < count:
            return services.package_deliver(package=packages[i], actor=staff[i], channel="api", otp_value=codes[i])
        return services.packages_expire_unclaimed(batch_size=5)

    with time_machine.travel(deadline, tick=False):
        results = run_in_threads(deliver_or_sweep, count + 1, timeout=120)

    swept = results[-1]
    assert isinstance(swept, int), swept
    outcomes = {"delivered": 0, "cancelled": 0}
    for package, result in zip(packages, results[:count], strict=True):
        package.refresh_from_db()
        strikes = NoShowStrike.objects.filter(package=package).count()
        events = set(Message.objects.filter(package=package).values_list("event", flat=True))
        if package.status == PackageStatus.DELIVERED:
            outcomes["delivered"] += 1
            assert isinstance(result, services.DeliveryOutcome), result
            assert strikes == 0 and "cancelled_no_show" not in events and "picked_up" in events
            assert package.cancelled_at is None and package.cancellation_reason == ""
        else:
            outcomes["cancelled"] += 1
            assert package.status == PackageStatus.CANCELLED and package.cancellation_reason == "no_show"
            assert isinstance(result, ApplicationError) and result.code == "invalid_state", result
            assert strikes == 1 and "picked_up" not in events and "cancelled_no_show" in events
            assert package.delivered_at is None
        assert not PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).exists()
    assert outcomes["cancelled"] == swept
    assert sum(outcomes.values()) == count


def test_reminders_in_parallel_go_out_once_per_package(store):
    customers = CustomerFactory.create_batch(50)
    deadline = timezone.now() + timedelta(hours=2)
    packages = bulk_ready_packages(store=store, customers=customers, per_customer=2, expires_at=deadline)

    results = run_in_threads(lambda i: services.packages_send_reminders(batch_size=15), 3, timeout=120)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(packages) == 100
    reminders = Message.objects.filter(event="pickup_reminder")
    assert reminders.count() == 300 and reminders.values("package").distinct().count() == 100
    assert not Package.objects.filter(reminder_sent_at=None).exists()
    assert services.packages_send_reminders() == 0
