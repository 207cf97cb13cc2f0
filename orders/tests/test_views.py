"""The staff pages (SPEC 10) through Django's test client: what each page shows and what the database holds."""

import ast
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.services import app_setting_set
from core.testing import wrong_code
from notifications.models import Message
from orders.models import AuditKind, AuditOutcome, AuditRecord, Package, PackageStatus, StaffRole
from orders.tests.factories import PASSWORD, PackageFactory, UserFactory, employee_of
from orders.tests.htmx import HTMX, closes_dialog, flash_of, row_of, text
from otp.models import PickupCode

S = PackageStatus


def list_url(**query):
    url = reverse("staff:package-list")
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def text_of(response) -> str:
    return response.content.decode()


# --- login, logout, lockout ---------------------------------------------------------------------


def test_root_sends_anonymous_users_to_login_then_to_the_list(client, employee):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert 'name="password"' in text_of(response)

    response = client.post(reverse("login"), {"username": "ayse", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:package-list")
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("staff:package-list")
    assert response.status_code == 200


def test_wrong_password_shows_an_error_and_does_not_log_in(client, employee):
    response = client.post(reverse("login"), {"username": "ayse", "password": "wrong-password"})
    assert response.status_code == 200
    assert "correct username and password" in text_of(response)
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(as_employee):
    response = as_employee.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert as_employee.get(reverse("staff:package-list")).status_code == 302


def test_repeated_failed_logins_lock_the_account(client, employee, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "ayse", "password": "wrong-password"})
    # Locked: even the right password is refused, with the reason on the login page.
    response = client.post(reverse("login"), {"username": "ayse", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in text_of(response)
    assert 'name="password"' in text_of(response)
    assert "_auth_user_id" not in client.session
    # Another account is not locked by it.
    other = employee_of(employee.memberships.first().store, "mert")
    response = client.post(reverse("login"), {"username": other.username, "password": PASSWORD})
    assert response.status_code == 302


def test_pages_need_login(client, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    for url in (
        reverse("staff:package-list"),
        reverse("staff:package-detail", args=[package.pk]),
        reverse("staff:package-deliver", args=[package.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": "123456"})
    assert response.status_code == 302
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_the_pages_have_an_icon_and_favicon_ico_is_not_a_404(client):
    from django.contrib.staticfiles import finders

    page = text_of(client.get(reverse("login")))
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link and link.group(1) == "/static/staff/favicon.svg"
    assert finders.find("staff/favicon.svg")
    response = client.get("/favicon.ico")  # what browsers ask for on their own, signed in or not
    assert response.status_code == 302
    assert response["Location"] == "/static/staff/favicon.svg"


def test_a_user_without_a_store_is_told_so(client, db):
    client.force_login(UserFactory(username="nobody"))
    response = client.get(reverse("staff:package-list"))
    assert response.status_code == 403
    assert "not assigned to any store" in text_of(response)


# --- the package list ---------------------------------------------------------------------------


def test_list_shows_the_columns_and_only_the_users_store(as_employee, make_package, other_store):
    mine = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    theirs = make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    response = as_employee.get(reverse("staff:package-list"))
    page = text_of(response)
    assert response.status_code == 200
    for column in (
        "Order No",
        "Customer",
        "Delivery From Store",
        "Delivery Type",
        "Status",
        "Ready since / Expires",
        "Actions",
    ):
        assert f">{column}</th>" in page
    assert mine.order.order_number in page
    assert theirs.order.order_number not in page
    row = re.search(rf'<tr id="row-{mine.pk}".*?</tr>', page, re.S).group(0)
    assert ">Yes<" in row
    assert ">In_store<" in row  # SPEC 10: "Delivery Type (In_store)"
    assert "Ready for Customer Pickup" in row
    assert mine.order.customer.phone not in page  # only the masked phone
    assert mine.order.customer.phone_masked in row


def test_action_buttons_follow_state_and_role(client, employee, manager, make_package):
    waiting = make_package(S.WAITING)
    packed = make_package(S.PACKED_ALL_ITEMS)
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    delivered = make_package(S.DELIVERED)

    def buttons(user, package):
        client.force_login(user)
        page = text_of(client.get(list_url(status="all")))
        row = re.search(rf'<tr id="row-{package.pk}".*?</tr>', page, re.S).group(0)
        return re.findall(r'class="btn [^"]*"[^>]*>([^<]+)</', row)

    assert buttons(employee, waiting) == ["Complete Packaging"]
    assert buttons(employee, packed) == ["Ready for Pickup"]
    assert buttons(employee, ready) == ["Delivered", "Resend Code"]
    assert buttons(employee, delivered) == []
    assert buttons(manager, waiting) == ["Complete Packaging", "Cancel"]
    assert buttons(manager, ready) == ["Delivered", "Resend Code", "Cancel"]


def test_status_filters_show_counts_and_filter(as_employee, make_package):
    for _ in range(2):
        make_package(S.WAITING)
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    page = text_of(as_employee.get(reverse("staff:package-list")))
    counts = dict(re.findall(r'class="filter[^"]*"[^>]*>\s*([^<]+?) <span class="count">(\d+)</span>', page))
    assert counts == {
        "Needs action": "3",
        "All": "3",
        "Waiting": "2",
        "Packed All Items": "0",
        "Ready for Customer Pickup": "1",
        "Delivered": "0",
        "Cancelled": "0",
        "Expires today": "0",  # held for days
    }
    page = text_of(as_employee.get(list_url(status=S.READY_FOR_CUSTOMER_PICKUP)))
    assert page.count('<tr id="row-') == 1
    assert f'id="row-{ready.pk}"' in page


@pytest.mark.parametrize("term", ["Ayşe Yılmaz", "yılmaz", "5551234567", "0555 123 45 67", "123 45 67"])
def test_search_by_customer_name_or_phone_digits(as_employee, make_package, term):
    wanted = make_package(S.WAITING, order__customer__name="Ayşe Yılmaz", order__customer__phone="+905551234567")
    other = make_package(S.WAITING, order__customer__name="Can Demir", order__customer__phone="+905329876543")
    page = text_of(as_employee.get(list_url(q=term)))
    assert f'id="row-{wanted.pk}"' in page
    assert f'id="row-{other.pk}"' not in page


def test_search_results_list_what_needs_action_first(as_employee, make_package):
    """SPEC 12: ready, packed, waiting, then delivered and cancelled, each newest first, as the list opens; a
    search with a status asked keeps that status's newest first."""
    made = {
        status: make_package(status, order__customer__name="Deniz Kaya")
        for status in (S.READY_FOR_CUSTOMER_PICKUP, S.DELIVERED, S.WAITING, S.CANCELLED, S.PACKED_ALL_ITEMS)
    }
    newer_ready = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya")
    make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Can Demir")
    expected = [
        newer_ready,
        made[S.READY_FOR_CUSTOMER_PICKUP],
        made[S.PACKED_ALL_ITEMS],
        made[S.WAITING],
        made[S.CANCELLED],  # newer than the delivered one
        made[S.DELIVERED],
    ]
    rows = [f"row-{package.pk}" for package in expected]
    for url in (list_url(q="Kaya"), list_url(q="Kaya", status="all")):
        assert re.findall(r'<tr id="(row-[^"]+)"', text_of(as_employee.get(url))) == rows
    response = as_employee.post(reverse("staff:scan"), {"q": "kaya", "store": "IST01"}, **HTMX)
    assert re.findall(r'<tr id="(row-[^"]+)"', text(response)) == rows


def test_scanned_order_number_opens_the_package(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-100200")
    make_package(S.WAITING, order__order_number="CC-1002001")  # contains it, but is not an exact match
    response = as_employee.get(list_url(q="cc-100200"))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:package-detail", args=[package.pk])
    # A partial number lists the matches instead.
    response = as_employee.get(list_url(q="CC-1002"))
    assert response.status_code == 200
    assert text_of(response).count('<tr id="row-') == 2


def test_an_order_number_of_another_store_does_not_open(as_employee, make_package, other_store):
    make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store, order__order_number="CC-999")
    response = as_employee.get(list_url(q="CC-999"))
    assert response.status_code == 200
    assert "No package matches your search." in text_of(response)


def test_store_switcher_for_staff_of_several_stores(client, store, other_store, make_package):
    zeynep = employee_of(store, "zeynep", role=StaffRole.MANAGER)
    from orders.models import StaffMembership

    StaffMembership.objects.create(user=zeynep, store=other_store, role=StaffRole.MANAGER)
    here = make_package(S.WAITING)
    there = make_package(S.WAITING, at_store=other_store)
    client.force_login(zeynep)
    page = text_of(client.get(reverse("staff:package-list")))
    assert 'id="store-select"' in page
    # Stores are listed by code: ANK01 first.
    assert f'id="row-{there.pk}"' in page and f'id="row-{here.pk}"' not in page
    page = text_of(client.get(list_url(store="IST01")))
    assert f'id="row-{here.pk}"' in page and f'id="row-{there.pk}"' not in page
    # The choice is remembered for the next visit.
    page = text_of(client.get(reverse("staff:package-list")))
    assert f'id="row-{here.pk}"' in page
    # A store the user is not in falls back to one of theirs.
    assert client.get(list_url(store="NOPE")).status_code == 200


def test_single_store_staff_get_no_switcher(as_employee, store):
    page = text_of(as_employee.get(reverse("staff:package-list")))
    assert 'id="store-select"' not in page
    assert "Istanbul Kanyon" in page


def test_fifty_rows_a_page(as_employee, store):
    PackageFactory.create_batch(55, order__store=store)
    page = text_of(as_employee.get(reverse("staff:package-list")))
    assert page.count('<tr id="row-') == 50
    assert "Page 1 of 2" in page
    page = text_of(as_employee.get(list_url(page=2)))
    assert page.count('<tr id="row-') == 5


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "99999"},
        {"page": "-1"},
        {"status": "bogus"},
        {"store": "x" * 500},
        {"q": "a\x00b"},
        {"q": "x" * 5000},
        {"q": "%"},
    ],
)
def test_list_never_fails_on_odd_input(as_employee, make_package, query):
    make_package(S.WAITING)
    response = as_employee.get(list_url(**query))
    assert response.status_code == 200


def _list_queries(client, store, count):
    PackageFactory.create_batch(count, order__store=store)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("staff:package-list"))
    assert response.status_code == 200
    assert text_of(response).count('<tr id="row-') == min(Package.objects.filter(store=store).count(), 50)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(client, store):
    few_store_user = employee_of(store, "few")
    client.force_login(few_store_user)
    client.get(reverse("staff:package-list"))  # the session's store choice is saved on the first visit
    few = _list_queries(client, store, 5)
    many = _list_queries(client, store, 195)  # 200 in all, 50 shown
    assert few == many
    # 12, and the NO_SHOW_* settings read to judge the rows' customers as the store does (their trust tier): the
    # tests read the settings table at each read (APP_SETTINGS_CACHE_SECONDS = 0), production from memory.
    assert few <= 16


# --- row commands -------------------------------------------------------------------------------


def test_complete_packaging_and_ready_for_pickup_from_the_list(as_employee, make_package):
    package = make_package(S.WAITING)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": list_url()},
        follow=True,
    )
    assert "Packaging completed." in text_of(response)
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS

    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]), {"command": "READY_FOR_PICKUP"}, **HTMX
    )
    html = text(response)
    assert flash_of(html) == ["The package is ready for pickup."]
    assert "Ready for Customer Pickup" in row_of(html, package)
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).count() == 1


