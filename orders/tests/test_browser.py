"""The staff pages in a real Chromium through Playwright: each test checks the page and the database.

Chromium is the system one (CHROMIUM_PATH, default /usr/bin/chromium); without it these tests are
skipped with that reason. Set SCREENSHOT_DIR to keep screenshots of the list and the dialog.
"""

import os
import re
from pathlib import Path

import pytest

from core.services import app_setting_set
from core.testing import wrong_code
from notifications.models import Message
from orders import services
from orders.models import AuditKind, AuditRecord, PackageStatus, StaffRole
from orders.tests.factories import PASSWORD, employee_of
from otp.models import PickupCode

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
S = PackageStatus
# Milliseconds between the keys of a person typing a customer's code: staff.js takes a burst of keys a few ms
# apart (``keyboard.type`` without a delay) for a barcode scanner's, and sends it to the search box.
PERSON_DELAY = 120

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM} (set CHROMIUM_PATH)"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the tests' own ORM calls stay synchronous,
    # so Django's async-safety check is lifted while the browser is open, and only then.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def log_in(page, username, password=PASSWORD, *, every_status=True):
    """Sign in; then the list of every status (the list opens on what needs action: a package delivered or
    cancelled there leaves it, and these tests look at its row after)."""
    page.goto("/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/packages/$"))
    if every_status:
        page.goto("/packages/?status=all")


def wait_until(page, condition):
    """Wait (up to the default timeout) until the JavaScript expression ``condition`` holds. Playwright polls a
    function it evaluated once; a bare expression it would eval at each poll, which the pages' Content-Security-Policy
    (no 'unsafe-eval') refuses once the first check did not hold."""
    page.wait_for_function(f"() => ({condition})")


def focused_is(page, condition):
    """Wait (up to the default timeout) until ``condition`` about document.activeElement holds."""
    wait_until(page, condition)


def row(page, package):
    return page.locator(f"#row-{package.pk}")


def test_log_in_and_find_a_ready_package_by_scanner_search(page, employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2024-0042")
    make_package(S.WAITING, order__order_number="CC-2024-0043")
    page.goto("/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("ayse")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    log_in(page, "ayse", every_status=False)
    assert page.get_by_role("columnheader", name="Order No").is_visible()
    # A scanner types into the focused search box and sends Enter.
    focused_is(page, "document.activeElement.name === 'q'")
    page.keyboard.type("CC-2024-0042")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/packages/{package.pk}/$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("CC-2024-0042")
    # Ready: its Verify dialog is open on the code field; Escape leaves the package page with the search box.
    page.get_by_role("dialog", name="Verify pickup code").wait_for()
    focused_is(page, "document.activeElement.id === 'id_otp'")
    page.keyboard.press("Escape")
    focused_is(page, "document.activeElement.id === 'id_q'")
    assert page.get_by_text("Ready for Customer Pickup").first.is_visible()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert not AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).exists()


def test_wrong_code_then_right_code_through_the_dialog(page, employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    log_in(page, "ayse")
    shot(page, "list-en")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.wait_for()
    field = dialog.get_by_label("Verification code")
    assert field.get_attribute("inputmode") == "numeric"
    assert field.get_attribute("autocomplete") == "one-time-code"
    focused_is(page, "document.activeElement.id === 'id_otp'")
    shot(page, "dialog-en")

    field.fill(wrong_code(code))
    dialog.get_by_role("button", name="Verify").click()
    error = dialog.get_by_role("alert")
    error.wait_for()
    assert "The pickup code is wrong. 4 attempts left." in error.inner_text()
    assert dialog.is_visible()
    shot(page, "dialog-wrong-en")
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None).attempts == 1
    assert "Ready for Customer Pickup" in row(page, package).inner_text()

    dialog.get_by_label("Verification code").fill(code)
    dialog.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    assert not page.locator("dialog[open]").count()
    assert "Delivered" in row(page, package).locator(".badge").inner_text()
    assert not row(page, package).get_by_role("button", name="Delivered").count()
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION, outcome="success").count() == 1


