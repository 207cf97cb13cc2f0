"""Webhook events (SPEC 8): Standard Webhooks signatures checked by an independent implementation,
every try recorded, the same webhook-id on retries, the code only in the Whisperer event's bytes."""

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from notifications import sending, tasks
from notifications.models import (
    CODE_MASK,
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
)
from orders import services
from orders.models import PackageStatus

SECRET = "whsec_" + base64.b64encode(b"a-secret-of-thirty-two-bytes-ok!").decode()


@pytest.fixture
def endpoint(receiver, db):
    def make(statuses=(200,), event_types=(), secret=SECRET):
        server = receiver(statuses=statuses)
        row = WebhookEndpoint.objects.create(url=server.url, secret=secret, event_types=list(event_types))
        return row, server

    return make


@pytest.fixture
def ready(make_package, employee, django_capture_on_commit_callbacks):
    def make():
        package = make_package(PackageStatus.PACKED_ALL_ITEMS)
        with django_capture_on_commit_callbacks(execute=True):
            services.package_mark_ready(package=package, actor=employee, channel="web")
        package.refresh_from_db()
        return package

    return make


def test_events_are_signed_verifiably_and_only_the_whisperer_carries_the_code(
    endpoint, ready, issued_code, leak_watch, outbox_dir
):
    _row, server = endpoint()
    package = ready()
    code = issued_code(package)

    verifier = Webhook(SECRET)
    received = {}
    for request in server.requests:
        payload = verifier.verify(request.body, request.headers)
        received[payload["type"]] = (payload, request)
    assert set(received) == {"PackageStatusChangedEvent", "PackageReadyForCustomerPickupWhispererEvent"}

    whisperer, request = received["PackageReadyForCustomerPickupWhispererEvent"]
    assert whisperer["data"]["otp"] == code
    assert whisperer["data"]["packageId"] == str(package.pk)
    assert whisperer["data"]["customer"]["phone"] == package.order.customer.phone
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=*", request.headers["webhook-signature"])
    status_changed, _request = received["PackageStatusChangedEvent"]
    assert code not in _request.body.decode()
    assert status_changed["data"]["previousStatus"] == "packed_all_items"

    delivery = WebhookDelivery.objects.get(event_type=WebhookEventType.PACKAGE_READY_WHISPERER)
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert delivery.status == DeliveryStatus.SENT and delivery.delivered_at and delivery.attempts == 1
    assert delivery.last_response_status == 200
    assert delivery.secret_encrypted is None
    assert delivery.payload["data"]["otp"] == CODE_MASK
    assert delivery.attempt_log.count() == 1
    leak_watch.assert_clean(code)


def test_a_tampered_body_or_a_wrong_secret_fails_verification(endpoint, ready):
    _row, server = endpoint(event_types=[WebhookEventType.PACKAGE_READY_WHISPERER])
    ready()
    (request,) = server.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b'"otp":"', b'"otp":"9'), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another-secret").decode()).verify(request.body, request.headers)


def test_failing_twice_then_succeeding_keeps_the_webhook_id(endpoint, ready, issued_code, leak_watch):
    _row, server = endpoint(statuses=[500, 503, 204], event_types=[WebhookEventType.PACKAGE_READY_WHISPERER])
    package = ready()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 3
    assert list(delivery.attempt_log.values_list("response_status", flat=True)) == [500, 503, 204]
    assert [a.error for a in delivery.attempt_log.all()] == [
        "endpoint answered HTTP 500",
        "endpoint answered HTTP 503",
        "",
    ]
    assert len(server.requests) == 3
    assert {r.headers["webhook-id"] for r in server.requests} == {delivery.webhook_id}
    verifier = Webhook(SECRET)
    for request in server.requests:  # every try signed on its own, every one valid
        assert verifier.verify(request.body, request.headers)["data"]["otp"] == issued_code(package)
    assert delivery.secret_encrypted is None
    leak_watch.assert_clean(issued_code(package))