def test_resend_code_from_the_row(as_employee, make_package, store, issued_code):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    first = PickupCode.objects.get(package=package)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "RESEND_PICKUP_CODE"},
        **HTMX,
    )
    html = text(response)
    assert flash_of(html) == ["A new pickup code was sent to the customer."]
    assert row_of(html, package) and issued_code(package) not in html
    first.refresh_from_db()
    assert first.invalidated_at is not None
    assert PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).count() == 1
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.CODE_RESENT, channel="web").count() == 1


def test_a_command_from_the_wrong_state_says_why_and_changes_nothing(as_employee, make_package):
    package = make_package(S.WAITING)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]), {"command": "READY_FOR_PICKUP"}, follow=True
    )
    assert "does not apply to a package that is Waiting" in text_of(response)
    package.refresh_from_db()
    assert package.status == S.WAITING

    response = as_employee.post(reverse("staff:package-command", args=[package.pk]), {"command": "NOPE"}, **HTMX)
    assert response.status_code == 400
    assert flash_of(text(response)) == ["Unknown command."]


def test_unsafe_next_is_ignored(as_employee, make_package):
    package = make_package(S.WAITING)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("staff:package-list")


def test_every_form_is_csrf_protected(employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    for url, data in (
        (reverse("staff:package-command", args=[package.pk]), {"command": "RESEND_PICKUP_CODE"}),
        (reverse("staff:package-deliver", args=[package.pk]), {"manual": "on"}),
        (reverse("staff:package-resend", args=[package.pk]), {}),
        (reverse("staff:package-cancel", args=[package.pk]), {"reason": "x"}),
        (reverse("logout"), {}),
    ):
        assert client.post(url, data).status_code == 403
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.filter(package=package).count() == 1
    # The pages carry the token in every form.
    page = text_of(client.get(reverse("staff:package-list")))
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S)
    assert forms and all("csrfmiddlewaretoken" in form for form in forms)
    dialog = client.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    assert "csrfmiddlewaretoken" in dialog