def test_resend_code_from_the_dialog(page, employee, make_package, issued_code, store):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    old = issued_code(package)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_role("button", name="Resend code").click()
    dialog.get_by_text("A new pickup code was sent to the customer.").wait_for()
    new = issued_code(package)
    assert PickupCode.objects.filter(package=package).count() == 2
    assert Message.objects.filter(package=package, event="code_resent").exists()
    assert new not in page.content()
    if new != old:  # the old code stopped working at once
        dialog.get_by_label("Verification code").fill(old)
        dialog.get_by_role("button", name="Verify").click()
        dialog.get_by_role("alert").wait_for()
        package.refresh_from_db()
        assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    dialog.get_by_label("Verification code").fill(new)
    dialog.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_the_package_page_behind_a_dialog_shows_what_the_dialog_did_once_it_closes(
    page, employee, make_package, issued_code, store
):
    """On the package's own page there is no row to redraw: after "Resend code" in its dialog the page behind still
    showed the old code's validity, timeline and messages until a reload. The answer carries the page as it is."""
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "ayse")
    page.goto(f"/packages/{package.pk}/")
    messages = page.locator("table.messages tbody tr")
    before = messages.count()
    page.locator("main").get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_role("button", name="Resend code").click()
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again
    dialog.get_by_text("A new pickup code was sent to the customer.").wait_for()
    sent = Message.objects.filter(package=package, event="code_resent").count()
    assert sent >= 1
    wait_until(page, f"document.querySelectorAll('table.messages tbody tr').length === {before + sent}")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("window.notReloaded") is True


def ready_package_locked_in_the_dialog(page, make_package, issued_code, store, **fields):
    """A ready package whose code (issued with OTP_MAX_ATTEMPTS 1, no resend cooldown) ayse locks with one wrong
    entry in the dialog; returns the package and the dialog, still open."""
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1, store=store)
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, **fields)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_label("Verification code").fill(wrong_code(issued_code(package)))
    dialog.get_by_label("Verification code").press("Enter")
    dialog.get_by_text("The code is now locked: send a new code.").wait_for()
    return package, dialog


def test_closing_the_dialog_after_its_row_was_replaced_puts_the_focus_in_the_search_box(
    page, employee, make_package, issued_code, store
):
    """The refusal replaced the row (and its "Delivered" button) while the dialog was open: Escape puts the focus in
    the search box, its text selected (SPEC 12), so that the next scan replaces it and no button gets its Enter."""
    package, _dialog = ready_package_locked_in_the_dialog(page, make_package, issued_code, store)
    page.locator("#id_q").evaluate("box => { box.value = 'CC-OLD'; }")
    page.keyboard.press("Escape")
    focused_is(page, "document.activeElement.id === 'id_q'")
    assert page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]") == [0, 6]
    assert "Ready for Customer Pickup" in row(page, package).inner_text()


def test_a_locked_code_makes_resend_the_focused_main_button(page, employee, make_package, issued_code, store):
    package, dialog = ready_package_locked_in_the_dialog(page, make_package, issued_code, store)
    # Nothing typed can deliver now: "Resend code" is the main button and has the focus, so Enter sends a new code.
    resend = dialog.get_by_role("button", name="Resend code")
    assert "btn-primary" in resend.get_attribute("class")
    focused_is(page, "document.activeElement.hasAttribute('data-resend')")
    assert "btn-primary" not in dialog.get_by_role("button", name="Verify").get_attribute("class")
    assert "attempts left" not in dialog.inner_text() and "Valid until" not in dialog.inner_text()
    shot(page, "dialog-locked-en")

    # Opened again on the locked code: the same, from the start.
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog.get_by_text("Too many wrong entries. Send a new code.").wait_for()
    focused_is(page, "document.activeElement.hasAttribute('data-resend')")

    page.keyboard.press("Enter")
    dialog.get_by_text("A new pickup code was sent to the customer.").wait_for()
    focused_is(page, "document.activeElement.id === 'id_otp'")
    assert "btn-primary" in dialog.get_by_role("button", name="Verify").get_attribute("class")
    # The one wrong entry is the only attempt counted: Enter on the locked code sent no code.
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).count() == 1
    page.keyboard.type(issued_code(package), delay=PERSON_DELAY)
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_a_scan_on_a_locked_code_lands_on_resend_then_delivers(page, employee, make_package, issued_code, store):
    package, _dialog = ready_package_locked_in_the_dialog(
        page, make_package, issued_code, store, order__order_number="KB-778"
    )
    page.keyboard.press("Escape")

    page.keyboard.type("KB-778")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/packages/{package.pk}/$"))
    assert "Too many wrong entries. Send a new code." in page.locator(".facts").first.inner_text()
    # The scan opened the Verify dialog; a code cannot work: the focus is on "Resend code", and Enter sends one.
    page.get_by_role("dialog", name="Verify pickup code").wait_for()
    focused_is(page, "document.activeElement.hasAttribute('data-resend')")
    page.keyboard.press("Enter")
    page.get_by_role("dialog").get_by_text("A new pickup code was sent to the customer.").wait_for()
    # The dialog again, with a live code on the code field, and the page behind it as it is now.
    focused_is(page, "document.activeElement.id === 'id_otp'")
    assert "Valid until" in page.locator(".facts").first.inner_text()
    page.keyboard.type(issued_code(package), delay=PERSON_DELAY)
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).count() == 2


