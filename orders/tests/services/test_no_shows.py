"""No-show expiry and pickup reminders (SPEC 6): what the sweep does, once, in batches."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from notifications.models import Message, WebhookDelivery, WebhookEndpoint
from orders import services
from orders.models import AuditKind, AuditRecord, Channel, NoShowStrike, OrderStatus, Package, PackageStatus, TrustTier
from orders.tests.factories import CustomerFactory, OrderFactory
from orders.tests.no_shows import after_deadline, reminders
from otp.models import PickupCode

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HOLD = timedelta(hours=72)


def snapshot():
    """Everything the sweep writes, counted, to show a rerun changes nothing."""
    return {
        "cancelled": Package.objects.filter(status=PackageStatus.CANCELLED).count(),
        "strikes": NoShowStrike.objects.count(),
        "audit": AuditRecord.objects.count(),
        "messages": Message.objects.count(),
        "webhooks": WebhookDelivery.objects.count(),
    }


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(url="https://oms.example.com/hooks", secret="whsec_dGVzdA==")


@pytest.mark.django_db
def test_sweep_cancels_an_unclaimed_package_with_every_effect(make_package, endpoint, issued_code):
    package = make_package(READY)
    code = issued_code(package)
    customer = package.order.customer
    with after_deadline(package):
        expired = services.packages_expire_unclaimed()
        now = timezone.now()

    assert expired == 1
    package.refresh_from_db()
    assert package.status == PackageStatus.CANCELLED
    assert package.cancellation_reason == "no_show" and package.cancelled_at == now
    assert package.ready_expires_at is None
    live = PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None)
    assert not live.exists()
    assert PickupCode.objects.get(package=package).invalidated_reason == "no_show"
    strike = NoShowStrike.objects.get(package=package)
    assert strike.customer_id == customer.pk and strike.created_at == now
    transition = AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status="cancelled")
    assert (transition.from_status, transition.actor_id, transition.channel, transition.reason) == (
        READY,
        None,
        Channel.SYSTEM,
        "no_show",
    )
    messages = Message.objects.filter(package=package, event="cancelled_no_show")
    assert sorted(messages.values_list("channel", flat=True)) == ["email", "push", "sms"]
    for message in messages:
        assert package.order.order_number in message.body and code not in message.body
        assert message.secret_encrypted is None and message.customer_id == customer.pk
        assert (message.status, message.attempts, message.language, message.created_at) == ("pending", 0, "en", now)
    assert messages.get(channel="email").subject and messages.get(channel="sms").recipient == customer.phone
    events = list(WebhookDelivery.objects.filter(package=package).values_list("event_type", flat=True))
    assert events.count("PackageCancelledEvent") == 1 and events.count("PackageStatusChangedEvent") == 3
    cancelled_event = WebhookDelivery.objects.get(package=package, event_type="PackageCancelledEvent")
    assert cancelled_event.payload["data"]["cancellationReason"] == "no_show"
    assert cancelled_event.status == "pending" and cancelled_event.webhook_id.startswith("msg_")
    assert cancelled_event.endpoint_id == endpoint.pk and cancelled_event.secret_encrypted is None
    assert code not in str(cancelled_event.payload)
    package.order.refresh_from_db()
    assert package.order.status == OrderStatus.CANCELLED


@pytest.mark.django_db
def test_sweep_leaves_packages_that_are_not_due(make_package):
    due = make_package(READY)
    fresh = make_package(READY)
    delivered = make_package(PackageStatus.DELIVERED)
    packed = make_package(PackageStatus.PACKED_ALL_ITEMS)
    Package.objects.filter(pk=fresh.pk).update(ready_expires_at=due.ready_expires_at + timedelta(hours=1))

    with after_deadline(due):
        assert services.packages_expire_unclaimed() == 1

    statuses = dict(Package.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: PackageStatus.CANCELLED,
        fresh.pk: READY,
        delivered.pk: PackageStatus.DELIVERED,
        packed.pk: PackageStatus.PACKED_ALL_ITEMS,
    }
    assert list(NoShowStrike.objects.values_list("package_id", flat=True)) == [due.pk]


@pytest.mark.django_db
def test_the_deadline_itself_counts_as_expired(make_package):
    package = make_package(READY)
    with time_machine.travel(package.ready_expires_at - timedelta(microseconds=1), tick=False):
        assert services.packages_expire_unclaimed() == 0
    with time_machine.travel(package.ready_expires_at, tick=False):
        assert services.packages_expire_unclaimed() == 1


@pytest.mark.django_db
def test_rerun_changes_nothing(make_package):
    packages = [make_package(READY) for _ in range(4)]
    with after_deadline(packages[-1]):
        assert services.packages_expire_unclaimed() == 4
        before = snapshot()
        assert services.packages_expire_unclaimed() == 0
        assert services.package_expire_no_show(package=packages[0]) is False
    assert snapshot() == before
    assert before["strikes"] == 4
    assert Message.objects.filter(event="cancelled_no_show").count() == 12


@pytest.mark.django_db
def test_batches_cover_everything_and_cost_the_same_queries_whatever_their_size(make_package, endpoint):
    """One batch is a fixed number of statements, not ~15 per package."""
    small = [make_package(READY) for _ in range(2)]
    with after_deadline(small[-1]), CaptureQueriesContext(connection) as two:
        assert services.packages_expire_unclaimed(batch_size=100) == 2
    large = [make_package(READY) for _ in range(12)]
    with after_deadline(large[-1]), CaptureQueriesContext(connection) as twelve:
        assert services.packages_expire_unclaimed(batch_size=100) == 12
    assert len(twelve.captured_queries) == len(two.captured_queries)

    more = [make_package(READY) for _ in range(7)]
    with after_deadline(more[-1]):
        assert services.packages_expire_unclaimed(batch_size=3) == 7
    assert not Package.objects.filter(status=READY).exists()
    assert NoShowStrike.objects.count() == 21


@pytest.mark.django_db
def test_single_expiry_writes_the_same_as_the_sweep(make_package, endpoint):
    by_sweep = make_package(READY)
    alone = make_package(READY)

    def effects(package):
        return {
            "status": Package.objects.get(pk=package.pk).status,
            "strikes": NoShowStrike.objects.filter(package=package).count(),
            "audit": sorted(
                AuditRecord.objects.filter(
                    package=package, kind=AuditKind.TRANSITION, to_status="cancelled"
                ).values_list("command", "channel", "reason")
            ),
            "messages": sorted(Message.objects.filter(package=package).values_list("event", "channel")),
            "webhooks": sorted(WebhookDelivery.objects.filter(package=package).values_list("event_type", flat=True)),
            "live_codes": PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).count(),
        }

    with after_deadline(alone):
        assert services.package_expire_no_show(package=alone) is True
        assert services.package_expire_no_show(package=alone) is False
        assert services.packages_expire_unclaimed() == 1
    assert effects(alone) == effects(by_sweep)
    assert effects(alone)["status"] == PackageStatus.CANCELLED


@pytest.mark.django_db
def test_single_expiry_refuses_a_package_before_its_deadline(make_package):
    package = make_package(READY)
    assert services.package_expire_no_show(package=package) is False
    package.refresh_from_db()
    assert package.status == READY and not NoShowStrike.objects.exists()


@pytest.mark.django_db
def test_order_status_follows_the_packages_of_the_batch(make_package, store):
    order = OrderFactory(store=store)
    expiring = make_package(READY, order=order)
    delivered = make_package(PackageStatus.DELIVERED, order=order)
    other_order = OrderFactory(store=store)
    expiring_too = make_package(READY, order=other_order)
    still_ready = make_package(READY, order=other_order)
    Package.objects.filter(pk=still_ready.pk).update(ready_expires_at=timezone.now() + HOLD * 2)

    with after_deadline(expiring_too):
        assert services.packages_expire_unclaimed() == 2

    order.refresh_from_db()
    other_order.refresh_from_db()
    assert order.status == OrderStatus.PICKED_UP
    assert other_order.status == OrderStatus.READY
    assert {expiring.pk, expiring_too.pk} == set(NoShowStrike.objects.values_list("package_id", flat=True))
    assert delivered.pk not in set(NoShowStrike.objects.values_list("package_id", flat=True))


@pytest.mark.django_db
def test_the_code_is_refused_once_the_package_expired(make_package, employee, issued_code):
    package = make_package(READY)
    code = issued_code(package)
    with after_deadline(package):
        services.packages_expire_unclaimed()
        with pytest.raises(ApplicationError) as refused:
            services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)
    assert refused.value.code == "invalid_state"
    package.refresh_from_db()
    assert package.status == PackageStatus.CANCELLED and package.delivered_at is None


@pytest.mark.django_db
def test_one_customer_with_several_packages_in_one_batch(make_package):
    customer = CustomerFactory()
    packages = [make_package(READY, order__customer=customer) for _ in range(3)]
    with after_deadline(packages[-1]):
        assert services.packages_expire_unclaimed() == 3
    customer.refresh_from_db()
    assert NoShowStrike.objects.filter(customer=customer).count() == 3
    assert customer.trust_tier == TrustTier.RESTRICTED


@pytest.mark.django_db
def test_one_reminder_per_package_24_hours_before_the_deadline(make_package):
    package = make_package(READY)
    deadline = package.ready_expires_at
    with time_machine.travel(deadline - timedelta(hours=24, seconds=1), tick=False):
        assert services.packages_send_reminders() == 0
    with time_machine.travel(deadline - timedelta(hours=24), tick=False):
        assert services.packages_send_reminders() == 1
        assert services.packages_send_reminders() == 0
    with time_machine.travel(deadline - timedelta(hours=1), tick=False):
        assert services.packages_send_reminders() == 0
    assert sorted(reminders(package).values_list("channel", flat=True)) == ["email", "push", "sms"]
    package.refresh_from_db()
    assert package.reminder_sent_at == deadline - timedelta(hours=24)
    body = reminders(package).get(channel="sms").body
    assert package.order.order_number in body


@pytest.mark.django_db
def test_no_reminder_for_delivered_cancelled_or_expired_packages(make_package, manager):
    delivered = make_package(PackageStatus.DELIVERED)
    cancelled = make_package(READY)
    services.package_cancel(package=cancelled, actor=manager, channel="web", reason="out of stock")
    expired = make_package(READY)
    with time_machine.travel(expired.ready_expires_at + timedelta(minutes=1), tick=False):
        assert services.packages_send_reminders() == 0
    assert not reminders().exists()
    assert {delivered.pk, cancelled.pk, expired.pk} == set(Package.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_reminder_hours_per_store_and_zero_means_none(make_package, store, other_store):
    here = make_package(READY)
    there = make_package(READY, at_store=other_store)
    app_setting_set(key="PICKUP_REMINDER_HOURS", value=0, store=store)
    app_setting_set(key="PICKUP_REMINDER_HOURS", value=48, store=other_store)
    with time_machine.travel(there.ready_expires_at - timedelta(hours=48), tick=False):
        assert services.packages_send_reminders() == 1
    with time_machine.travel(here.ready_expires_at - timedelta(minutes=1), tick=False):
        assert services.packages_send_reminders() == 0
    assert set(reminders().values_list("package_id", flat=True)) == {there.pk}


@pytest.mark.django_db
def test_no_reminder_when_the_window_is_as_long_as_the_hold(make_package):
    """A hold of 24 hours with a reminder 24 hours before expiry would remind at once: none is sent."""
    app_setting_set(key="PICKUP_HOLD_HOURS", value=24)
    package = make_package(READY)
    with time_machine.travel(package.ready_expires_at - timedelta(hours=1), tick=False):
        assert services.packages_send_reminders() == 0
    assert not reminders().exists()


# --- sending after commit -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_commit_one_fan_out_task_sends_every_message_of_the_batch(
    make_package, outbox_dir, django_capture_on_commit_callbacks
):
    # Nothing listens on port 9: each delivery is tried at once and fails fast, without the network.
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks", secret="whsec_dGVzdA==")
    packages = [make_package(READY) for _ in range(3)]
    with after_deadline(packages[-1]), django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.packages_expire_unclaimed(batch_size=10) == 3
    # One callback for the whole batch, however many rows it wrote.
    assert len(callbacks) == 1
    sent = Message.objects.filter(event="cancelled_no_show")
    assert sent.count() == 9 and set(sent.values_list("status", flat=True)) == {"sent"}
    files = sorted(outbox_dir.glob("sms/*.json"))
    texts = [path.read_text() for path in files]
    for package in packages:
        assert any(package.order.order_number in text and "cancelled_no_show" in text for text in texts)
    deliveries = WebhookDelivery.objects.filter(event_type="PackageCancelledEvent")
    assert deliveries.count() == 3 and not deliveries.filter(status="pending", attempts=0).exists()


@pytest.mark.django_db
def test_reminders_are_sent_after_commit(make_package, outbox_dir, django_capture_on_commit_callbacks):
    package = make_package(READY)
    with (
        time_machine.travel(package.ready_expires_at - timedelta(hours=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.packages_send_reminders() == 1
    assert set(reminders(package).values_list("status", flat=True)) == {"sent"}
    assert any("pickup_reminder" in path.read_text() for path in outbox_dir.glob("email/*.json"))