# --- the "Verify pickup code" dialog ------------------------------------------------------------


def test_dialog_has_the_labelled_code_field_and_buttons(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX)
    html = response.content.decode()
    assert "Verify pickup code" in html
    assert '<label for="id_otp">Verification code</label>' in html
    field = re.search(r'<input type="text" name="otp"[^>]*>', html, re.S).group(0)
    assert 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field
    assert 'maxlength="6"' in field and "autofocus" in field
    assert ">Verify</button>" in html and ">Resend code</button>" in html
    assert "Customer showed the code on their phone" in html
    assert "5 attempts left" in html


def test_wrong_code_stays_in_the_dialog_with_attempts_left(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    wrong = wrong_code(code)
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": wrong}, **HTMX)
    assert response.status_code == 400
    html = text(response)
    assert not closes_dialog(html)
    assert "The pickup code is wrong. 4 attempts left." in html
    assert code not in html
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None).attempts == 1
    failure = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION)
    assert failure.outcome == AuditOutcome.FAILURE and failure.channel == "web"


def test_right_code_delivers_and_returns_the_new_row(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]),
        {"otp": issued_code(package), "next": list_url(status="all")},
        **HTMX,
    )
    html = text(response)
    assert closes_dialog(html)
    assert flash_of(html) == [f"Package delivered: hand over {package.order.order_number}, 1 item."]
    assert "Delivered" in row_of(html, package) and 'hx-swap-oob="true"' in row_of(html, package)
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert package.ready_expires_at is None
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION, outcome="success").count() == 1