def test_manual_confirmation(page, employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_label("Customer showed the code on their phone").check()
    assert dialog.get_by_label("Verification code").is_disabled()
    dialog.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Package delivered after manual confirmation: hand over").wait_for()
    assert "Delivered" in row(page, package).inner_text()
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    record = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION)
    assert record.manual is True and record.actor == employee and record.channel == "web"


def test_a_code_typed_before_ticking_manual_confirmation_stays_and_is_checked(
    page, employee, make_package, issued_code
):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    code_field = dialog.get_by_label("Verification code")
    code_field.fill(wrong_code(issued_code(package)))
    dialog.get_by_label("Customer showed the code on their phone").check()
    # Not cleared nor disabled: what was typed goes to the server, which compares it.
    assert code_field.is_enabled() and code_field.input_value() == wrong_code(issued_code(package))
    dialog.get_by_role("button", name="Verify").click()
    dialog.get_by_role("alert").filter(has_text="The pickup code is wrong. 4 attempts left.").wait_for()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None, invalidated_at=None).attempts == 1


def test_otp_disabled_asks_for_a_plain_confirmation(page, employee, make_package, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "ayse")
    assert not row(page, package).get_by_role("button", name="Resend Code").count()
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Hand over the package?")
    dialog.wait_for()
    assert not dialog.get_by_label("Verification code").count()
    dialog.get_by_role("button", name="Confirm handover").click()
    page.get_by_role("status").filter(has_text="No pickup code was required").wait_for()
    assert "Delivered" in row(page, package).inner_text()
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    assert not PickupCode.objects.filter(package=package).exists()


def test_manager_cancels_with_a_reason(page, manager, employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "zeynep")
    row(page, package).get_by_role("button", name="Cancel").click()
    dialog = page.get_by_role("dialog", name="Cancel package")
    dialog.get_by_role("button", name="Cancel package").click()
    dialog.get_by_text("Give a reason for the cancellation.").wait_for()
    shot(page, "cancel-en")
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    dialog.get_by_label("Reason for cancelling").fill("Box damaged in store")
    dialog.get_by_role("button", name="Cancel package").click()
    page.get_by_role("status").filter(has_text="Package cancelled.").wait_for()
    assert "Cancelled" in row(page, package).inner_text()
    package.refresh_from_db()
    assert package.status == S.CANCELLED
    assert package.cancellation_reason == "Box damaged in store"


def test_employee_sees_no_cancel(page, employee, make_package):
    package = make_package(S.WAITING)
    log_in(page, "ayse")
    assert not row(page, package).get_by_role("button", name="Cancel").count()
    row(page, package).get_by_role("button", name="Complete Packaging").click()
    page.get_by_role("status").filter(has_text="Packaging completed.").wait_for()
    assert "Packed All Items" in row(page, package).inner_text()
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS


