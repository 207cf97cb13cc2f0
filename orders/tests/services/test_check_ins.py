"""The customer's check-ins (SPEC 13): once per package per kind, only while ready, audited, sent to webhooks, and
read back for the top of the staff list."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone, translation

from core.errors import ApplicationError
from core.services import app_setting_set
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEventType
from orders import selectors, services
from orders.models import AuditKind, AuditRecord, Channel, PackageStatus


@pytest.fixture
def hook(db):
    return WebhookEndpoint.objects.create(
        url="https://hooks.example.com/cc",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        event_types=[WebhookEventType.PACKAGE_CUSTOMER_CHECKED_IN],
    )


def check_ins_of(package):
    return list(AuditRecord.objects.filter(package=package, kind=AuditKind.CHECK_IN).order_by("created_at", "id"))


def test_im_here_is_recorded_once_audited_and_sent_to_the_webhooks(make_package, hook):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    outcome = services.package_check_in(package_id=package.pk, kind="arrived")
    assert outcome.recorded and outcome.package.checked_in_at is not None
    again = services.package_check_in(package_id=package.pk, kind="arrived")
    assert not again.recorded and again.package.checked_in_at == outcome.package.checked_in_at

    (record,) = check_ins_of(package)
    assert (record.channel, record.actor_id, record.reason, record.outcome) == (
        Channel.CUSTOMER,
        None,
        "arrived",
        "success",
    )
    with translation.override("en"):
        assert record.actor_display == "customer"
    (delivery,) = WebhookDelivery.objects.filter(event_type=WebhookEventType.PACKAGE_CUSTOMER_CHECKED_IN)
    data = delivery.payload["data"]
    assert delivery.payload["type"] == "PackageCustomerCheckedInEvent" and data["packageId"] == str(package.pk)
    assert data["checkIn"]["kind"] == "arrived" and data["checkIn"]["minutes"] is None
    assert data["checkIn"]["by"] == "customer" and data["status"] == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert "otp" not in data and delivery.secret_encrypted is None


def test_on_my_way_is_a_kind_of_its_own_with_its_minutes(make_package, hook):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    services.package_check_in(package_id=package.pk, kind="on_my_way", minutes="15", holder="pickup_person")
    assert not services.package_check_in(package_id=package.pk, kind="on_my_way", minutes=5).recorded
    services.package_check_in(package_id=package.pk, kind="arrived")
    package.refresh_from_db()
    assert package.on_my_way_minutes == 15 and package.checked_in_at and package.on_my_way_at
    assert [r.reason for r in check_ins_of(package)] == ["on_my_way:15 (pickup_person)", "arrived"]
    assert WebhookDelivery.objects.filter(event_type=WebhookEventType.PACKAGE_CUSTOMER_CHECKED_IN).count() == 2


@pytest.mark.parametrize("status", [PackageStatus.DELIVERED, PackageStatus.CANCELLED, PackageStatus.PACKED_ALL_ITEMS])
def test_a_check_in_is_refused_once_the_package_is_no_longer_ready(make_package, status, hook):
    package = make_package(status)
    with pytest.raises(ApplicationError) as refused:
        services.package_check_in(package_id=package.pk, kind="arrived")
    assert refused.value.code == "invalid_state"
    package.refresh_from_db()
    assert package.checked_in_at is None and check_ins_of(package) == []
    assert not WebhookDelivery.objects.filter(event_type=WebhookEventType.PACKAGE_CUSTOMER_CHECKED_IN).exists()


@pytest.mark.parametrize(
    ("kind", "minutes"),
    [
        ("leaving", None),
        (None, None),
        ("on_my_way", None),
        ("on_my_way", 0),
        ("on_my_way", 121),
        ("on_my_way", "١٥"),
        ("on_my_way", "15.0"),
        ("on_my_way", True),
        ("on_my_way", "9999999999999"),
    ],
)
def test_a_check_in_of_another_kind_or_time_is_a_validation_error(make_package, kind, minutes):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with pytest.raises(ApplicationError) as refused:
        services.package_check_in(package_id=package.pk, kind=kind, minutes=minutes)
    assert refused.value.code == "validation_error"
    assert check_ins_of(package) == []


def test_the_staff_list_puts_waiting_customers_first_longest_waiting_first(make_package, store, other_store):
    start = timezone.now()
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    coming = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)  # no check-in
    elsewhere = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    with time_machine.travel(start, tick=False):
        services.package_check_in(package_id=coming.pk, kind="on_my_way", minutes=10)
        services.package_check_in(package_id=first.pk, kind="arrived")
        services.package_check_in(package_id=elsewhere.pk, kind="arrived")
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        services.package_check_in(package_id=second.pk, kind="arrived")
    now = start + timedelta(minutes=5, seconds=30)
    check_ins = selectors.store_check_ins(store=store, now=now)
    assert [c.package.pk for c in check_ins] == [first.pk, second.pk, coming.pk]
    assert [(c.kind, c.waiting_minutes, c.overdue) for c in check_ins] == [
        ("arrived", 5, True),  # CHECKIN_ALERT_MINUTES 5 by default
        ("arrived", 3, False),
        ("on_my_way", 0, False),
    ]
    with translation.override("en"):
        assert [c.label for c in check_ins] == [
            "Customer waiting, 5 min · overdue",
            "Customer waiting, 3 min",
            "Customer on the way, about 10 min",
        ]
    with translation.override("tr"):
        assert check_ins[1].label == "Müşteri bekliyor, 3 dk"

    app_setting_set(key="CHECKIN_ALERT_MINUTES", value=10, store=store)
    assert [c.overdue for c in selectors.store_check_ins(store=store, now=now)] == [False, False, False]

    services.package_deliver(package=first, actor=None, channel="system", manual=True)
    assert [c.package.pk for c in selectors.store_check_ins(store=store, now=now)] == [second.pk, coming.pk]
