"""Admin for messages, webhook endpoints and deliveries: masked, read-only, retryable, no code anywhere; an
endpoint's signing secret is shown once, when it is created, and never again."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications import sending
from notifications.models import (
    CODE_MASK,
    DeliveryStatus,
    Message,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
)
from orders import services
from orders.models import PackageStatus
from orders.tests.factories import UserFactory


@pytest.fixture
def admin_client(client, db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def failing_sms(settings):
    settings.NOTIFY_SMS_BACKEND = "http"
    settings.NOTIFY_SMS_URL = "http://127.0.0.1:9/sms"  # refused: every try fails


def _ready(make_package, employee, django_capture_on_commit_callbacks):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_mark_ready(package=package, actor=employee, channel="web")
    return package


def test_message_pages_show_the_masked_body_and_never_the_code(
    admin_client, make_package, employee, issued_code, django_capture_on_commit_callbacks, outbox_dir
):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", secret="whsec_dGVzdA==")
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    # Not committed: the rows stay pending with their code encrypted, the worst case for a leak.
    services.package_mark_ready(package=package, actor=employee, channel="web")
    code = issued_code(package)
    message = Message.objects.get(channel="sms")
    delivery = WebhookDelivery.objects.get(event_type="PackageReadyForCustomerPickupWhispererEvent")
    pages = [
        reverse("admin:notifications_message_changelist"),
        reverse("admin:notifications_message_change", args=[message.pk]),
        reverse("admin:notifications_webhookdelivery_changelist"),
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not re.search(rf"(?<![0-9]){code}(?![0-9])", html), url
    assert 'value="retry_failed"' in admin_client.get(pages[0]).content.decode()
    detail = admin_client.get(pages[1]).content.decode()
    assert CODE_MASK in detail and message.recipient in detail
    assert "secret_encrypted" not in detail
    assert CODE_MASK in admin_client.get(pages[3]).content.decode()


def test_messages_cannot_be_added_edited_or_deleted(admin_client, make_package, manager):
    package = make_package(PackageStatus.WAITING)
    services.package_cancel(package=package, actor=manager, channel="web", reason="damaged")
    message = Message.objects.filter(channel="sms").first()
    assert admin_client.get(reverse("admin:notifications_message_add")).status_code == 403
    assert admin_client.get(reverse("admin:notifications_message_delete", args=[message.pk])).status_code == 403
    response = admin_client.post(reverse("admin:notifications_message_change", args=[message.pk]), {"body": "changed"})
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.body != "changed"


def test_retry_action_requeues_failed_messages_and_refuses_wiped_codes(
    admin_client, settings, failing_sms, make_package, employee, manager, django_capture_on_commit_callbacks, outbox_dir
):
    package = _ready(make_package, employee, django_capture_on_commit_callbacks)
    other = make_package(PackageStatus.WAITING)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_cancel(package=other, actor=manager, channel="web", reason="damaged")
    ready_sms = Message.objects.get(package=package, channel="sms")
    cancel_sms = Message.objects.get(package=other, channel="sms")
    assert ready_sms.status == cancel_sms.status == DeliveryStatus.FAILED

    settings.NOTIFY_SMS_BACKEND = "file"  # the provider is back
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_message_changelist"),
            {"action": "retry_failed", "_selected_action": [str(ready_sms.pk), str(cancel_sms.pk)]},
            follow=True,
        )
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 row queued again" in text and "Resend Pickup Code" in text
    cancel_sms.refresh_from_db()
    ready_sms.refresh_from_db()
    assert cancel_sms.status == DeliveryStatus.SENT and cancel_sms.attempts == 1
    assert ready_sms.status == DeliveryStatus.FAILED
    assert len(list((outbox_dir / "sms").glob("*.json"))) == 1


def test_retry_action_needs_the_change_permission(client, db, make_package, manager, failing_sms):
    from django.contrib.auth.models import Permission

    package = make_package(PackageStatus.WAITING)
    services.package_cancel(package=package, actor=manager, channel="web", reason="damaged")
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    response = client.get(reverse("admin:notifications_message_changelist"))
    assert response.status_code == 200
    assert 'value="retry_failed"' not in response.content.decode()


def test_endpoint_form_offers_a_secret_and_event_type_checkboxes(admin_client):
    response = admin_client.get(reverse("admin:notifications_webhookendpoint_add"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'name="secret"[^>]*value="whsec_[A-Za-z0-9+/=]+"', html)
    # Every event type, PackageCustomerCheckedInEvent (SPEC 13) included.
    assert html.count('type="checkbox" name="event_types"') == len(WebhookEventType) == 5

    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "url": "https://hooks.example.com/cc",
            "secret": "whsec_dGVzdC1zZWNyZXQ=",
            "event_types": ["PackageDeliveredEvent", "PackageCancelledEvent"],
            "is_active": "on",
            "description": "ERP",
        },
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["PackageDeliveredEvent", "PackageCancelledEvent"]
    assert endpoint.wants("PackageDeliveredEvent") and not endpoint.wants("PackageStatusChangedEvent")


def test_endpoint_form_refuses_a_malformed_secret(admin_client):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"url": "https://hooks.example.com/cc", "secret": "whsec_***", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Standard Webhooks secret" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "events", "allow_http", "accepted"),
    [
        ("http://hooks.example.com/cc", ["PackageReadyForCustomerPickupWhispererEvent"], False, False),
        ("http://hooks.example.com/cc", [], False, False),  # every event, the Whisperer one too
        ("http://hooks.example.com/cc", ["PackageDeliveredEvent"], False, True),  # no code in it
        ("https://hooks.example.com/cc", [], False, True),
        ("http://10.0.0.5/cc", [], True, True),  # WEBHOOK_ALLOW_HTTP: a receiver on a trusted network
    ],
)
def test_the_code_carrying_event_needs_an_https_endpoint(admin_client, settings, url, events, allow_http, accepted):
    """SPEC 4: the pickup code travels in the Whisperer event; over plain http anyone on the way could read it."""
    settings.WEBHOOK_ALLOW_HTTP = allow_http
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"url": url, "secret": "whsec_dGVzdC1zZWNyZXQ=", "event_types": events, "is_active": "on"},
    )
    assert WebhookEndpoint.objects.exists() is accepted
    if not accepted:
        assert response.status_code == 200
        assert "The Whisperer event carries the pickup code: use an https URL" in response.content.decode()


def test_an_http_endpoint_saved_past_admin_gets_no_whisperer_event(settings, make_package):
    """Saved before https was required, or from a shell: the code-carrying event is not written for it; the
    others are (they carry no code)."""
    from notifications.models import WebhookDelivery

    settings.WEBHOOK_ALLOW_HTTP = False
    plain = WebhookEndpoint.objects.create(url="http://plain.example/hook", secret="whsec_dGVzdC1zZWNyZXQ=")
    safe = WebhookEndpoint.objects.create(url="https://safe.example/hook", secret="whsec_dGVzdC1zZWNyZXQ=")
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    whisperer = WebhookDelivery.objects.filter(
        package=package, event_type="PackageReadyForCustomerPickupWhispererEvent"
    )
    assert list(whisperer.values_list("endpoint", flat=True)) == [safe.pk]
    assert WebhookDelivery.objects.filter(package=package, endpoint=plain).exists()  # the status-changed event


@pytest.mark.parametrize("model", ["message", "webhookdelivery"])
@pytest.mark.parametrize("query", ["+905321234567", "not-a-uuid", "7c1f0c52-3a4c-4a7b-9d2e-000000000000", "ORD'1"])
def test_searching_any_text_answers(admin_client, model, query):
    response = admin_client.get(reverse(f"admin:notifications_{model}_changelist"), {"q": query})
    assert response.status_code == 200


def test_the_not_sent_reason_of_a_replaced_code_is_shown_in_the_readers_language(
    admin_client, make_package, employee, outbox_dir
):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", secret="whsec_dGVzdA==")
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    delivery = WebhookDelivery.objects.filter(event_type="PackageReadyForCustomerPickupWhispererEvent").earliest(
        "created_at"
    )
    message = Message.objects.get(channel="sms", event="ready_for_pickup")
    assert sending.webhook_deliver_attempt(delivery_id=delivery.pk).status == WebhookDeliveryStatus.SKIPPED
    assert sending.message_send_attempt(message_id=message.pk).status == DeliveryStatus.FAILED

    english = "not sent: the code was used, invalidated or replaced in the meantime"
    turkish = "gönderilmedi: kod bu arada kullanıldı, geçersiz kılındı ya da yenisiyle değiştirildi"
    for url in (
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:notifications_message_change", args=[message.pk]),
    ):
        assert english in admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode(), url
        html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
        assert turkish in html and english not in html, url


def test_skipped_webhook_deliveries_have_their_filter_and_are_not_retried(
    admin_client, make_package, employee, django_capture_on_commit_callbacks
):
    """SPEC 8: a Whisperer event deliberately not sent (its code replaced) is ``skipped``, listed apart from the
    failed ones, and "Retry the selected failed rows" leaves it as it is."""
    WebhookEndpoint.objects.create(url="https://127.0.0.1:9/hook", secret="whsec_dGVzdA==")
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")  # not committed: pending
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    old, new = WebhookDelivery.objects.filter(event_type="PackageReadyForCustomerPickupWhispererEvent").order_by(
        "created_at"
    )
    assert sending.webhook_deliver_attempt(delivery_id=old.pk).status == WebhookDeliveryStatus.SKIPPED
    failed = WebhookDelivery.objects.exclude(pk__in=[old.pk, new.pk]).first()
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED, last_error="HTTP 500")

    url = reverse("admin:notifications_webhookdelivery_changelist")
    for language, label in (("en", "Skipped"), ("tr", "Atlandı")):
        html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'href="?status__exact=skipped">{label}</a>' in html
    listed = admin_client.get(url, {"status__exact": "skipped"}).context["cl"].result_list
    assert [row.pk for row in listed] == [old.pk]
    listed = admin_client.get(url, {"status__exact": "failed"}).context["cl"].result_list
    assert [row.pk for row in listed] == [failed.pk]

    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            url, {"action": "retry_failed", "_selected_action": [str(old.pk), str(failed.pk)]}, follow=True
        )
    text = response.content.decode()
    assert "1 row queued again." in text
    assert "1 row was skipped on purpose (its last error says why) and is not retried." in text
    old.refresh_from_db()
    failed.refresh_from_db()
    assert old.status == WebhookDeliveryStatus.SKIPPED and old.last_error == sending.CODE_NOT_CURRENT
    assert failed.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(("accept", "label"), [("en", "Turkish"), ("tr", "Türkçe")])
def test_a_messages_language_is_named_in_the_readers_language(admin_client, make_package, employee, accept, label):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS, order__customer__language="tr")
    services.package_mark_ready(package=package, actor=employee, channel="web")
    assert set(Message.objects.values_list("language", flat=True)) == {"tr"}
    listing = admin_client.get(reverse("admin:notifications_message_changelist"), HTTP_ACCEPT_LANGUAGE=accept)
    cells = re.findall(r'<td class="field-language">([^<]*)</td>', listing.content.decode())
    assert cells and set(cells) == {label}


def test_a_message_is_found_by_the_number_it_was_sent_to_after_the_customer_changed_it(
    admin_client, make_package, employee, django_capture_on_commit_callbacks
):
    """ "I got no SMS": admin searches the number the customer gives, in any format, though the customer's phone
    has changed since; the message went to the old one. Another customer's messages are not found by it."""
    package = _ready(make_package, employee, django_capture_on_commit_callbacks)
    other = _ready(make_package, employee, django_capture_on_commit_callbacks)
    customer = package.order.customer
    old_phone = customer.phone
    assert old_phone.startswith("+90") and other.order.customer.phone != old_phone
    sms = Message.objects.get(package=package, channel="sms")
    assert sms.recipient == old_phone
    customer.phone = "+905559998877"
    customer.save(update_fields=["phone"])
    local = "0" + old_phone[3:6] + " " + old_phone[6:9] + " " + old_phone[9:11] + " " + old_phone[11:]
    email = Message.objects.get(package=package, channel="email").recipient
    for term, expected in [(old_phone, sms), (local, sms), (email.upper(), None)]:
        response = admin_client.get(reverse("admin:notifications_message_changelist"), {"q": term})
        found = list(response.context["cl"].result_list)
        assert all(message.package_id == package.pk for message in found), term
        if expected is not None:
            assert expected in found, term
        else:
            assert {message.channel for message in found} >= {"email"}, term


