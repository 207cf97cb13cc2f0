"""Every staff task in a real Chromium with JavaScript turned off (SPEC 10: the pages are forms and links; the
dialogs are pages of their own, orders/dialog_page.html). Each step checks what the page says (one h1 on every
page) and what the database holds. How the browser is started: test_browser.py."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from core.services import app_setting_set
from core.testing import wrong_code
from orders import services
from orders.models import AuditKind, AuditRecord, NoShowStrike, PackageStatus, StaffMembership, StaffRole
from orders.tests.factories import PASSWORD, employee_of
from orders.tests.test_browser import CHROMIUM, browser  # noqa: F401 (the module's Chromium, shared)
from otp.models import PickupCode

S = PackageStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM} (set CHROMIUM_PATH)"),
]


@pytest.fixture
def no_js(browser, live_server, monkeypatch):  # noqa: F811
    """new(language) -> a page in a fresh context without JavaScript. Two rows a page, so the pager shows."""
    monkeypatch.setattr("orders.views.listing.PAGE_SIZE", 2)
    contexts = []

    def new(language="en"):
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 1280, "height": 860}, base_url=live_server.url
        )
        context.set_default_timeout(10_000)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def heading(page):
    """The page's one h1 (every page has exactly one, the dialogs' pages too)."""
    h1 = page.locator("h1")
    assert h1.count() == 1, page.url
    assert page.evaluate("!document.documentElement.classList.contains('js')")  # the script really did not run
    return h1.inner_text()


def sign_in(page, username, password=PASSWORD):
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()


def flash(page, role="status"):
    return page.locator("#flash").get_by_role(role)


def test_a_manager_does_every_staff_task_without_javascript(no_js, store, other_store, make_package, issued_code):
    zeynep = employee_of(store, "zeynep", role=StaffRole.MANAGER)
    StaffMembership.objects.create(user=zeynep, store=other_store, role=StaffRole.MANAGER)
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    noshow = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya")  # the oldest rows
    services.package_expire_no_show(package=noshow, now=noshow.ready_expires_at + timedelta(seconds=1))
    manual = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-MAN")
    waiting = make_package(S.WAITING, order__order_number="CC-WAIT")
    to_cancel = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-CAN")
    ready = make_package(
        S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-42", order__customer=noshow.order.customer
    )
    page = no_js()

    # Sign in: a wrong password is said, then the right one leads to the list of the first store.
    page.goto("/")
    assert heading(page) == "Staff login"
    sign_in(page, "zeynep", "wrong-password")
    assert "correct username and password" in page.get_by_role("alert").inner_text()
    assert page.locator("#id_username").get_attribute("aria-invalid") == "true"
    sign_in(page, "zeynep")
    page.wait_for_url(re.compile(r"/packages/$"))
    assert heading(page) == "Packages"
    assert page.locator(".store-name, #store-select").first.is_visible()
    assert not page.get_by_text("Tip: scan or type anywhere").is_visible()  # the script's keys: no tip without it
    # The list opens on what needs action (SPEC 12).
    assert page.locator('.filters [aria-current="page"]').inner_text().startswith("Needs action")

    # Choose the store: the switcher's own button (the script submits on change).
    page.get_by_label("Store").select_option("IST01")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(re.compile(r"store=IST01"))
    assert "5" in page.locator('.filters [data-filter="all"] .count').inner_text()
    page.get_by_role("link", name=re.compile(r"^All")).click()
    page.wait_for_url(re.compile(r"status=all"))

    # Paginate (two rows a page here): Next, Next, Previous.
    assert "Page 1 of 3" in page.locator(".pager").inner_text()
    page.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert "Page 2 of 3" in page.locator(".pager").inner_text() and heading(page) == "Packages"
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url(re.compile(r"page=1"))

    # Filter by status, then search within it by the customer's name.
    page.get_by_role("link", name=re.compile(r"^Waiting")).click()
    page.wait_for_url(re.compile(r"status=waiting"))
    assert page.locator("tbody tr").count() == 1 and page.locator(f"#row-{waiting.pk}").count() == 1
    page.get_by_role("link", name=re.compile(r"^All")).click()
    page.get_by_label("Search").fill("Deniz Kaya")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=Deniz"))
    assert page.locator(".result-note").inner_text() == "2 packages match “Deniz Kaya”."

    # A row's command is a plain form: Complete Packaging, back on the same list with the message.
    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name=re.compile(r"^Waiting")).click()
    page.locator(f"#row-{waiting.pk}").get_by_role("button", name="Complete Packaging").click()
    flash(page).filter(has_text="Packaging completed.").wait_for()
    assert "status=waiting" in page.url and page.locator(f"#row-{waiting.pk}").count() == 0
    waiting.refresh_from_db()
    assert waiting.status == S.PACKED_ALL_ITEMS

    # Resend a code from a row (no cooldown at this store).
    page.get_by_role("link", name=re.compile(r"^Ready for Customer Pickup")).click()
    page.locator(f"#row-{ready.pk}").get_by_role("button", name="Resend Code").click()
    flash(page).filter(has_text="A new pickup code was sent to the customer.").wait_for()
    assert PickupCode.objects.filter(package=ready).count() == 2

    # A scanned order number opens the package; its "Delivered" is a button to the dialog's page.
    page.get_by_label("Search").fill("CC-42")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url(re.compile(rf"/packages/{ready.pk}/$"))
    assert heading(page).startswith("CC-42")
    assert "Deniz Kaya" in page.locator("#h-customer + dl").inner_text()
    page.locator("main").get_by_role("button", name="Delivered").click()
    page.wait_for_url(re.compile(rf"/packages/{ready.pk}/deliver/\?next="))
    assert heading(page) == "Verify pickup code"
    assert page.title().startswith("Verify pickup code · CC-42")
    field = page.get_by_label("Verification code")
    assert page.evaluate("document.activeElement.id") == "id_otp"

    # Malformed: refused, not counted. Wrong: counted, said with the attempts left. Both are tied to the field.
    field.fill("12ab")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").inner_text() == "The pickup code must be exactly 6 digits (0-9)."
    assert heading(page) == "Verify pickup code"
    assert PickupCode.objects.get(package=ready, used_at=None, invalidated_at=None).attempts == 0
    field.fill(wrong_code(issued_code(ready)))
    field.press("Enter")
    assert page.get_by_role("alert").inner_text() == "The pickup code is wrong. 4 attempts left."
    assert field.get_attribute("aria-invalid") == "true"
    assert "dialog-error" in field.get_attribute("aria-describedby").split()
    assert PickupCode.objects.get(package=ready, used_at=None, invalidated_at=None).attempts == 1

    # Resend in the dialog: the notice is inside it, read with the code field; then the new code delivers.
    page.get_by_role("button", name="Resend code").click()
    page.locator("#dialog-notice").filter(has_text="A new pickup code was sent to the customer.").wait_for()
    assert flash(page).count() == 0
    assert field.get_attribute("aria-describedby").split() == ["dialog-notice", "otp-help"]
    assert heading(page) == "Verify pickup code"
    field.fill(issued_code(ready))
    field.press("Enter")
    page.wait_for_url(re.compile(rf"/packages/{ready.pk}/$"))  # back where the dialog was opened
    flash(page).filter(has_text="Package delivered: hand over").wait_for()
    ready.refresh_from_db()
    assert ready.status == S.DELIVERED

    # The customer's no-show history is there to read; staff have no command for it (the system marks no-shows,
    # administrators forgive them in the admin).
    no_shows = page.locator("#h-customer + dl").inner_text()
    assert "No-shows" in no_shows and noshow.order.order_number in no_shows
    assert page.get_by_role("button", name=re.compile("no-show|forgive", re.I)).count() == 0

    # Manual confirmation on the customer's phone.
    page.goto(f"/packages/{manual.pk}/")
    page.locator("main").get_by_role("button", name="Delivered").click()
    page.get_by_label("Customer showed the code on their phone").check()
    page.get_by_role("button", name="Verify").click()
    flash(page).filter(has_text="Package delivered after manual confirmation: hand over").wait_for()
    assert AuditRecord.objects.get(package=manual, kind=AuditKind.VERIFICATION, outcome="success").manual is True

    # Cancel with a reason: a blank one is refused and tied to the field; then cancelled, back on the list.
    page.goto("/packages/?store=IST01&status=ready_for_customer_pickup")
    page.locator(f"#row-{to_cancel.pk}").get_by_role("button", name="Cancel").click()
    assert heading(page) == "Cancel package"
    page.get_by_role("button", name="Cancel package").click()
    assert page.get_by_role("alert").inner_text() == "Give a reason for the cancellation."
    assert page.get_by_label("Reason for cancelling").get_attribute("aria-invalid") == "true"
    page.get_by_label("Reason for cancelling").fill("Box damaged in store")
    page.get_by_role("button", name="Cancel package").click()
    flash(page).filter(has_text="Package cancelled.").wait_for()
    assert "status=ready_for_customer_pickup" in page.url
    to_cancel.refresh_from_db()
    assert (to_cancel.status, to_cancel.cancellation_reason) == (S.CANCELLED, "Box damaged in store")

    # A page not found.
    page.goto("/packages/00000000-0000-0000-0000-000000000000/")
    assert heading(page) == "Not found"

    # A stale form (its CSRF token no longer holds): nothing done, and the way back is the page it came from.
    page.goto("/packages/?store=IST01&status=packed_all_items")
    page.context.clear_cookies(name="csrftoken")
    page.locator(f"#row-{waiting.pk}").get_by_role("button", name="Ready for Pickup").click()
    assert heading(page) == "Page expired"
    assert "nothing was done" in page.locator("main").inner_text()
    page.get_by_role("link", name="Open the page again").click()
    page.wait_for_url(re.compile(r"status=packed_all_items"))
    waiting.refresh_from_db()
    assert waiting.status == S.PACKED_ALL_ITEMS
    page.locator(f"#row-{waiting.pk}").get_by_role("button", name="Ready for Pickup").click()
    flash(page).filter(has_text="The package is ready for pickup.").wait_for()

    # Sign out.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert heading(page) == "Staff login"
    page.goto("/packages/")
    page.wait_for_url(re.compile(r"/login/\?next="))
    waiting.refresh_from_db()
    assert waiting.status == S.READY_FOR_CUSTOMER_PICKUP
    assert NoShowStrike.objects.filter(customer=noshow.order.customer, forgiven_at=None).count() == 1


def test_an_employee_in_turkish_without_javascript(no_js, employee, store, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1, store=store)
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="TR-1")
    page = no_js("tr")
    page.goto("/")
    assert heading(page) == "Personel girişi"
    sign_in(page, "ayse")
    page.wait_for_url(re.compile(r"/packages/$"))
    assert heading(page) == "Paketler"
    row = page.locator(f"#row-{package.pk}")
    assert row.get_by_role("button", name="İptal Et").count() == 0  # an employee does not cancel

    # A locked code: "Resend code" takes the focus, so Enter sends a new one; the right code then delivers.
    row.get_by_role("button", name="Teslim Edildi").click()
    assert heading(page) == "Teslim kodunu doğrula"
    page.get_by_label("Doğrulama kodu").fill(wrong_code(issued_code(package)))
    page.get_by_label("Doğrulama kodu").press("Enter")
    assert "kilitli" in page.get_by_role("alert").inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-resend')")

    # The language switcher on this page (answered to a POST) reloads the dialog, which still leads back.
    page.get_by_role("button", name="EN", exact=True).click()
    assert heading(page) == "Verify pickup code"
    assert page.get_by_text("Too many wrong entries. Send a new code.").is_visible()
    page.get_by_role("button", name="TR", exact=True).click()
    assert heading(page) == "Teslim kodunu doğrula"
    page.get_by_role("button", name="Kodu yeniden gönder").press("Enter")
    page.locator("#dialog-notice").filter(has_text="Müşteriye yeni bir teslim kodu gönderildi.").wait_for()
    page.get_by_label("Doğrulama kodu").fill(issued_code(package))
    page.get_by_role("button", name="Doğrula", exact=True).click()
    page.wait_for_url(re.compile(r"/packages/\?store=IST01&status=needs_action$"))
    flash(page).filter(has_text="Paket teslim edildi: ").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED

    # Cancelling is for managers: the dialog's own address says so.
    other = make_package(S.WAITING, order__order_number="TR-2")
    page.goto(f"/packages/{other.pk}/cancel/?next=/packages/")
    assert heading(page) == "Paketi iptal et"
    assert page.get_by_role("alert").inner_text() == "Bunu yalnızca mağaza yöneticisi yapabilir."

    # The session ended while a dialog stood open: signed in again, back where the dialog was opened from.
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="TR-3")
    page.goto(f"/packages/{ready.pk}/")
    page.locator("main").get_by_role("button", name="Teslim Edildi").click()
    page.context.clear_cookies(name="sessionid")
    page.get_by_label("Doğrulama kodu").fill(issued_code(ready))
    page.get_by_label("Doğrulama kodu").press("Enter")
    page.wait_for_url(re.compile(r"/login/\?next="))
    assert "Oturumunuz kapanmış" in flash(page, "status").inner_text()
    ready.refresh_from_db()
    assert ready.status == S.READY_FOR_CUSTOMER_PICKUP
    sign_in(page, "ayse")
    page.wait_for_url(re.compile(rf"/packages/{ready.pk}/$"))

    # A stale form and a missing page, in Turkish.
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Çıkış yap").click()
    assert heading(page) == "Sayfanın süresi doldu"
    assert "hiçbir işlem yapılmadı" in page.locator("main").inner_text()
    page.get_by_role("link", name="Sayfayı yeniden aç").click()
    page.goto("/packages/00000000-0000-0000-0000-000000000000/")
    assert heading(page) == "Bulunamadı"
    page.get_by_role("button", name="Çıkış yap").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert heading(page) == "Personel girişi"