def test_right_code_without_javascript_redirects_with_the_message(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.get(reverse("staff:package-deliver", args=[package.pk]))
    assert response.status_code == 200 and "Verify pickup code" in text_of(response)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]),
        {"otp": issued_code(package), "next": list_url(status="all")},
        follow=True,
    )
    page = text_of(response)
    assert f"Package delivered: hand over {package.order.order_number}, 1 item." in page
    assert re.search(rf'<tr id="row-{package.pk}".*?Delivered.*?</tr>', page, re.S)
    package.refresh_from_db()
    assert package.status == S.DELIVERED


@pytest.mark.parametrize(
    "language,quantities,expected",
    [
        ("en", [1], "Package delivered: hand over DEMO-IST01-003, 1 item."),
        ("en", [1, 1], "Package delivered: hand over DEMO-IST01-003, 2 items."),
        ("en", [2, 3], "Package delivered: hand over DEMO-IST01-003, 5 items."),
        ("tr", [1], "Paket teslim edildi: DEMO-IST01-003 siparişini verin, 1 ürün."),
        ("tr", [1, 1], "Paket teslim edildi: DEMO-IST01-003 siparişini verin, 2 ürün."),
    ],
)
def test_the_delivery_message_says_what_to_hand_over(
    as_employee, make_package, issued_code, language, quantities, expected
):
    """SPEC 12: the counter is told the order number and how many things to hand over (the items' quantities)."""
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-003")
    package.items.update(quantity=quantities[0])
    for quantity in quantities[1:]:
        package.items.create(sku=f"SKU-{quantity}", name="Socks", quantity=quantity)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]),
        {"otp": issued_code(package), "next": list_url(status="all")},
        HTTP_ACCEPT_LANGUAGE=language,
        **HTMX,
    )
    assert flash_of(text(response)) == [expected]
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_malformed_code_is_refused_without_counting(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    for value in ("12345", "١٢٣٤٥٦", "12 3456", "abcdef", ""):
        response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": value}, **HTMX)
        assert response.status_code == 400
        assert not closes_dialog(text(response))
    assert PickupCode.objects.get(package=package, used_at=None).attempts == 0
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_expired_code_says_so_and_offers_resend(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
        assert "The pickup code has expired. Send a new code." in html
        resend = re.search(r"<button\b[^>]*\bdata-resend\b[^>]*>", html, re.S).group(0)
        assert "btn-primary" in resend and "autofocus" in resend and "/resend/" in resend
        response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": code}, **HTMX)
        assert "The pickup code has expired" in response.content.decode()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_locked_code_refuses_even_the_right_code(as_employee, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=2)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    wrong = wrong_code(code)
    url = reverse("staff:package-deliver", args=[package.pk])
    as_employee.post(url, {"otp": wrong}, **HTMX)
    html = as_employee.post(url, {"otp": wrong}, **HTMX).content.decode()
    assert "The code is now locked: send a new code." in html
    html = as_employee.post(url, {"otp": code}, **HTMX).content.decode()
    assert "Too many wrong entries. Send a new code." in html
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_resend_in_the_dialog_replaces_the_code(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    old = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = as_employee.post(reverse("staff:package-resend", args=[package.pk]), {}, **HTMX)
        html = text(response)
        assert not closes_dialog(html)
        assert "A new pickup code was sent to the customer." in html
        new = issued_code(package)
        assert new != old or PickupCode.objects.filter(package=package).count() == 2
        assert new not in html
        # Within the cooldown a second resend is refused with the wait.
        response = as_employee.post(reverse("staff:package-resend", args=[package.pk]), {}, **HTMX)
        assert response.status_code == 429
        assert "A new code can be sent in" in response.content.decode()
        if new != old:
            response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": old}, **HTMX)
            assert not closes_dialog(text(response))
        response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": new}, **HTMX)
        assert closes_dialog(text(response))
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert Message.objects.filter(package=package, event="code_resent").exists()


def test_manual_confirmation(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]), {"manual": "on", "otp": ""}, **HTMX
    )
    assert flash_of(text(response)) == [
        f"Package delivered after manual confirmation: hand over {package.order.order_number}, 1 item."
    ]
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION).manual is True


