"""Customer messages from the outbox to the customer (SPEC 7): channels, tries, backoff, relay, retry."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.utils import timezone, translation

from core.testing import sms_parts
from core.text import iso_utc
from notifications import sending, tasks
from notifications.models import CODE_MASK, DeliveryStatus, Message
from notifications.rendering import message_render
from orders import services
from orders.models import PackageStatus
from otp import passes

CODE_RE = re.compile(r"\b[0-9]{6}\b")


@pytest.fixture
def ready(make_package, employee, django_capture_on_commit_callbacks):
    """ready(**kwargs) -> a package marked ready through the real command, its messages queued on commit."""

    def make(**kwargs):
        package = make_package(PackageStatus.PACKED_ALL_ITEMS, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            services.package_mark_ready(package=package, actor=employee, channel="web")
        package.refresh_from_db()
        return package

    return make


def outbox_files(outbox_dir, channel):
    return sorted((outbox_dir / channel).glob("*.json"))


def test_ready_message_reaches_every_channel_with_a_code_that_verifies(
    ready, outbox_dir, issued_code, employee, leak_watch
):
    package = ready()
    code = issued_code(package)

    documents = {}
    for channel in ("sms", "email", "push"):
        files = outbox_files(outbox_dir, channel)
        assert len(files) == 1, channel
        documents[channel] = json.loads(files[0].read_text())
    sms = documents["sms"]
    assert set(sms) == {"channel", "to", "event", "subject", "body", "packageId", "createdAt"}
    assert sms["channel"] == "sms" and sms["event"] == "ready_for_pickup"
    assert sms["to"] == package.order.customer.phone
    assert sms["packageId"] == str(package.pk)
    # UTC with "Z", as the API and the webhooks write times (it was "+00:00").
    assert sms["createdAt"] == iso_utc(Message.objects.get(package=package, channel="sms").created_at)
    assert sms["createdAt"].endswith("Z")
    assert documents["email"]["subject"] and documents["email"]["to"] == package.order.customer.email
    assert CODE_RE.findall(sms["body"]) == [code]

    # The stored rows: sent, code masked, secret wiped.
    for message in Message.objects.filter(package=package):
        assert message.status == DeliveryStatus.SENT and message.attempts == 1 and message.sent_at
        assert message.secret_encrypted is None
        assert code not in message.body and CODE_MASK in message.body

    outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=sms_code(sms))
    assert outcome.package.status == PackageStatus.DELIVERED
    leak_watch.assert_clean(code)


def sms_code(document):
    (code,) = CODE_RE.findall(document["body"])
    return code


def test_turkish_customer_gets_the_turkish_text(ready, outbox_dir, issued_code):
    package = ready(order__customer__language="tr")
    body = json.loads(outbox_files(outbox_dir, "sms")[0].read_text())["body"]
    assert f"Kod {issued_code(package)}, geçerlilik " in body and "hazır, son gün" in body


def test_turkish_email_signs_off_with_the_service_name_the_turkish_pages_use(ready, outbox_dir):
    ready(order__customer__language="tr")
    body = json.loads(outbox_files(outbox_dir, "email")[0].read_text())["body"]
    assert body.endswith("\nTıkla & Gel Al") and "Click & Collect" not in body


EMAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "notifications"


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("event", sorted(p.name.split(".")[0] for p in (EMAIL_TEMPLATES / "en").glob("*.email.txt")))
def test_every_email_signs_off_with_the_service_name_in_its_language(event, language):
    with translation.override(language):
        service_name = str(apps.get_app_config("orders").verbose_name)  # what the pages call the service
    _, body = message_render(
        event=event,
        channel="email",
        language=language,
        context={"customer_name": "Ayşe", "order_number": "ORD1", "store_name": "Kanyon", "deadline": "1 Ocak"},
        code=None,
    )
    assert body.splitlines()[-1] == service_name
    assert service_name == {"en": "Click & Collect", "tr": "Tıkla & Gel Al"}[language]


def test_without_otp_the_ready_message_carries_no_code(ready, outbox_dir):
    from core.services import app_setting_set

    app_setting_set(key="IS_OTP_ENABLED", value=False, store=None)
    ready()
    body = json.loads(outbox_files(outbox_dir, "sms")[0].read_text())["body"]
    assert not CODE_RE.search(body)
    assert Message.objects.get(channel="sms").status == DeliveryStatus.SENT


def test_a_message_is_sent_once_even_if_its_task_runs_twice(ready, outbox_dir):
    ready()
    message = Message.objects.get(channel="sms")
    assert message.status == DeliveryStatus.SENT
    tasks.message_send.delay(str(message.pk))
    tasks.message_send.apply(args=[str(message.pk)])
    assert len(outbox_files(outbox_dir, "sms")) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_unknown_message_id_is_a_no_op(db):
    assert sending.message_send_attempt(message_id="7c1f0c52-3a4c-4a7b-9d2e-000000000000") is None


def test_console_backend_prints_the_masked_text(settings, ready, capsys, issued_code):
    settings.NOTIFY_SMS_BACKEND = "console"
    package = ready()
    out = capsys.readouterr().out
    assert "[sms] to " + package.order.customer.phone in out
    assert CODE_MASK in out and issued_code(package) not in out
    assert Message.objects.get(channel="sms").status == DeliveryStatus.SENT


def test_smtp_backend_sends_the_real_text_through_django(settings, ready, issued_code):
    settings.NOTIFY_EMAIL_BACKEND = "smtp"
    package = ready()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [package.order.customer.email]
    assert issued_code(package) in email.body
    assert package.order.order_number in email.subject
    message = Message.objects.get(channel="email")
    assert message.status == DeliveryStatus.SENT
    assert email.extra_headers["Message-ID"] == message.provider_message_id == f"<{message.pk}@clickcollect>"


@pytest.fixture
def http_sms(settings, receiver):
    def configure(statuses, answer=None):
        provider = receiver(statuses=statuses, answer=answer)
        settings.NOTIFY_SMS_BACKEND = "http"
        settings.NOTIFY_SMS_URL = provider.url
        settings.NOTIFY_SMS_TOKEN = "sms-token-1"
        settings.NOTIFY_HTTP_TIMEOUT = 2
        return provider

    return configure


def test_http_provider_failing_twice_then_succeeding(http_sms, ready, issued_code, leak_watch):
    provider = http_sms([503, 500, 200], answer={"id": "prov-42"})
    package = ready()
    code = issued_code(package)

    message = Message.objects.get(channel="sms")
    assert message.status == DeliveryStatus.SENT
    assert message.attempts == 3
    assert message.provider_message_id == "prov-42"
    assert message.secret_encrypted is None and message.last_error == ""
    assert len(provider.requests) == 3
    assert {r.headers["idempotency-key"] for r in provider.requests} == {str(message.pk)}
    assert {r.headers["authorization"] for r in provider.requests} == {"Bearer sms-token-1"}
    accepted = provider.requests[-1].json()
    assert accepted["to"] == package.order.customer.phone
    assert accepted["id"] == str(message.pk)
    assert CODE_RE.findall(accepted["body"]) == [code]
    leak_watch.assert_clean(code)


def test_http_provider_always_failing_ends_failed_after_five_tries(http_sms, ready, issued_code, leak_watch):
    provider = http_sms([503])
    package = ready()
    message = Message.objects.get(channel="sms")
    assert message.status == DeliveryStatus.FAILED
    assert message.attempts == 5
    assert len(provider.requests) == 5
    assert message.secret_encrypted is None
    assert message.last_error == "provider answered HTTP 503"
    assert message.sent_at is None
    # The other channels went out through their own backends.
    assert Message.objects.filter(status=DeliveryStatus.SENT).count() == 2
    leak_watch.assert_clean(issued_code(package))


def test_a_refusal_is_not_retried(http_sms, ready):
    provider = http_sms([400])
    ready()
    message = Message.objects.get(channel="sms")
    assert (message.status, message.attempts, len(provider.requests)) == (DeliveryStatus.FAILED, 1, 1)
    assert message.secret_encrypted is None


def test_unreachable_provider_is_retried_then_failed(settings, ready):
    settings.NOTIFY_SMS_BACKEND = "http"
    settings.NOTIFY_SMS_URL = "http://127.0.0.1:9/sms"  # discard port: refused
    ready()
    message = Message.objects.get(channel="sms")
    assert (message.status, message.attempts) == (DeliveryStatus.FAILED, 5)
    assert message.last_error.startswith("provider unreachable")


def test_retry_delays_grow_exponentially(settings):
    settings.NOTIFY_RETRY_BACKOFF_SECONDS = 30
    delays = [sending.retry_delay(attempts=n) for n in range(1, 5)]
    for n, delay in enumerate(delays):
        assert 30 * 2**n <= delay <= 30 * 2**n * 1.1


def test_a_failed_try_asks_for_a_later_retry(http_sms, make_package, employee):
    http_sms([503])
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # nothing queued: no commit
    message = Message.objects.get(channel="sms")
    outcome = sending.message_send_attempt(message_id=message.pk)
    assert outcome.status == DeliveryStatus.PENDING and outcome.attempts == 1 and outcome.retry_in >= 30
    message.refresh_from_db()
    assert message.secret_encrypted is not None and message.status == DeliveryStatus.PENDING


# --- relay ---------------------------------------------------------------------------------------------


def test_relay_queues_only_rows_overdue(settings, make_package, employee, outbox_dir):
    settings.NOTIFY_RELAY_AFTER_SECONDS = 180
    settings.NOTIFY_RETRY_BACKOFF_SECONDS = 30
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # rows stay pending
    now = timezone.now()
    sms, email, push = (Message.objects.get(channel=c) for c in ("sms", "email", "push"))
    Message.objects.filter(pk=sms.pk).update(created_at=now - timedelta(seconds=200))  # never tried: overdue
    # Tried twice: its retries had 30 + 60 s by design, so 200 s is not yet overdue ...
    Message.objects.filter(pk=email.pk).update(created_at=now - timedelta(seconds=200), attempts=2)
    Message.objects.filter(pk=push.pk).update(created_at=now - timedelta(seconds=100))  # too young

    result = sending.outbox_relay(now=now)

    assert (result.messages, result.broker_down) == (1, False)
    assert [p.name.endswith(f"{sms.pk}.json") for p in outbox_files(outbox_dir, "sms")] == [True]
    assert not outbox_files(outbox_dir, "email") and not outbox_files(outbox_dir, "push")
    # ... but after 180 + 90 s it is.
    assert sending.outbox_relay(now=now + timedelta(seconds=71)).messages == 1
    assert len(outbox_files(outbox_dir, "email")) == 1


def test_relay_command_inline_sends_without_a_broker(make_package, employee, outbox_dir, settings):
    from django.core.management import call_command

    settings.CELERY_TASK_ALWAYS_EAGER = False
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")
    call_command("outbox_relay", "--older-than", "0", "--inline")
    assert Message.objects.filter(status=DeliveryStatus.SENT).count() == 3
    assert len(outbox_files(outbox_dir, "sms")) == 1


def test_relay_is_registered_for_beat(db):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedules")
    task = PeriodicTask.objects.get(name="notifications-outbox-relay")
    assert task.task == "notifications.outbox_relay" and task.interval.every == 60
    assert "notifications.outbox_relay" in tasks.outbox_relay.app.tasks


# --- admin's retry -------------------------------------------------------------------------------------


def test_retry_of_a_failed_message_without_code_sends_it(http_sms, make_package, manager, settings, outbox_dir):
    http_sms([503])
    package = make_package(PackageStatus.WAITING)
    services.package_cancel(package=package, actor=manager, channel="web", reason="out of stock")
    message = Message.objects.get(channel="sms", event="cancelled")
    for _ in range(5):
        sending.message_send_attempt(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == DeliveryStatus.FAILED

    settings.NOTIFY_SMS_BACKEND = "file"
    assert sending.message_retry(message=message) is True
    sending.message_send_attempt(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (DeliveryStatus.SENT, 1)
    assert len(outbox_files(outbox_dir, "sms")) == 1
    assert sending.message_retry(message=message) is False  # not failed any more


def test_retry_refuses_a_message_whose_code_was_wiped(http_sms, ready):
    http_sms([503])
    ready()
    message = Message.objects.get(channel="sms")
    assert message.status == DeliveryStatus.FAILED and message.secret_encrypted is None
    assert sending.message_retry(message=message) is False
    message.refresh_from_db()
    assert message.status == DeliveryStatus.FAILED


def test_the_leak_watch_itself_catches_a_code_in_a_log_record_or_a_task_argument(leak_watch, db):
    import logging

    tasks.message_send.apply(args=["771234"])  # a code as a task argument
    with pytest.raises(AssertionError, match="leaked"):
        leak_watch.assert_clean("771234")
    leak_watch.task_texts[:] = ["nothing secret"]
    leak_watch.caplog.clear()
    logging.getLogger("kombu.test").debug("publishing %s", "482913")
    leak_watch.assert_clean("771234")
    with pytest.raises(AssertionError, match="leaked"):
        leak_watch.assert_clean("482913")


def test_a_late_code_message_is_not_sent_once_its_code_was_replaced(make_package, employee, outbox_dir):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    old = Message.objects.get(channel="sms", event="ready_for_pickup")
    new = Message.objects.get(channel="sms", event="code_resent")

    assert sending.message_send_attempt(message_id=old.pk).status == DeliveryStatus.FAILED
    assert sending.message_send_attempt(message_id=new.pk).status == DeliveryStatus.SENT
    old.refresh_from_db()
    assert old.last_error.startswith("not sent: the code was used") and old.secret_encrypted is None
    documents = [json.loads(path.read_text()) for path in outbox_files(outbox_dir, "sms")]
    assert [d["event"] for d in documents] == ["code_resent"]


@pytest.mark.parametrize("event", ["ready_for_pickup", "code_resent", "pickup_reminder"])
def test_english_sms_with_a_code_and_its_pass_fits_two_parts(event):
    """SMS is billed per part: with a usual name, order number and store, the English texts with the code and the
    pickup pass link (SITE_URL as long as https://pickup.example.com) stay two GSM-7 parts; the reminder one."""
    context = {
        "customer_name": "Deniz Kaya",
        "order_number": "WEB-1002450",
        "store_name": "Istanbul Kanyon",
        "deadline": "27.11.2026 18:00",
        "code_valid_until": "27 Nov 14:15",
    }
    link = "https://pickup.example.com/p/" + "A" * passes.TOKEN_LENGTH
    carries_code = event != "pickup_reminder"
    _, body = message_render(
        event=event,
        channel="sms",
        language="en",
        context=context,
        code="123456" if carries_code else None,
        pass_url=link if carries_code else "",
    )
    assert "27.11.2026 18:00" in body and "Istanbul Kanyon" in body
    assert not carries_code or ("123456" in body and link in body)
    assert sms_parts(body) == (2 if carries_code else 1), (len(body), body)


@pytest.mark.parametrize("event", ["ready_for_pickup", "code_resent"])
def test_every_message_with_a_code_carries_its_own_pickup_pass_and_no_row_keeps_it(
    event, ready, employee, outbox_dir, issued_code, leak_watch, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    package = ready(order__customer__language="tr")
    if event == "code_resent":
        with (
            time_machine.travel(timezone.now() + timedelta(minutes=2)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.package_resend_code(package=package, actor=employee, channel="web")
    code = issued_code(package)
    pickup_code = package.pickup_codes.order_by("-created_at").first()
    tokens = []
    for channel in ("sms", "email", "push"):
        (document,) = [
            d for d in (json.loads(p.read_text()) for p in outbox_files(outbox_dir, channel)) if d["event"] == event
        ]
        (token,) = re.findall(r"https://pickup\.example\.com/p/([A-Za-z0-9_-]+)", document["body"])
        read = passes.pass_token_read(token)
        assert (read.package_id, read.code, read.expires_at, read.holder) == (
            package.pk,
            code,
            pickup_code.expires_at.replace(microsecond=0),
            "customer",
        )
        tokens.append(token)
    for message in Message.objects.filter(package=package, event=event):
        assert "https://pickup.example.com/p/******" in message.body, message.body
        stored = json.dumps([message.body, message.subject, message.context, message.recipient])
        assert not [token for token in tokens if token in stored] and code not in stored
    leak_watch.assert_clean(code, *tokens)


def test_a_message_written_before_passes_is_sent_without_a_link(ready, outbox_dir):
    """A row whose context has no ``pass`` (written before this release) still goes out, with its code."""
    package = ready()
    sms = json.loads(outbox_files(outbox_dir, "sms")[0].read_text())
    assert "/p/" in sms["body"]
    context = Message.objects.filter(package=package, channel="sms").values_list("context", flat=True).first()
    context.pop("pass")
    _, body = message_render(event="ready_for_pickup", channel="sms", language="en", context=context, code="123456")
    assert "123456" in body and "/p/" not in body