def test_the_turkish_page(page, employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    log_in(page, "ayse")
    with page.expect_navigation():
        page.get_by_role("button", name="TR").click()
    assert page.locator("html").get_attribute("lang") == "tr"
    assert page.get_by_role("columnheader", name="Sipariş No").is_visible()
    assert page.get_by_role("link", name=re.compile("Müşteri Teslimine Hazır")).is_visible()
    shot(page, "list-tr")
    row(page, package).get_by_role("button", name="Teslim Edildi").click()
    dialog = page.get_by_role("dialog", name="Teslim kodunu doğrula")
    dialog.get_by_label("Doğrulama kodu").fill(wrong_code(code))
    dialog.get_by_role("button", name="Doğrula").click()
    dialog.get_by_role("alert").wait_for()
    assert "Teslim kodu yanlış. 4 deneme hakkı kaldı." in dialog.get_by_role("alert").inner_text()
    shot(page, "dialog-tr")
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert PickupCode.objects.get(package=package, used_at=None).attempts == 1
    dialog.get_by_label("Doğrulama kodu").fill(code)
    dialog.get_by_role("button", name="Doğrula").click()
    page.get_by_role("status").filter(has_text="Paket teslim edildi: ").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_keyboard_only_delivery(page, employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="KB-777")
    other = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    page.goto("/")
    # Log in with the keyboard alone: the username field has the focus.
    focused_is(page, "document.activeElement.name === 'username'")
    page.keyboard.type("ayse")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/packages/$"))

    # A dialog opened from a row's button (Enter on it); Escape closes it and the search box has the focus.
    page.locator(f"#row-{other.pk} form[data-dialog-opener] button").first.focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()
    focused_is(page, "document.activeElement.id === 'id_otp'")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    focused_is(page, "document.activeElement.id === 'id_q'")

    # Typing with the focus on a button goes to the search box: the Enter after it searches, it presses no button.
    page.locator(f"#row-{other.pk} form[data-dialog-opener] button").first.focus()
    page.keyboard.type("KB-777")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/packages/{package.pk}/$"))
    page.get_by_role("dialog", name="Verify pickup code").wait_for()
    focused_is(page, "document.activeElement.id === 'id_otp'")
    page.keyboard.type(code, delay=PERSON_DELAY)
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    assert "Delivered" in page.get_by_role("heading", level=1).inner_text()
    focused_is(page, "document.activeElement.id === 'id_q'")
    package.refresh_from_db()
    assert package.status == S.DELIVERED
    other.refresh_from_db()
    assert other.status == S.READY_FOR_CUSTOMER_PICKUP


WORDS = {
    "en": ("Delivered", "Verify pickup code", "Verification code", "Verify", "Package delivered: hand over"),
    "tr": ("Teslim Edildi", "Teslim kodunu doğrula", "Doğrulama kodu", "Doğrula", "Paket teslim edildi:"),
}


@pytest.mark.parametrize("width,height,language", [(1024, 768, "en"), (1024, 768, "tr"), (390, 844, "en")])
def test_usable_on_a_counter_screen_and_a_phone(
    browser, live_server, manager, employee, make_package, issued_code, width, height, language
):
    deliver, title, label, verify, done = WORDS[language]
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    for _ in range(3):
        make_package(S.WAITING)
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        log_in(page, "zeynep")  # a manager: the most buttons in a row
        shot(page, f"list-{width}-{language}")
        # Nothing wider than the screen: no sideways scrolling at the counter or on a phone, all buttons visible.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.querySelector('.table-wrap').scrollWidth") <= width
        for button in row(page, package).locator(".btn").all():
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 36
        # Every part of the row (the long "Ready for Customer Pickup" badge too) stays inside its cell.
        overflowing = row(page, package).evaluate(
            """row => [...row.cells].flatMap(cell => {
                const edge = cell.getBoundingClientRect();
                return [...cell.querySelectorAll("*")]
                    .filter(el => { const box = el.getBoundingClientRect();
                                    return box.width && (box.left < edge.left - 0.5 || box.right > edge.right + 0.5); })
                    .map(el => el.className || el.tagName);
            })"""
        )
        assert overflowing == []
        row(page, package).get_by_role("button", name=deliver).click()
        dialog = page.get_by_role("dialog", name=title)
        dialog.get_by_label(label).fill(issued_code(package))
        shot(page, f"dialog-{width}-{language}")
        dialog_box = page.locator("dialog[open]").bounding_box()
        assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= width
        dialog.get_by_role("button", name=verify, exact=True).click()
        page.get_by_role("status").filter(has_text=done).wait_for()
        package.refresh_from_db()
        assert package.status == S.DELIVERED
    finally:
        context.close()


def test_store_switcher_in_the_browser(page, store, other_store, make_package):
    from orders.models import StaffMembership

    user = employee_of(store, "zeynep", role=StaffRole.MANAGER)
    StaffMembership.objects.create(user=user, store=other_store, role=StaffRole.MANAGER)
    here = make_package(S.WAITING, actor=user)
    there = make_package(S.WAITING, at_store=other_store, actor=user)
    log_in(page, "zeynep")
    assert row(page, there).count() and not row(page, here).count()
    page.get_by_label("Store").select_option("IST01")
    page.wait_for_url(re.compile(r"store=IST01"))
    assert row(page, here).count() and not row(page, there).count()
    assert user.memberships.count() == 2


def count_of(page, key):
    return page.locator(f'.filters [data-filter="{key}"] .count')


def test_filter_counts_follow_a_command_without_reload(page, manager, employee, make_package):
    package = make_package(S.WAITING)
    make_package(S.WAITING)
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "zeynep")
    assert [count_of(page, key).inner_text() for key in ("all", "waiting", "packed_all_items")] == ["3", "2", "0"]
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    row(page, package).get_by_role("button", name="Complete Packaging").click()
    page.get_by_role("status").filter(has_text="Packaging completed.").wait_for()
    assert "Packed All Items" in row(page, package).inner_text()
    assert count_of(page, "waiting").inner_text() == "1"
    assert count_of(page, "packed_all_items").inner_text() == "1"
    assert count_of(page, "all").inner_text() == "3"

    row(page, ready).get_by_role("button", name="Cancel").click()
    dialog = page.get_by_role("dialog", name="Cancel package")
    dialog.get_by_label("Reason for cancelling").fill("Box damaged in store")
    dialog.get_by_role("button", name="Cancel package").click()
    page.get_by_role("status").filter(has_text="Package cancelled.").wait_for()
    assert count_of(page, "ready_for_customer_pickup").inner_text() == "0"
    assert count_of(page, "cancelled").inner_text() == "1"
    assert page.evaluate("window.notReloaded") is True
    package.refresh_from_db()
    ready.refresh_from_db()
    assert (package.status, ready.status) == (S.PACKED_ALL_ITEMS, S.CANCELLED)


