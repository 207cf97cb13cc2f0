"""A delivery queues its outbox rows with one publish after commit (docs/architecture.md): one
``orders.outbox_fan_out`` for several rows, the row's own send task for a single row, and nothing lost
when the broker refuses (the rows stay pending for the relay)."""

import pytest
from kombu.exceptions import OperationalError

from notifications import tasks as notification_tasks
from notifications.models import DeliveryStatus, Message, WebhookDelivery, WebhookEndpoint
from orders import services
from orders import tasks as order_tasks
from orders.models import PackageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """Record what is published (nothing runs): fan-outs, message sends and webhook sends."""
    calls = {"fan_out": [], "message": [], "webhook": []}
    monkeypatch.setattr(order_tasks.outbox_fan_out, "delay", lambda m, d: calls["fan_out"].append((m, d)))
    monkeypatch.setattr(notification_tasks.message_send, "delay", lambda pk: calls["message"].append(pk))
    monkeypatch.setattr(notification_tasks.webhook_deliver, "delay", lambda pk: calls["webhook"].append(pk))
    return calls


def _deliver(package, employee, code, capture):
    with capture(execute=True):
        services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)


def test_a_delivery_publishes_one_fan_out_with_all_its_rows(
    make_package, employee, issued_code, published, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(url="https://hooks.example.com/w", secret="whsec_c2VjcmV0")
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    rows_before = set(WebhookDelivery.objects.values_list("pk", flat=True))
    for calls in published.values():
        calls.clear()

    _deliver(package, employee, issued_code(package), django_capture_on_commit_callbacks)

    messages = Message.objects.filter(package=package, event="picked_up").values_list("pk", flat=True)
    deliveries = set(WebhookDelivery.objects.values_list("pk", flat=True)) - rows_before
    assert len(messages) == 3 and len(deliveries) == 2  # status changed + delivered, one endpoint
    assert len(published["fan_out"]) == 1  # one publish for the whole delivery
    message_ids, delivery_ids = published["fan_out"][0]
    assert sorted(message_ids) == sorted(str(pk) for pk in messages)
    assert sorted(delivery_ids) == sorted(str(pk) for pk in deliveries)
    assert published["message"] == [] and published["webhook"] == []  # the per-row sends are the worker's job


def test_a_single_row_gets_its_own_send_task(
    make_package, employee, issued_code, published, django_capture_on_commit_callbacks
):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    customer = package.order.customer
    customer.email, customer.push_token = "", ""  # reachable by SMS only: one picked-up message
    customer.save()
    for calls in published.values():
        calls.clear()

    _deliver(package, employee, issued_code(package), django_capture_on_commit_callbacks)

    (message,) = Message.objects.filter(package=package, event="picked_up")
    assert published["message"] == [str(message.pk)]
    assert published["fan_out"] == []


def test_a_refused_publish_leaves_the_rows_pending_for_the_relay(
    make_package, employee, issued_code, monkeypatch, django_capture_on_commit_callbacks
):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(order_tasks.outbox_fan_out, "delay", refuse)
    _deliver(package, employee, issued_code(package), django_capture_on_commit_callbacks)

    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED  # the delivery stands
    statuses = Message.objects.filter(package=package, event="picked_up").values_list("status", flat=True)
    assert sorted(statuses) == [DeliveryStatus.PENDING] * 3