def test_an_endpoint_that_always_fails_ends_failed_after_five_tries(endpoint, ready, issued_code, leak_watch):
    _row, server = endpoint(statuses=[502], event_types=[WebhookEventType.PACKAGE_READY_WHISPERER])
    package = ready()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 5 and delivery.attempt_log.count() == 5
    assert delivery.last_response_status == 502
    assert delivery.secret_encrypted is None and delivery.delivered_at is None
    assert len({r.headers["webhook-id"] for r in server.requests}) == 1
    # Its code is gone: admin's retry refuses; a status event without code can be retried.
    assert sending.webhook_delivery_retry(delivery=delivery) is False
    leak_watch.assert_clean(issued_code(package))


def test_retry_of_a_failed_event_without_code_delivers_with_the_same_id(endpoint, make_package, employee):
    _row, server = endpoint(statuses=[500, 500, 500, 500, 500, 200], event_types=["PackageStatusChangedEvent"])
    package = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=package, actor=employee, channel="web")
    delivery = WebhookDelivery.objects.get()
    for _ in range(5):
        sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED

    assert sending.webhook_delivery_retry(delivery=delivery) is True
    sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempt_log.count() == 6
    assert {r.headers["webhook-id"] for r in server.requests} == {delivery.webhook_id}


def test_an_endpoint_deactivated_before_sending_gets_nothing(endpoint, make_package, employee):
    row, server = endpoint(event_types=["PackageStatusChangedEvent"])
    package = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=package, actor=employee, channel="web")
    WebhookEndpoint.objects.filter(pk=row.pk).update(is_active=False)
    delivery = WebhookDelivery.objects.get()
    sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "the endpoint is not active"
    assert server.requests == []


def test_signature_matches_the_reference_implementation():
    from datetime import UTC, datetime

    body = b'{"type":"PackageDeliveredEvent","data":{"packageId":"p"}}'
    ours = sending.webhook_signature(secret=SECRET, webhook_id="msg_1", timestamp=1_700_000_000, body=body)
    theirs = Webhook(SECRET).sign("msg_1", datetime.fromtimestamp(1_700_000_000, tz=UTC), body.decode())
    assert ours == theirs
    unpadded = SECRET.rstrip("=")
    assert sending.webhook_signature(secret=unpadded, webhook_id="msg_1", timestamp=1_700_000_000, body=body) == ours


@pytest.mark.parametrize("secret", ["whsec_not*base64", "whsec_", ""])
def test_a_malformed_secret_is_a_permanent_error(secret):
    with pytest.raises(sending.PermanentSendError):
        sending.webhook_secret_bytes(secret)


def test_the_relay_delivers_a_pending_webhook_left_behind(endpoint, make_package, employee, settings):
    from datetime import timedelta

    from django.utils import timezone

    _row, server = endpoint(event_types=["PackageStatusChangedEvent"])
    package = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=package, actor=employee, channel="web")  # not committed: pending
    delivery = WebhookDelivery.objects.get()
    assert sending.outbox_relay().webhooks == 0  # too young to be late
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert sending.outbox_relay().webhooks == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and len(server.requests) == 1
    assert Webhook(SECRET).verify(server.requests[0].body, server.requests[0].headers)["data"]["status"] == (
        "packed_all_items"
    )


def _whisperer_deliveries():
    return WebhookDelivery.objects.filter(event_type=WebhookEventType.PACKAGE_READY_WHISPERER).order_by("created_at")


