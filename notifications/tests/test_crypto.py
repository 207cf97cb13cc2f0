"""Sending while keys are rotated (docs/operations.md): web processes and workers may hold different keys."""

import base64
import json
import re
from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import sending, tasks
from notifications.models import (
    DeliveryStatus,
    Message,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
)
from orders import services
from orders.models import PackageStatus

CODE_RE = re.compile(r"\b[0-9]{6}\b")
SECRET = "whsec_" + base64.b64encode(b"a-secret-of-thirty-two-bytes-ok!").decode()
WEB_HASH_KEY = "the-new-otp-hash-key-on-the-web-processes"
WORKER_HASH_KEY = "the-old-otp-hash-key-still-on-the-workers"


@pytest.fixture
def whisperer(receiver, db):
    server = receiver(statuses=[200])
    WebhookEndpoint.objects.create(
        url=server.url, secret=SECRET, event_types=[WebhookEventType.PACKAGE_READY_WHISPERER]
    )
    return server


def _sms_documents(outbox_dir):
    return [json.loads(path.read_text()) for path in sorted((outbox_dir / "sms").glob("*.json"))]


def _whisperer_deliveries():
    return WebhookDelivery.objects.filter(event_type=WebhookEventType.PACKAGE_READY_WHISPERER).order_by("created_at")


# --- OTP_HASH_KEY: the worker checks the code by the PickupCode row, not by its hash -------------------------------


def test_a_code_written_under_one_hash_key_is_sent_by_a_worker_holding_another(
    settings, make_package, employee, outbox_dir, whisperer
):
    settings.OTP_HASH_KEY = WEB_HASH_KEY
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    sms = Message.objects.get(channel="sms")
    (delivery,) = _whisperer_deliveries()
    assert sms.pickup_code_id is not None and delivery.pickup_code_id == sms.pickup_code_id

    with override_settings(OTP_HASH_KEY=WORKER_HASH_KEY):
        assert sending.message_send_attempt(message_id=sms.pk).status == DeliveryStatus.SENT
        assert sending.webhook_deliver_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SENT

    (document,) = _sms_documents(outbox_dir)
    (code,) = CODE_RE.findall(document["body"])
    (request,) = whisperer.requests
    assert Webhook(SECRET).verify(request.body, request.headers)["data"]["otp"] == code
    # The code the customer got opens the package at a counter holding the key it was issued under.
    outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)
    assert outcome.package.status == PackageStatus.DELIVERED


def test_a_replaced_codes_message_is_still_refused_by_a_worker_holding_another_hash_key(
    settings, make_package, employee, outbox_dir, whisperer
):
    settings.OTP_HASH_KEY = WEB_HASH_KEY
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    old = Message.objects.get(channel="sms", event="ready_for_pickup")
    new = Message.objects.get(channel="sms", event="code_resent")
    old_delivery, new_delivery = _whisperer_deliveries()

    with override_settings(OTP_HASH_KEY=WORKER_HASH_KEY):
        assert sending.message_send_attempt(message_id=old.pk).status == DeliveryStatus.FAILED
        assert sending.webhook_deliver_attempt(delivery_id=old_delivery.pk).status == WebhookDeliveryStatus.SKIPPED
        assert sending.message_send_attempt(message_id=new.pk).status == DeliveryStatus.SENT
        assert sending.webhook_deliver_attempt(delivery_id=new_delivery.pk).status == DeliveryStatus.SENT

    for row in (old, old_delivery):
        row.refresh_from_db()
        assert row.last_error == sending.CODE_NOT_CURRENT and row.secret_encrypted is None
    assert [d["event"] for d in _sms_documents(outbox_dir)] == ["code_resent"]
    (request,) = whisperer.requests
    assert request.headers["webhook-id"] == new_delivery.webhook_id