def test_a_code_typed_with_the_manual_box_ticked_is_checked(as_employee, make_package, issued_code):
    """The box says the customer showed the code; a code typed as well is compared all the same: a wrong one counts
    an attempt and is refused in the dialog, a right one is an ordinary verified delivery (not a manual one)."""
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-deliver", args=[package.pk])
    code = issued_code(package)
    response = as_employee.post(url, {"otp": wrong_code(code), "manual": "on", "mode": "code"}, **HTMX)
    assert response.status_code == 400
    assert not closes_dialog(text(response))
    assert "The pickup code is wrong. 4 attempts left." in response.content.decode()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None, invalidated_at=None).attempts == 1
    failure = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION)
    assert (failure.outcome, failure.error_code, failure.manual) == (AuditOutcome.FAILURE, "otp_invalid", False)

    response = as_employee.post(url, {"otp": code, "manual": "on", "mode": "code"}, **HTMX)
    assert closes_dialog(text(response))
    assert flash_of(text(response)) == [f"Package delivered: hand over {package.order.order_number}, 1 item."]
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    success = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.SUCCESS)
    assert success.manual is False
    assert AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status=S.DELIVERED).reason == ""


def test_a_code_typed_with_the_manual_box_ticked_is_checked_without_the_script(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-deliver", args=[package.pk])
    response = as_employee.post(url, {"otp": wrong_code(issued_code(package)), "manual": "on", "mode": "code"})
    assert response.status_code == 400
    assert "The pickup code is wrong. 4 attempts left." in text_of(response)
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_manual_confirmation_is_shown_in_the_readers_language_whatever_language_recorded_it(as_employee, make_package):
    """The audit stores a code for "manual confirmation", not text in the language of the request that delivered."""
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]), {"manual": "on", "otp": ""}, HTTP_ACCEPT_LANGUAGE="tr"
    )
    transition = AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status=S.DELIVERED)
    assert transition.reason == "manual_confirmation"
    url = reverse("staff:package-detail", args=[package.pk])
    assert "· manual confirmation" in text_of(as_employee.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "· elle onay" in text_of(as_employee.get(url, HTTP_ACCEPT_LANGUAGE="tr"))
    assert "manual_confirmation" not in text_of(as_employee.get(url))


def test_manual_confirmation_not_offered_or_accepted_where_off(as_employee, make_package, store):
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    assert "Customer showed the code on their phone" not in html
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"manual": "on"}, **HTMX)
    assert response.status_code == 403
    assert "Manual confirmation is not allowed at this store." in response.content.decode()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_otp_disabled_asks_for_a_plain_confirmation(as_employee, make_package, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    assert not PickupCode.objects.filter(package=package).exists()
    page = text_of(as_employee.get(reverse("staff:package-list")))
    row = re.search(rf'<tr id="row-{package.pk}".*?</tr>', page, re.S).group(0)
    assert "Resend Code" not in row
    html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    assert "Hand over the package?" in html and "Confirm handover" in html
    assert "Verification code" not in html
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {}, **HTMX)
    assert flash_of(text(response)) == [
        f"Package delivered: hand over {package.order.order_number}, 1 item. No pickup code was required at this store."
    ]
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_dialog_for_a_package_no_longer_ready(as_employee, make_package):
    package = make_package(S.DELIVERED)
    html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    assert "Package status: Delivered." in html
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": "123456"}, **HTMX)
    assert response.status_code == 409