def test_a_message_sent_to_a_landline_stored_before_mobiles_were_required_is_found_in_any_format(
    admin_client, make_package, employee, django_capture_on_commit_callbacks
):
    """Intake now refuses fixed lines, but messages sent to one before are still searched for by it: the search
    normalises the number without asking that it can take an SMS."""
    package = _ready(make_package, employee, django_capture_on_commit_callbacks)
    sms = Message.objects.get(package=package, channel="sms")
    Message.objects.filter(pk=sms.pk).update(recipient="+902122223344")
    response = admin_client.get(reverse("admin:notifications_message_changelist"), {"q": "0212 222 33 44"})
    assert [message.pk for message in response.context["cl"].result_list] == [sms.pk]


SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAx"


@pytest.fixture
def endpoint():
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/cc", secret=SECRET)


def form(**changes):
    return {"url": "https://hooks.example.com/cc", "description": "", "secret": "", "is_active": "on", **changes}


@pytest.mark.django_db
def test_the_change_page_does_not_show_the_secret(admin_client, endpoint):
    html = admin_client.get(reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert SECRET not in html and SECRET[6:] not in html
    assert f"whsec_…{SECRET[-4:]}" in html  # which secret it is, not the secret


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_read_only_administrator_does_not_see_the_secret(endpoint, language):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client = Client()
    client.force_login(viewer)
    response = client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in html and SECRET[6:] not in html
    assert f"whsec_…{SECRET[-4:]}" in html


@pytest.mark.django_db
def test_saving_with_the_secret_left_empty_keeps_it(admin_client, endpoint):
    url = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, form(description="ERP"))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.secret) == ("ERP", SECRET)


@pytest.mark.django_db
def test_a_new_secret_replaces_the_old_one_and_a_bad_one_is_refused(admin_client, endpoint):
    url = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, form(secret="whsec_***"))
    assert response.status_code == 200 and "Standard Webhooks secret" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret == SECRET
    assert admin_client.post(url, form(secret="whsec_bmV3LXNlY3JldA==")).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_bmV3LXNlY3JldA=="


@pytest.mark.django_db
def test_the_add_and_change_pages_say_so_in_turkish(admin_client, endpoint):
    add = admin_client.get(reverse("admin:notifications_webhookendpoint_add"), HTTP_ACCEPT_LANGUAGE="tr")
    change = admin_client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]), HTTP_ACCEPT_LANGUAGE="tr"
    )
    assert "kaydedildikten sonra bir daha gösterilmez" in add.content.decode()
    assert f"mevcut gizli anahtar (whsec_…{SECRET[-4:]}) korunur" in change.content.decode()