def test_a_row_written_before_the_pickup_code_reference_is_checked_by_hash_as_before(
    make_package, employee, outbox_dir, whisperer
):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    # As the migration leaves the rows written by the previous version.
    Message.objects.update(pickup_code=None)
    WebhookDelivery.objects.update(pickup_code=None)
    old = Message.objects.get(channel="sms", event="ready_for_pickup")
    new = Message.objects.get(channel="sms", event="code_resent")
    old_delivery, new_delivery = _whisperer_deliveries()

    assert sending.message_send_attempt(message_id=old.pk).status == DeliveryStatus.FAILED
    assert sending.webhook_deliver_attempt(delivery_id=old_delivery.pk).status == WebhookDeliveryStatus.SKIPPED
    assert sending.message_send_attempt(message_id=new.pk).status == DeliveryStatus.SENT
    assert sending.webhook_deliver_attempt(delivery_id=new_delivery.pk).status == DeliveryStatus.SENT
    old.refresh_from_db()
    assert old.last_error == sending.CODE_NOT_CURRENT
    assert [d["event"] for d in _sms_documents(outbox_dir)] == ["code_resent"]


def test_a_code_cannot_be_written_to_the_outbox_without_its_pickup_code_row(make_package):
    from notifications.services import MessageDraft, WebhookDraft, messages_write, webhook_deliveries_write

    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    message = MessageDraft(
        event="code_resent",
        package_id=package.pk,
        customer_id=package.order.customer_id,
        store_id=package.store_id,
        language="en",
        recipients={"sms": "+905321234567"},
        context={},
        code="123456",
    )
    with pytest.raises(ValueError, match="PickupCode"):
        messages_write(drafts=[message])
    event = WebhookDraft(
        event_type=WebhookEventType.PACKAGE_READY_WHISPERER, package_id=package.pk, payload={}, code="123456"
    )
    with pytest.raises(ValueError, match="PickupCode"):
        webhook_deliveries_write(drafts=[event])


# --- FIELD_ENCRYPTION_KEYS: a worker that cannot decrypt yet retries, it does not fail the row at once ------------

OLD_FERNET_KEY = Fernet.generate_key().decode()
NEW_FERNET_KEY = Fernet.generate_key().decode()


def test_a_code_encrypted_with_a_key_the_worker_lacks_yet_is_retried_then_sent(
    settings, make_package, employee, outbox_dir, whisperer, issued_code
):
    settings.NOTIFY_RETRY_BACKOFF_SECONDS = 30
    settings.FIELD_ENCRYPTION_KEYS = [NEW_FERNET_KEY, OLD_FERNET_KEY]  # a web process already moved the key first
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    sms = Message.objects.get(channel="sms")
    (delivery,) = _whisperer_deliveries()

    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_FERNET_KEY]):  # a worker not yet redeployed
        message_outcome = sending.message_send_attempt(message_id=sms.pk)
        delivery_outcome = sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    for outcome in (message_outcome, delivery_outcome):
        assert (outcome.status, outcome.attempts) == (DeliveryStatus.PENDING, 1) and outcome.retry_in >= 30
    for row in (sms, delivery):
        row.refresh_from_db()
        assert row.status == DeliveryStatus.PENDING and row.secret_encrypted is not None  # the code is kept
        assert row.last_error.startswith("the code cannot be decrypted")
    assert not whisperer.requests and not (outbox_dir / "sms").exists()

    # The retry runs on a worker that has the key.
    assert sending.message_send_attempt(message_id=sms.pk).status == DeliveryStatus.SENT
    assert sending.webhook_deliver_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    code = issued_code(package)
    (document,) = _sms_documents(outbox_dir)
    assert CODE_RE.findall(document["body"]) == [code]
    (request,) = whisperer.requests
    assert Webhook(SECRET).verify(request.body, request.headers)["data"]["otp"] == code


def test_a_code_no_key_opens_fails_after_the_last_try_and_only_then_is_wiped(
    settings, make_package, employee, whisperer
):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_FERNET_KEY]
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    sms = Message.objects.get(channel="sms")
    (delivery,) = _whisperer_deliveries()

    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_FERNET_KEY]):
        tasks.message_send.apply(args=[str(sms.pk)])  # eager: the task's retries run at once
        tasks.webhook_deliver.apply(args=[str(delivery.pk)])

    for row in (sms, delivery):
        row.refresh_from_db()
        assert (row.status, row.attempts) == (DeliveryStatus.FAILED, settings.NOTIFY_MAX_TRIES)
        assert row.secret_encrypted is None
        assert row.last_error.startswith("the code cannot be decrypted")
    assert delivery.attempt_log.count() == settings.NOTIFY_MAX_TRIES and not whisperer.requests
    assert sending.message_retry(message=sms) is False  # the code is gone: a new one must be sent