# --- cancel -------------------------------------------------------------------------------------


def test_manager_cancels_with_a_reason(as_manager, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-cancel", args=[package.pk])
    html = as_manager.get(url, **HTMX).content.decode()
    assert "Reason for cancelling" in html
    response = as_manager.post(url, {"reason": "  "}, **HTMX)
    assert response.status_code == 400
    assert "Give a reason for the cancellation." in response.content.decode()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    response = as_manager.post(url, {"reason": "Damaged box", "next": list_url()}, follow=True)
    assert "Package cancelled." in text_of(response)
    package.refresh_from_db()
    assert package.status == S.CANCELLED
    assert package.cancellation_reason == "Damaged box"
    assert not PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).exists()


def test_employee_cannot_cancel(as_employee, make_package):
    package = make_package(S.WAITING)
    url = reverse("staff:package-cancel", args=[package.pk])
    html = as_employee.get(url, **HTMX).content.decode()
    assert "Only a store manager may do this." in html
    assert 'name="reason"' not in html
    response = as_employee.post(url, {"reason": "try"}, **HTMX)
    assert response.status_code == 403
    package.refresh_from_db()
    assert package.status == S.WAITING


# --- the package page ---------------------------------------------------------------------------


def test_package_page_shows_items_customer_timeline_and_messages(as_employee, make_package, issued_code):
    package = make_package(
        S.READY_FOR_CUSTOMER_PICKUP,
        order__customer__name="Deniz Kaya",
        order__customer__phone="+905321112233",
        order__customer__email="deniz.kaya@example.com",
    )
    code = issued_code(package)
    wrong = wrong_code(code)
    as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": wrong}, **HTMX)
    response = as_employee.get(reverse("staff:package-detail", args=[package.pk]))
    page = text_of(response)
    assert response.status_code == 200
    assert "Sneakers" in page  # the item
    assert "+90********33" in page and "+905321112233" not in page
    assert "d***@example.com" in page and "deniz.kaya@example.com" not in page
    assert "Trust tier" in page and "Good" in page
    assert "<dd>In_store</dd>" in page  # the delivery type's label (SPEC 10 spells it so)
    assert "Ready For Customer Pickup" in page  # the transition
    assert "Pickup code refused" in page and "The pickup code is wrong." in page
    assert "4 attempts left" in page
    assert "Ready for pickup" in page  # the message event
    assert "******" in page  # the masked code in the message body
    assert code not in page
    assert Message.objects.filter(package=package).exists()


