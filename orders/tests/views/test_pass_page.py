"""The pickup pass page (SPEC 13): what a customer sees at /p/<token>, in their language, and what it never shows."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from notifications import sending
from notifications.models import Message
from orders import services
from orders.models import AuditRecord, PackageStatus
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse: no request counts from earlier tests
from orders.tests.passes import pass_token_of, pass_tokens_sent
from orders.views.pass_page import pass_qr_svg

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


@pytest.fixture
def ready_pass(make_package, store, issued_code):
    """ready_pass(language="en") -> (package, code, token) of a package made ready through the real command."""
    store.address = "Büyükdere Cd. No:185\nLevent, Istanbul"
    store.opening_hours = "Mon–Sat 10:00–22:00\nSun 11:00–20:00"
    store.save()

    def make(language="en", **kwargs):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer__language=language, **kwargs)
        code = issued_code(package)
        return package, code, pass_token_of(package, code)

    return make


def assert_pass_headers(response):
    assert {name: response.headers.get(name) for name in HEADERS} == HEADERS


def text_of(response) -> str:
    return response.content.decode()


def test_the_pass_shows_the_store_the_deadline_the_code_and_its_qr(client, ready_pass):
    package, code, token = ready_pass()
    response = client.get(f"/p/{token}")
    assert response.status_code == 200
    assert_pass_headers(response)
    page = text_of(response)
    assert "Istanbul Kanyon" in page and "Büyükdere Cd. No:185<br>Levent, Istanbul" in page
    assert "Mon–Sat 10:00–22:00<br>Sun 11:00–20:00" in page
    assert package.order.order_number in page
    assert f'<p class="pass-code" aria-label="Pickup code"><span>{code[:3]}</span><span>{code[3:]}</span></p>' in page
    # The QR code is the SVG segno makes of PICKUP:<package id>:<code>, with no inline style the CSP would refuse.
    svg = pass_qr_svg(f"PICKUP:{package.pk}:{code}")
    assert svg in page and "<svg" in svg and "style" not in svg and code not in svg
    assert "Collect by" in page
    local_deadline = timezone.localtime(package.ready_expires_at, package.store.zone)
    assert f"{local_deadline:%H:%M}" in page
    assert "<script" not in page and " style=" not in page


def test_the_pass_is_in_the_customers_language_whatever_the_browser_asks(client, ready_pass):
    _package, code, token = ready_pass(language="tr")
    response = client.get(f"/p/{token}", HTTP_ACCEPT_LANGUAGE="en")
    page = text_of(response)
    assert response.headers["Content-Language"] == "tr" and '<html lang="tr">' in page
    assert "Teslim kartı" in page and "Kasada bunu gösterin" in page and "Son teslim" in page
    assert f"<span>{code[:3]}</span>" in page


def test_a_used_code_is_not_shown_and_the_page_says_the_order_was_picked_up(client, ready_pass, employee):
    package, code, token = ready_pass()
    services.package_deliver(package=package, actor=employee, channel="web", otp_value=code)
    page = text_of(client.get(f"/p/{token}"))
    assert "Picked up" in page and code not in page and "<svg" not in page


def test_a_replaced_code_is_not_shown_and_the_new_pass_shows_the_new_one(client, ready_pass, employee, issued_code):
    package, old_code, old_token = ready_pass()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        services.package_resend_code(package=package, actor=employee, channel="web")
        new_code = issued_code(package)
        new_token = pass_token_of(package, new_code)
        old_page = text_of(client.get(f"/p/{old_token}"))
        new_page = text_of(client.get(f"/p/{new_token}"))
    assert "Code replaced" in old_page and old_code not in old_page and "<svg" not in old_page
    assert f"<span>{new_code[:3]}</span><span>{new_code[3:]}</span>" in new_page


def test_an_expired_code_is_not_shown_but_the_hold_still_is(client, ready_pass):
    package, code, token = ready_pass()
    with time_machine.travel(package.pickup_codes.get().expires_at + timedelta(seconds=1)):
        response = client.get(f"/p/{token}")
    page = text_of(response)
    assert response.status_code == 200 and "Code expired" in page and code not in page and "<svg" not in page
    assert "Collect by" in page and "Istanbul Kanyon" in page


def test_a_locked_code_is_not_shown(client, ready_pass, employee):
    package, code, token = ready_pass()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(ApplicationError):
            services.package_deliver(package=package, actor=employee, channel="web", otp_value=wrong)
    page = text_of(client.get(f"/p/{token}"))
    assert "Code locked" in page and code not in page and "<svg" not in page


def test_a_cancelled_package_says_so(client, ready_pass, manager):
    package, code, token = ready_pass()
    services.package_cancel(package=package, actor=manager, channel="web", reason="out of stock")
    page = text_of(client.get(f"/p/{token}"))
    assert "Cancelled" in page and code not in page and "out of stock" not in page


def test_the_link_of_the_real_message_opens_the_pass(client, make_package, employee, outbox_dir, issued_code):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")
    for message in Message.objects.filter(package=package):
        sending.message_send_attempt(message_id=message.pk)
    (token,) = pass_tokens_sent(outbox_dir, channel="sms")
    code = issued_code(package)
    assert f"<span>{code[:3]}</span><span>{code[3:]}</span>" in text_of(client.get(f"/p/{token}"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda token: token[:-1],
        lambda token: token[:10],
        lambda token: token + "A",
        lambda token: token[:20] + ("B" if token[20] != "B" else "C") + token[21:],
        lambda token: "A" * len(token),
        lambda token: "",
        lambda token: "%00" + token,
        lambda token: "é" * 54,
        lambda token: "x" * 5000,
        lambda token: token + "/../admin/",
        lambda token: token.upper(),
    ],
)
def test_a_tampered_truncated_or_garbage_token_answers_the_plain_not_valid_page(client, ready_pass, mutate):
    package, code, token = ready_pass()
    response = client.get(f"/p/{mutate(token)}")
    assert response.status_code == 404
    assert_pass_headers(response)
    page = text_of(response)
    assert "This pass is not valid" in page and code not in page and package.store.name not in page


def test_a_token_of_a_package_that_no_longer_exists_is_not_valid(client, ready_pass):
    package, _code, token = ready_pass()
    package.pickup_codes.all().delete()
    response = client.get(f"/p/{token}")
    assert response.status_code == 404 and "This pass is not valid" in text_of(response)


def test_the_pass_page_is_rate_limited_per_client_address(client, ready_pass, settings):
    from django.conf import settings as django_settings

    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "pickup_pass": "3/min"},
    }
    _package, code, token = ready_pass()
    assert [client.get(f"/p/{token}").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(f"/p/{token}")
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    assert_pass_headers(response)
    assert code not in text_of(response)
    other = client.get(f"/p/{token}", REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200


def test_the_store_address_and_hours_are_edited_in_admin(admin_client, store):
    page = admin_client.get(f"/admin/orders/store/{store.pk}/change/").content.decode()
    assert 'name="address"' in page and 'name="opening_hours"' in page
    response = admin_client.post(
        f"/admin/orders/store/{store.pk}/change/",
        {
            "code": store.code,
            "name": store.name,
            "timezone": store.timezone,
            "is_active": "on",
            "address": "Kanyon AVM, Levent",
            "opening_hours": "Every day 10:00–22:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, re.findall(r'class="errorlist[^"]*">(.*?)</ul>', response.content.decode())
    store.refresh_from_db()
    assert (store.address, store.opening_hours) == ("Kanyon AVM, Levent", "Every day 10:00–22:00")


# --- check-in from the pass ------------------------------------------------------------------------------------


def test_im_here_from_the_pass_is_recorded_and_the_page_says_so(client, ready_pass):
    package, _code, token = ready_pass()
    page = text_of(client.get(f"/p/{token}"))
    assert "I'm here" in page and "On my way" in page
    response = client.post(f"/p/{token}", {"kind": "arrived"})
    assert response.status_code == 303 and response["Location"] == f"/p/{token}"
    assert_pass_headers(response)
    package.refresh_from_db()
    assert package.checked_in_at is not None
    page = text_of(client.get(f"/p/{token}"))
    assert "The store knows you are here" in page and "I'm here</button>" not in page
    assert AuditRecord.objects.filter(package=package, kind="check_in", channel="customer").count() == 1
    # A second press (another tab, a reload that posts again) records nothing more.
    assert client.post(f"/p/{token}", {"kind": "arrived"}).status_code == 303
    assert AuditRecord.objects.filter(package=package, kind="check_in").count() == 1


def test_on_my_way_from_the_pass_in_turkish(client, ready_pass):
    package, _code, token = ready_pass(language="tr")
    assert client.post(f"/p/{token}", {"kind": "on_my_way", "minutes": "20"}).status_code == 303
    page = text_of(client.get(f"/p/{token}"))
    assert "Mağaza sizi yaklaşık 20 dakika içinde bekliyor." in page and "Geldim" in page
    package.refresh_from_db()
    assert package.on_my_way_minutes == 20


def test_no_check_in_once_the_package_is_no_longer_ready(client, ready_pass, employee):
    package, code, token = ready_pass()
    services.package_deliver(package=package, actor=employee, channel="web", otp_value=code)
    assert "I'm here" not in text_of(client.get(f"/p/{token}"))
    response = client.post(f"/p/{token}", {"kind": "arrived"})
    assert response.status_code == 409 and "no longer waiting for pickup" in text_of(response)
    package.refresh_from_db()
    assert package.checked_in_at is None


@pytest.mark.parametrize("data", [{"kind": "on_my_way", "minutes": "500"}, {"kind": "x"}, {}])
def test_a_malformed_check_in_shows_the_page_with_the_reason(client, ready_pass, data):
    package, _code, token = ready_pass()
    response = client.post(f"/p/{token}", data)
    assert response.status_code == 400 and 'class="pass-card pass-error" role="alert"' in text_of(response)
    package.refresh_from_db()
    assert package.checked_in_at is None and package.on_my_way_at is None


def test_a_check_in_with_an_invalid_token_is_the_not_valid_page(client, ready_pass):
    package, _code, token = ready_pass()
    response = client.post(f"/p/{token[:-2]}", {"kind": "arrived"})
    assert response.status_code == 404 and "This pass is not valid" in text_of(response)
    package.refresh_from_db()
    assert package.checked_in_at is None


def test_check_ins_are_rate_limited_per_client_address(client, make_package, settings, issued_code):
    from django.conf import settings as django_settings

    rates = {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "pickup_pass_check_in": "2/min"}
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    tokens = []
    for _ in range(3):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
        tokens.append(pass_token_of(package, issued_code(package)))
    assert [client.post(f"/p/{t}", {"kind": "arrived"}).status_code for t in tokens] == [303, 303, 429]