def test_a_row_leaves_a_filtered_list_without_reload(page, employee, make_package):
    package = make_package(S.WAITING)
    last = make_package(S.WAITING)
    log_in(page, "ayse")
    page.get_by_role("link", name=re.compile(r"^Waiting")).click()
    page.wait_for_url(re.compile(r"status=waiting"))
    assert row(page, package).count() and row(page, last).count()
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    row(page, package).get_by_role("button", name="Complete Packaging").click()
    page.get_by_role("status").filter(has_text="Packaging completed.").wait_for()
    row(page, package).wait_for(state="detached")
    assert row(page, last).is_visible() and "Waiting" in row(page, last).inner_text()
    assert count_of(page, "waiting").inner_text() == "1"
    assert count_of(page, "packed_all_items").inner_text() == "1"

    # The last row leaves too: the list says it is empty, as after a reload.
    row(page, last).get_by_role("button", name="Complete Packaging").click()
    row(page, last).wait_for(state="detached")
    page.locator(".empty-row").filter(has_text="No packages here.").wait_for()
    assert count_of(page, "waiting").inner_text() == "0"
    assert page.evaluate("window.notReloaded") is True
    package.refresh_from_db()
    last.refresh_from_db()
    assert (package.status, last.status) == (S.PACKED_ALL_ITEMS, S.PACKED_ALL_ITEMS)
    # The unfiltered list still shows both, as packed.
    page.get_by_role("link", name=re.compile(r"^All")).click()
    page.wait_for_url(re.compile(r"/packages/\?"))
    assert "Packed All Items" in row(page, package).inner_text() and "Packed All Items" in row(page, last).inner_text()