@pytest.mark.parametrize("end", ["deliver", "cancel"])
def test_a_late_whisperer_event_is_not_sent_once_its_code_is_used_or_invalidated(
    end, endpoint, make_package, employee, manager, issued_code
):
    _row, server = endpoint(statuses=[503, 200], event_types=[WebhookEventType.PACKAGE_READY_WHISPERER])
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    code = issued_code(package)
    (delivery,) = _whisperer_deliveries()
    assert sending.webhook_deliver_attempt(delivery_id=delivery.pk).status == DeliveryStatus.PENDING  # endpoint down
    assert len(server.requests) == 1
    if end == "deliver":
        services.package_deliver(package=package, actor=employee, channel="web", otp_value=code)
    else:
        services.package_cancel(package=package, actor=manager, channel="web", reason="customer asked")

    tasks.webhook_deliver.apply(args=[str(delivery.pk)])  # the retry, after the endpoint came back

    delivery.refresh_from_db()
    # Deliberately not sent: skipped, not failed (SPEC 8), with the reason, and not retried.
    assert delivery.status == WebhookDeliveryStatus.SKIPPED and delivery.delivered_at is None
    assert delivery.last_error == sending.CODE_NOT_CURRENT
    assert delivery.secret_encrypted is None and delivery.payload["data"]["otp"] == CODE_MASK
    assert len(server.requests) == 1  # no second request: the dead code never left
    assert [a.error for a in delivery.attempt_log.order_by("attempted_at")] == [
        "endpoint answered HTTP 503",
        sending.CODE_NOT_CURRENT,
    ]
    assert sending.webhook_delivery_retry(delivery=delivery) is False  # skipped, its code gone: admin cannot revive it
    assert tasks.webhook_deliver.apply(args=[str(delivery.pk)]).result is None  # a task run twice changes nothing
    assert sending.outbox_relay(after_seconds=0, inline=True).webhooks == 0  # nor does the relay
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SKIPPED and delivery.attempts == 2
    assert len(server.requests) == 1


def test_after_a_resend_only_the_new_codes_whisperer_event_goes_out(endpoint, make_package, employee, issued_code):
    _row, server = endpoint(event_types=[WebhookEventType.PACKAGE_READY_WHISPERER])
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    old_code = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    new_code = issued_code(package)
    assert new_code != old_code
    old, new = _whisperer_deliveries()

    assert sending.webhook_deliver_attempt(delivery_id=old.pk).status == WebhookDeliveryStatus.SKIPPED
    assert sending.webhook_deliver_attempt(delivery_id=new.pk).status == DeliveryStatus.SENT
    old.refresh_from_db()
    assert old.last_error == sending.CODE_NOT_CURRENT and old.secret_encrypted is None
    (request,) = server.requests
    assert request.headers["webhook-id"] == new.webhook_id
    assert Webhook(SECRET).verify(request.body, request.headers)["data"]["otp"] == new_code


def test_every_event_says_the_state_it_came_from_and_writes_times_as_the_api_does(
    endpoint, ready, make_package, manager, employee
):
    endpoint()
    delivered = ready()
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        services.package_resend_code(package=delivered, actor=employee, channel="api")
        services.package_deliver(package=delivered, actor=employee, channel="api", manual=True)
    cancelled = make_package(PackageStatus.WAITING)
    services.package_cancel(package=cancelled, actor=manager, channel="api", reason="customer called")
    expired = ready()
    with time_machine.travel(expired.ready_expires_at + timedelta(seconds=1)):
        assert services.packages_expire_unclaimed() == 1

    def events(package):
        rows = WebhookDelivery.objects.filter(payload__data__packageId=str(package.pk)).order_by("created_at", "pk")
        return [(row.event_type, row.payload["data"]["previousStatus"], row.payload["data"]["status"]) for row in rows]

    ready_, packed, waiting = "ready_for_customer_pickup", "packed_all_items", "waiting"
    assert events(delivered) == [
        ("PackageStatusChangedEvent", waiting, packed),
        ("PackageStatusChangedEvent", packed, ready_),
        ("PackageReadyForCustomerPickupWhispererEvent", packed, ready_),
        ("PackageReadyForCustomerPickupWhispererEvent", ready_, ready_),  # the resent code: no change of state
        ("PackageStatusChangedEvent", ready_, "delivered"),
        ("PackageDeliveredEvent", ready_, "delivered"),
    ]
    assert events(cancelled) == [
        ("PackageStatusChangedEvent", waiting, "cancelled"),
        ("PackageCancelledEvent", waiting, "cancelled"),
    ]
    assert events(expired)[-2:] == [
        ("PackageStatusChangedEvent", ready_, "cancelled"),
        ("PackageCancelledEvent", ready_, "cancelled"),
    ]
    iso_utc = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
    for row in WebhookDelivery.objects.all():
        data = row.payload["data"]
        times = [row.payload["timestamp"], data["readyAt"], data["deliveredAt"], data["cancelledAt"]]
        assert all(iso_utc.fullmatch(value) for value in times if value is not None), times