def test_package_of_another_store_is_not_found(as_employee, make_package, other_store):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    for url in (
        reverse("staff:package-detail", args=[package.pk]),
        reverse("staff:package-deliver", args=[package.pk]),
        reverse("staff:package-cancel", args=[package.pk]),
    ):
        assert as_employee.get(url).status_code == 404
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"manual": "on"})
    assert response.status_code == 404
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert as_employee.get("/packages/not-a-uuid/").status_code == 404


def test_no_page_ever_shows_a_code(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    pages = [
        as_employee.get(reverse("staff:package-list")),
        as_employee.get(reverse("staff:package-detail", args=[package.pk])),
        as_employee.get(reverse("staff:package-deliver", args=[package.pk])),
    ]
    for response in pages:
        assert code not in text_of(response)


def test_a_dialog_for_htmx_is_its_partial_not_a_page(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX)
    assert response["Content-Type"].startswith("text/html")
    html = text(response)
    assert html.startswith('<div class="dialog-content"') and "<html" not in html and "<h2 " in html
    # Without htmx the same template is a page of its own, its title the page's one h1.
    page = text_of(as_employee.get(reverse("staff:package-deliver", args=[package.pk])))
    assert page.startswith("<!doctype html>") and '<h1 id="dialog-title">Verify pickup code</h1>' in page


# --- languages ----------------------------------------------------------------------------------


def test_the_language_switcher_shows_turkish(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(reverse("set_language"), {"language": "tr", "next": reverse("staff:package-list")})
    assert response.status_code == 302
    page = text_of(as_employee.get(reverse("staff:package-list")))
    assert '<html lang="tr">' in page
    for word in ("Sipariş No", "Müşteri", "Mağazadan Teslim", "Teslimat Türü", "Müşteri Teslimine Hazır", "Mağazada"):
        assert word in page
    html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    assert "Teslim kodunu doğrula" in html and "Doğrulama kodu" in html and "Kodu yeniden gönder" in html
    response = as_employee.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": "12"}, **HTMX)
    assert "Teslim kodu tam olarak 6 rakam (0-9) olmalı." in response.content.decode()


def _po_entries(path):
    """(msgid, msgstr or plural msgstrs, flags) of a .po file; enough of the format for this check."""
    entries, current, key = [], None, None

    def unquote(text):
        return ast.literal_eval(text)  # PO strings use C escapes, which Python string literals share

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current:
                entries.append(current)
            current, key = None, None
            continue
        current = current or {"flags": "", "context": "", "msgid": "", "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("msgctxt "):
            key = "context"
            current["context"] = unquote(line[8:])
        elif line.startswith("msgid_plural "):
            key = "plural"
            current["plural"] = unquote(line[13:])
        elif line.startswith("msgid "):
            key = "msgid"
            current["msgid"] = unquote(line[6:])
        elif line.startswith("msgstr"):
            # msgstr[N] for plural forms; a plain msgstr may itself contain brackets ("[\"arg1\"]").
            key = ("msgstr", line[7 : line.index("]")] if line.startswith("msgstr[") else "0")
            current["msgstr"][key[1]] = unquote(line[line.index(" ") + 1 :])
        elif line.startswith('"') and key:
            if isinstance(key, tuple):
                current["msgstr"][key[1]] += unquote(line)
            else:
                current[key] += unquote(line)
    return entries


def test_every_message_has_a_compiled_turkish_translation():
    from pathlib import Path

    from django.conf import settings
    from django.utils import translation

    po = Path(settings.BASE_DIR) / "locale" / "tr" / "LC_MESSAGES" / "django.po"
    assert (po.parent / "django.mo").exists(), "the compiled catalogue is committed"
    entries = [entry for entry in _po_entries(po) if entry["msgid"]]
    assert len(entries) > 300
    untranslated = [entry["msgid"] for entry in entries if not all(entry["msgstr"].values())]
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert untranslated == [] and fuzzy == []
    # The .mo holds what the .po says (compiled after the last edit).
    with translation.override("tr"):
        stale = [
            entry["msgid"]
            for entry in entries
            if "plural" not in entry
            and not entry["context"]
            and translation.gettext(entry["msgid"]) != entry["msgstr"]["0"]
        ]
    assert stale == []