def test_the_search_note_follows_a_delivery_without_reload(page, employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya")
    other = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya")
    make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Ali Demir")
    code = issued_code(package)
    log_in(page, "ayse")
    page.locator("#id_q").fill("Kaya")
    page.locator("#id_q").press("Enter")
    page.wait_for_url(re.compile(r"q=Kaya"))
    # A search looks through every status; the filter narrows it, keeping the search.
    page.get_by_role("link", name=re.compile(r"^Ready for Customer Pickup")).click()
    page.wait_for_url(re.compile(r"status=ready_for_customer_pickup"))
    note = page.locator(".result-note")
    assert note.inner_text() == "2 packages match “Kaya”."
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_label("Verification code").fill(code)
    dialog.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    row(page, package).wait_for(state="detached")
    # The delivered package left the "Ready" list it was searched in: the note counts what is left, in the singular.
    assert note.inner_text() == "1 package matches “Kaya”."
    assert row(page, other).is_visible()
    assert count_of(page, "ready_for_customer_pickup").inner_text() == "1"
    assert page.evaluate("window.notReloaded") is True
    package.refresh_from_db()
    other.refresh_from_db()
    assert (package.status, other.status) == (S.DELIVERED, S.READY_FOR_CUSTOMER_PICKUP)
    # A reload says the same.
    page.reload()
    assert page.locator(".result-note").inner_text() == "1 package matches “Kaya”."


def test_pages_load_without_a_failed_request_or_console_error(page, employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    failed, errors = [], []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, "ayse")
    page.goto(f"/packages/{package.pk}/")
    page.get_by_role("heading", level=1).wait_for()
    page.wait_for_load_state("networkidle")
    assert failed == [] and errors == []
    # The icon the pages link to, and the one a browser asks for on its own.
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).headers["content-type"].startswith("image/svg+xml")
    response = page.request.get("/favicon.ico")
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")


def in_view(page, locator):
    """Whether the element is on screen, below the sticky top bar (not scrolled away, not under the bar)."""
    box = locator.bounding_box()
    bar = page.locator(".topbar").bounding_box()
    height = page.viewport_size["height"]
    return bool(box) and box["y"] >= bar["y"] + bar["height"] - 1 and box["y"] + box["height"] <= height


def test_a_row_button_far_down_the_list_says_on_screen_what_happened(page, employee, make_package):
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)  # the oldest: the last row; its code was just sent
    waiting = make_package(S.WAITING)
    for _ in range(12):
        make_package(S.WAITING)
    page.set_viewport_size({"width": 1280, "height": 600})
    log_in(page, "ayse")
    # Refused (a new code only after the cooldown): the error is on screen, not at the top of the scrolled page.
    row(page, ready).get_by_role("button", name="Resend Code").click()
    error = page.locator("#flash").get_by_role("alert")
    error.wait_for()
    assert "A new code can be sent in" in error.inner_text()
    assert page.evaluate("window.scrollY") > 0
    assert in_view(page, error)
    shot(page, "row-refused-far-down-en")
    # Done: the same.
    row(page, waiting).get_by_role("button", name="Complete Packaging").click()
    done = page.locator("#flash").get_by_role("status").filter(has_text="Packaging completed.")
    done.wait_for()
    assert in_view(page, done)
    waiting.refresh_from_db()
    assert waiting.status == S.PACKED_ALL_ITEMS
    assert PickupCode.objects.filter(package=ready).count() == 1


def test_after_a_row_button_fails_or_is_refused_the_search_box_has_the_focus(page, employee, make_package):
    """SPEC 12: after a command the search box holds the focus, its text selected, so that the next scan replaces it
    and its Enter searches; it never presses the button again. A failed request and a refusal say why on screen."""
    waiting = make_package(S.WAITING)
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)  # its code was just sent: a resend is refused (cooldown)
    log_in(page, "ayse")
    command = re.compile(rf"/packages/{waiting.pk}/command/$")
    page.route(command, lambda route: route.abort("failed"))
    row(page, waiting).get_by_role("button", name="Complete Packaging").click()
    page.locator("#flash").get_by_role("alert").wait_for()
    focused_is(page, "document.activeElement.id === 'id_q'")
    page.unroute(command)
    waiting.refresh_from_db()
    assert waiting.status == S.WAITING

    row(page, ready).get_by_role("button", name="Resend Code").click()
    page.locator("#flash").get_by_role("alert").filter(has_text="A new code can be sent in").wait_for()
    focused_is(page, "document.activeElement.id === 'id_q'")
    assert PickupCode.objects.filter(package=ready).count() == 1
    # Enter now searches (an empty search: the list that needs action); no second resend is asked for.
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status=needs_action"))
    assert AuditRecord.objects.filter(package=ready, kind=AuditKind.CODE_RESENT).count() == 0


def test_an_error_while_the_dialog_is_open_is_shown_in_the_dialog(page, employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.get_by_label("Verification code").fill(issued_code(package))
    page.context.clear_cookies(name="csrftoken")  # the page's token no longer holds (as after a sign-in elsewhere)
    dialog.get_by_role("button", name="Verify").click()
    error = dialog.get_by_role("alert")
    error.wait_for()
    assert error.inner_text() == "This page has expired. Reload the page and try again."
    assert dialog.is_visible()
    shot(page, "dialog-expired-en")
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_a_button_pressed_after_signing_out_elsewhere_leads_to_login_and_back(page, employee, make_package):
    package = make_package(S.WAITING)
    log_in(page, "ayse")
    page.get_by_role("link", name="Waiting").click()
    page.wait_for_url(re.compile(r"status=waiting"))
    other_tab = page.context.new_page()
    other_tab.goto("/packages/")
    other_tab.get_by_role("button", name="Log out").click()
    other_tab.wait_for_url(re.compile(r"/login/"))
    other_tab.close()

    row(page, package).get_by_role("button", name="Complete Packaging").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert page.get_by_role("status").filter(has_text="You are no longer signed in.").is_visible()
    package.refresh_from_db()
    assert package.status == S.WAITING
    page.locator("#id_username").fill("ayse")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/packages/\?.*status=waiting"))
    assert row(page, package).get_by_role("button", name="Complete Packaging").is_visible()


# --- focus rings and names the style sheet decides (test_accessibility.py checks the rendered HTML) -------------

FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;  // past the last control, on the way round
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  const reach = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
  const clippedBy = [];
  for (let up = el.parentElement; up; up = up.parentElement) {
    const upStyle = getComputedStyle(up);
    if (upStyle.overflowX === 'visible' && upStyle.overflowY === 'visible') continue;
    const b = up.getBoundingClientRect();
    if (box.left - reach < b.left || box.right + reach > b.right || box.top - reach < b.top || box.bottom + reach > b.bottom)
      clippedBy.push(up.tagName + '.' + up.className);
  }
  // The ring lies outside the element (outline-offset), on what is behind it: the nearest painted ancestor.
  let behind = 'rgb(255, 255, 255)';
  for (let up = el.parentElement; up; up = up.parentElement) {
    const bg = getComputedStyle(up).backgroundColor;
    if (!/^rgba\\(.*, 0\\)$/.test(bg) && bg !== 'transparent') { behind = bg; break; }
  }
  return {name: (el.innerText || el.name || el.id).trim(), style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          color: style.outlineColor, behind, clippedBy};
}"""


def contrast_ratio(first: str, second: str) -> float:
    def luminance(css_color):
        channels = [int(part) / 255 for part in re.findall(r"\d+", css_color)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted([luminance(first), luminance(second)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_control_shows_an_unclipped_focus_ring_with_contrast(page, employee):
    # WCAG 1.4.11 / 2.4.7: the ring of EN and TR was cut off by their box (overflow: hidden), and the amber ring had
    # 2.2:1 on white fields and buttons.
    page.goto("/login/")
    rings = []
    for _ in range(12):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring is None:
            continue
        if rings and ring["name"] == rings[0]["name"]:
            break
        rings.append(ring)
    assert {"EN", "TR", "username", "password", "Log in"} <= {ring["name"] for ring in rings}
    for ring in rings:
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        assert ring["clippedBy"] == [], ring
        assert contrast_ratio(ring["color"], ring["behind"]) >= 3, ring


def test_the_brand_link_keeps_its_name_on_a_phone(browser, live_server):
    # At 390 px the brand's text is hidden to make room; its mark is aria-hidden, so the link was left nameless.
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    phone.goto("/login/")
    brand = phone.get_by_role("link", name="Click & Collect")
    assert brand.count() == 1 and brand.is_visible()
    assert phone.locator(".brand-name").bounding_box()["width"] <= 1
    context.close()


def test_a_double_click_on_a_row_button_runs_one_command(page, employee, make_package):
    """The second click of a double-click lands where the first one's answer just put the next command's button
    (Complete Packaging, then Ready for Pickup, which would send the customer a code): it is ignored."""
    package = make_package(S.WAITING)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Complete Packaging").click()
    fresh = row(page, package).get_by_role("button", name="Ready for Pickup")
    fresh.wait_for()
    # The double-click's second click (the browser counts it: event.detail 2), on the button now under the pointer.
    box = fresh.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down(click_count=2)
    page.mouse.up(click_count=2)
    page.wait_for_timeout(700)
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS
    assert list(
        AuditRecord.objects.filter(package=package, kind=AuditKind.TRANSITION, actor=employee).values_list(
            "command", flat=True
        )
    ) == ["COMPLETE_PACKAGING_WITHOUT_SHIPMENT"]
    assert not PickupCode.objects.filter(package=package).exists()
    # A single click on it works.
    fresh.click()
    expect_status = row(page, package).get_by_text("Ready for Customer Pickup")
    expect_status.wait_for()
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_a_dialog_left_open_while_another_tab_delivered_ends_with_the_row_as_it_is(
    page, employee, make_package, issued_code
):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    page.locator("#id_otp").fill(code)
    # Meanwhile, another tab of the counter hands it over.
    services.package_deliver(package=package, actor=employee, channel="web", manual=True)
    page.locator("[data-verify]").click()
    error = page.locator("#dialog #dialog-error")
    error.wait_for()
    assert "does not apply to a package that is Delivered" in error.inner_text()
    dialog_text = page.locator("#dialog").inner_text()
    assert "Send a new code" not in dialog_text
    assert page.locator("#dialog [data-resend]").count() == 0
    # The row behind the dialog no longer offers "Delivered" or "Resend Code".
    assert "Delivered" in row(page, package).locator("td").nth(4).inner_text()
    assert row(page, package).locator("form[data-dialog-opener], form[data-row-action]").count() == 0
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).count() == 2


def test_a_failed_request_in_the_deliver_dialog_is_tied_to_the_code_field(page, employee, make_package, issued_code):
    """No answer (the network failed) or one the script cannot read (a proxy's HTML 502): the error shown in the
    dialog is read with the code field and marks it invalid, as a refused code does, with no id named twice."""
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    log_in(page, "ayse")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    field = dialog.get_by_label("Verification code")
    field.wait_for()
    assert field.get_attribute("aria-invalid") is None
    deliver = re.compile(rf"/packages/{package.pk}/deliver/$")

    page.route(deliver, lambda route: route.abort("failed"))
    field.fill(code)
    field.press("Enter")
    error = dialog.get_by_role("alert")
    error.wait_for()
    assert error.inner_text() == "Something went wrong. Try again."
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby").split() == ["otp-help", "dialog-error"]
    page.unroute(deliver)

    page.route(deliver, lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>"))
    dialog.get_by_role("button", name="Verify").click()
    wait_until(page, "!document.querySelector('#dialog [data-verify]').disabled")
    assert dialog.get_by_role("alert").inner_text() == "Something went wrong. Try again."
    # The pressed Verify lost the focus while it waited: it is back on the field the error is read with.
    focused_is(page, "document.activeElement.id === 'id_otp'")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby").split() == ["otp-help", "dialog-error"]
    page.unroute(deliver)
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP

    # The answer that comes through replaces the dialog as usual.
    dialog.get_by_role("button", name="Verify").click()
    page.get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_a_failed_resend_on_a_locked_code_is_tied_to_the_focused_resend_button(
    page, employee, make_package, issued_code, store
):
    package, dialog = ready_package_locked_in_the_dialog(page, make_package, issued_code, store)
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    row(page, package).get_by_role("button", name="Delivered").click()
    dialog.get_by_text("Too many wrong entries. Send a new code.").wait_for()
    focused_is(page, "document.activeElement.hasAttribute('data-resend')")
    resend = re.compile(rf"/packages/{package.pk}/resend/$")
    page.route(resend, lambda route: route.abort("failed"))
    page.keyboard.press("Enter")
    dialog.locator("#dialog-error").filter(has_text="Something went wrong. Try again.").wait_for()
    button = dialog.get_by_role("button", name="Resend code")
    assert button.get_attribute("aria-describedby").split() == ["dialog-error", "dialog-state"]
    assert dialog.get_by_label("Verification code").get_attribute("aria-invalid") == "true"
    focused_is(page, "document.activeElement.hasAttribute('data-resend')")
    page.unroute(resend)
    assert PickupCode.objects.filter(package=package).count() == 1
