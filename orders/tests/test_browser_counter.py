"""The counter with a barcode scanner (SPEC 12) in a real Chromium: a queue of customers served with the keyboard
alone, typed as a USB scanner types (``keyboard.type`` a few ms a key, then Enter, no click between customers)
and as a person types the customer's code (well over 50 ms a key): staff.js tells them apart by that pace.

Also what the pages look like there: screenshots for review under ``var/screenshots/`` (1024x768 and 390x844; the
list, the wrong-code dialog and the package page; English and Turkish), and how long a scan takes to open its
dialog and a verification to update the row (printed, not asserted: the goal is under 300 ms on a dev machine).
"""

import re
import statistics
import time
from pathlib import Path

import pytest
from django.conf import settings

from core.testing import wrong_code
from orders.models import AuditKind, AuditRecord, PackageStatus
from orders.tests.test_browser import browser, log_in, pytestmark, wait_until  # noqa: F401 (fixtures, marks)
from otp.models import PickupCode

S = PackageStatus
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMES: dict[str, list[float]] = {"scan-to-dialog": [], "verify-to-row-updated": []}
# Milliseconds between keys: a USB scanner's few, a person's (at least 50-80 ms; staff.js SCANNER_KEY_GAP_MS).
SCANNER_DELAY = 5
PERSON_DELAY = 120


@pytest.fixture
def page(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()


def focus_is_the_search_box_selected(page):
    """The search box has the focus and all its text is selected: the next scan replaces it."""
    wait_until(
        page,
        "document.activeElement && document.activeElement.id === 'id_q'"
        " && document.activeElement.selectionStart === 0"
        " && document.activeElement.selectionEnd === document.activeElement.value.length"
        " && !document.querySelector('#dialog').open",
    )


def scan(page, text):
    """A scanner: its keystrokes wherever the focus is, a few ms apart, then Enter."""
    page.keyboard.type(text, delay=SCANNER_DELAY)
    started = time.perf_counter()
    page.keyboard.press("Enter")
    return started


def open_dialog_of(page, order_number, started=None):
    """Wait for the dialog of ``order_number`` (its sub line names it), the focus in it; returns the dialog."""
    wait_until(
        page,
        "document.querySelector('#dialog').open"
        f" && document.querySelector('#dialog .dialog-sub strong').textContent === '{order_number}'"
        " && document.querySelector('#dialog').contains(document.activeElement)",
    )
    if started is not None:
        TIMES["scan-to-dialog"].append((time.perf_counter() - started) * 1000)
    return page.locator("#dialog")


def type_as_a_person(page, text):
    """What staff type by hand (the customer's code), a key every ``PERSON_DELAY`` ms."""
    page.keyboard.type(text, delay=PERSON_DELAY)


def hand_over(page, package, code, *, on_page=True):
    """The customer's code typed as staff type it and Enter: delivered."""
    assert page.evaluate("document.activeElement.id") == "id_otp"
    type_as_a_person(page, code)
    page.keyboard.press("Enter")
    page.locator("#flash").get_by_role("status").filter(has_text="Package delivered: hand over").wait_for()
    focus_is_the_search_box_selected(page)
    if on_page:
        assert "Delivered" in page.locator("main h1 .badge").inner_text()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def verifications(package):
    return AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).count()


def test_a_queue_of_customers_served_by_scanner_alone(page, employee, make_package, issued_code):
    ready = {
        number: make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number=number)
        for number in ("CC-1001", "CC-1002", "CC-1007", "CC-1008", "CC-1010", "77001234")
    }
    kaya = [
        make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number=number, order__customer__name="Deniz Kaya")
        for number in ("CC-1005", "CC-1006")
    ]
    packed = make_package(S.PACKED_ALL_ITEMS, order__order_number="CC-1003")
    cancelled = make_package(S.CANCELLED, order__order_number="CC-1004")
    waiting = make_package(S.WAITING, order__order_number="CC-1009")
    log_in(page, "ayse", every_status=False)
    focus_is_the_search_box_selected(page)

    # 1. An exact order number: its Verify dialog, on the code field; the right code hands it over.
    started = scan(page, "CC-1001")
    open_dialog_of(page, "CC-1001", started)
    hand_over(page, ready["CC-1001"], issued_code(ready["CC-1001"]))

    # 2. A mis-scan: nothing matches, the list says so; the text is selected, so the next scan replaces it.
    scan(page, "CC-99X9")
    page.locator(".empty-row").filter(has_text="No package matches your search.").wait_for()
    focus_is_the_search_box_selected(page)

    # 3. The next customer; a wrong code first (counted, said in the dialog), then the right one.
    started = scan(page, "CC-1002")
    open_dialog_of(page, "CC-1002", started)
    assert page.evaluate("document.querySelector('#id_q').value") == "CC-1002"  # not "CC-1002CC-99X9"
    type_as_a_person(page, wrong_code(issued_code(ready["CC-1002"])))
    page.keyboard.press("Enter")
    page.locator("#dialog #dialog-error").filter(has_text="The pickup code is wrong. 4 attempts left.").wait_for()
    type_as_a_person(page, issued_code(ready["CC-1002"]))
    page.keyboard.press("Enter")
    page.locator("#flash").get_by_role("status").filter(has_text="Package delivered: hand over CC-1002").wait_for()
    focus_is_the_search_box_selected(page)
    ready["CC-1002"].refresh_from_db()
    assert ready["CC-1002"].status == S.DELIVERED and verifications(ready["CC-1002"]) == 2

    # 4. A name with several matches: the list of them; then the customer's order number opens the right one.
    scan(page, "Kaya")
    page.locator(".result-note").filter(has_text="2 packages match “Kaya”.").wait_for()
    focus_is_the_search_box_selected(page)
    assert [row.get_attribute("id") for row in page.locator("tbody tr").all()] == [
        f"row-{package.pk}" for package in reversed(kaya)
    ]
    started = scan(page, "CC-1006")
    open_dialog_of(page, "CC-1006", started)
    hand_over(page, kaya[1], issued_code(kaya[1]))
    kaya[0].refresh_from_db()
    assert kaya[0].status == S.READY_FOR_CUSTOMER_PICKUP and verifications(kaya[0]) == 0

    # 5. A packed package: its next command in the dialog, focused; Enter makes it ready.
    scan(page, "CC-1003")
    open_dialog_of(page, "CC-1003")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Ready for Pickup"
    page.keyboard.press("Enter")
    page.locator("#flash").get_by_role("status").filter(has_text="The package is ready for pickup.").wait_for()
    focus_is_the_search_box_selected(page)
    assert "Ready for Customer Pickup" in page.locator("main h1 .badge").inner_text()
    packed.refresh_from_db()
    assert packed.status == S.READY_FOR_CUSTOMER_PICKUP

    # 6. A cancelled package: its page says there is nothing to do; no dialog, the focus for the next scan.
    scan(page, "CC-1004")
    page.locator("#flash").get_by_role("status").filter(
        has_text="CC-1004 is Cancelled: there is nothing to do."
    ).wait_for()
    focus_is_the_search_box_selected(page)
    page.wait_for_url(re.compile(rf"/packages/{cancelled.pk}/$"))

    # 7. A scan on a package page opens the scanned package, not the one on screen.
    started = scan(page, "CC-1007")
    open_dialog_of(page, "CC-1007", started)
    # 8. ...and a scan while its dialog is open (the focus in the code field) closes it for the new customer:
    # nothing is entered as CC-1007's code, no attempt is counted.
    started = scan(page, "CC-1008")
    open_dialog_of(page, "CC-1008", started)
    assert verifications(ready["CC-1007"]) == 0
    assert PickupCode.objects.get(package=ready["CC-1007"], used_at=None).attempts == 0
    # A number of digits only, longer than a code, scanned into the code field: the same.
    started = scan(page, "77001234")
    open_dialog_of(page, "77001234", started)
    assert verifications(ready["CC-1008"]) == 0
    hand_over(page, ready["77001234"], issued_code(ready["77001234"]))

    # 9. A waiting package's "Complete Packaging" has the focus in its dialog; the next customer's scan comes
    # before anyone pressed it: its Enter opens the next package and never presses that button.
    scan(page, "CC-1009")
    open_dialog_of(page, "CC-1009")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Complete Packaging"
    started = scan(page, "CC-1010")
    open_dialog_of(page, "CC-1010", started)
    hand_over(page, ready["CC-1010"], issued_code(ready["CC-1010"]))
    waiting.refresh_from_db()
    assert waiting.status == S.WAITING

    # 10. A package delivered a moment ago, scanned again: nothing to do, nothing done twice.
    scan(page, "CC-1001")
    page.locator("#flash").get_by_role("status").filter(
        has_text="CC-1001 is Delivered: there is nothing to do."
    ).wait_for()
    focus_is_the_search_box_selected(page)

    # Each scan led to its own package: the ones never handed over are untouched.
    ready["CC-1007"].refresh_from_db()
    ready["CC-1008"].refresh_from_db()
    assert (ready["CC-1007"].status, ready["CC-1008"].status) == (S.READY_FOR_CUSTOMER_PICKUP,) * 2
    assert verifications(ready["CC-1008"]) == 0
    assert [error for error in page.console_errors if "status of 400" not in error] == []


def attempts(package):
    return PickupCode.objects.get(package=package, used_at=None).attempts


def test_a_digits_only_order_number_scanned_into_the_code_field_opens_its_package(
    page, employee, make_package, issued_code
):
    """An order number of six digits (the order system's numbers may be digits only) looks like a pickup code:
    scanned while the previous customer's Verify dialog has the focus in its code field, it is told from a
    person's typing by its pace, and searched; a person's code in that field is still a code."""
    previous = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2001")
    scanned = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="482913")
    log_in(page, "ayse", every_status=False)

    scan(page, "CC-2001")
    open_dialog_of(page, "CC-2001")
    assert page.evaluate("document.activeElement.id") == "id_otp"
    started = scan(page, "482913")
    open_dialog_of(page, "482913", started)
    page.wait_for_url(re.compile(rf"/packages/{scanned.pk}/$"))
    assert page.evaluate("document.querySelector('#id_q').value") == "482913"
    assert page.evaluate("document.activeElement.id") == "id_otp"
    assert (verifications(previous), attempts(previous)) == (0, 0)

    # The next scan while this dialog has the focus in its code field, just after the search box was filled:
    # the same, and the way back.
    scan(page, "CC-2001")
    open_dialog_of(page, "CC-2001")
    assert (verifications(scanned), attempts(scanned)) == (0, 0)
    scan(page, "482913")
    open_dialog_of(page, "482913")

    # A person typing a wrong code there: one attempt, said in the dialog; then the right one hands it over.
    type_as_a_person(page, wrong_code(issued_code(scanned)))
    page.keyboard.press("Enter")
    page.locator("#dialog #dialog-error").filter(has_text="The pickup code is wrong. 4 attempts left.").wait_for()
    assert (verifications(scanned), attempts(scanned)) == (1, 1)
    hand_over(page, scanned, issued_code(scanned))
    previous.refresh_from_db()
    assert previous.status == S.READY_FOR_CUSTOMER_PICKUP
    assert (verifications(previous), attempts(previous)) == (0, 0)


def test_a_one_time_code_autofill_is_not_a_scan(page, employee, make_package, issued_code):
    """A phone's one-time-code autofill fills the code field without a keystroke: it stays a code, and the
    Enter after it verifies it."""
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="482914")
    log_in(page, "ayse", every_status=False)
    scan(page, "482914")
    open_dialog_of(page, "482914")
    page.locator("#id_otp").fill(issued_code(package))
    page.keyboard.press("Enter")
    page.locator("#flash").get_by_role("status").filter(has_text="Package delivered: hand over 482914").wait_for()
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_a_scan_while_the_cancel_dialog_is_open_opens_the_scanned_package(page, manager, make_package):
    """The Cancel dialog has the focus in its reason: a scan there is the next customer's order number, not a
    reason; the package behind the dialog is not cancelled and the dialog closes, a person's reason stays."""
    kept = make_package(S.PACKED_ALL_ITEMS, order__order_number="DEMO-IST01-002")
    scanned = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-001")
    log_in(page, "zeynep", every_status=False)
    page.locator(f"#row-{kept.pk}").get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog", name="Cancel package").wait_for()
    wait_until(page, "document.activeElement.id === 'id_reason'")
    type_as_a_person(page, "Box ")
    page.keyboard.type("the", delay=SCANNER_DELAY)  # a fast typist's rolled keys: three, not yet a scan
    assert page.locator("#id_reason").input_value() == "Box the"
    assert page.evaluate("document.querySelector('#dialog').open && document.activeElement.id") == "id_reason"
    page.wait_for_timeout(100)  # the next customer's scan, a moment later (a key 40 ms after one would join its burst)

    started = scan(page, "DEMO-IST01-001")
    open_dialog_of(page, "DEMO-IST01-001", started)
    page.wait_for_url(re.compile(rf"/packages/{scanned.pk}/$"))
    assert page.evaluate("document.querySelector('#id_q').value") == "DEMO-IST01-001"
    kept.refresh_from_db()
    assert kept.status == S.PACKED_ALL_ITEMS and not kept.cancellation_reason

    # Even one character and its Enter, at a scanner's pace in the empty code field, is a search, never a code.
    assert page.evaluate("document.activeElement.id") == "id_otp"
    scan(page, "7")
    page.wait_for_url(re.compile(r"/packages/\?.*q=7"))
    focus_is_the_search_box_selected(page)
    assert (verifications(scanned), attempts(scanned)) == (0, 0)


def test_the_list_opens_on_what_needs_action_ready_first(page, employee, make_package):
    delivered = make_package(S.DELIVERED)
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    cancelled = make_package(S.CANCELLED)
    waiting = make_package(S.WAITING)
    packed = make_package(S.PACKED_ALL_ITEMS)
    log_in(page, "ayse", every_status=False)
    assert page.locator('.filters [aria-current="page"]').inner_text().startswith("Needs action")
    rows = [row.get_attribute("id") for row in page.locator("tbody tr").all()]
    assert rows == [f"row-{ready.pk}", f"row-{packed.pk}", f"row-{waiting.pk}"]
    assert f"row-{delivered.pk}" not in rows and f"row-{cancelled.pk}" not in rows


def test_a_scanned_name_lists_what_needs_action_first(page, employee, make_package):
    """Several matches: the ready one first, then packed, waiting, and the delivered and cancelled ones last, as
    the list opens; its first row's action is the one the counter needs."""
    statuses = (S.READY_FOR_CUSTOMER_PICKUP, S.DELIVERED, S.WAITING, S.CANCELLED, S.PACKED_ALL_ITEMS)
    made = {status: make_package(status, order__customer__name="Deniz Kaya") for status in statuses}
    log_in(page, "ayse", every_status=False)
    scan(page, "Kaya")
    page.locator(".result-note").filter(has_text="5 packages match “Kaya”.").wait_for()
    focus_is_the_search_box_selected(page)
    order = (S.READY_FOR_CUSTOMER_PICKUP, S.PACKED_ALL_ITEMS, S.WAITING, S.CANCELLED, S.DELIVERED)
    assert [row.get_attribute("id") for row in page.locator("tbody tr").all()] == [
        f"row-{made[status].pk}" for status in order
    ]


def test_a_message_does_not_move_the_rows(page, employee, make_package):
    packages = [make_package(S.WAITING) for _ in range(4)]
    log_in(page, "ayse")
    # The command on the last row (newest first: the first package made): its own badge may take two lines
    # ("Packed All Items", at 1024 px with long customer names), which moves only what lies below it.
    others = [page.locator(f"#row-{package.pk}") for package in packages[1:]]
    before = [row.bounding_box()["y"] for row in others]
    page.locator(f"#row-{packages[0].pk}").get_by_role("button", name="Complete Packaging").click()
    page.locator("#flash").get_by_role("status").filter(has_text="Packaging completed.").wait_for()
    assert [row.bounding_box()["y"] for row in others] == before


def test_a_package_is_one_compact_card_on_a_phone(browser, live_server, employee, make_package):  # noqa: F811
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    try:
        log_in(page, "ayse", every_status=False)
        card = page.locator(f"#row-{package.pk}")
        box = card.bounding_box()
        assert box["width"] <= 390 and box["height"] <= 200, box
        # The usual "Yes" and "In_store" are not repeated on every card.
        text = card.inner_text()
        assert "Delivery From Store" not in text and "In_store" not in text
        assert package.order.order_number in text and "Ready for Customer Pickup" in text
    finally:
        context.close()


FIT_WORDS = {
    "en": {"deliver": "Delivered", "cancel": "Cancel", "pack": "Complete Packaging", "done": "Packaging completed."},
    "tr": {
        "deliver": "Teslim Edildi",
        "cancel": "İptal Et",
        "pack": "Paketlemeyi Tamamla",
        "done": "Paketleme tamamlandı.",
    },
}


def boxes_overlap(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and (b["y"] < a["y"] + a["height"])
    )


@pytest.mark.parametrize("width,height", [(1024, 768), (390, 844)])
@pytest.mark.parametrize("language", ["en", "tr"])
def test_order_numbers_placeholder_cancel_and_messages_fit(
    browser,  # noqa: F811
    live_server,
    manager,
    make_package,
    width,
    height,
    language,
):
    """What a store employee saw at the counter and on a phone: an order number broken at its hyphen, the search
    box's hint cut off, a manager's red "Cancel" right under "Delivered", a message over the last row's buttons."""
    words = FIT_WORDS[language]
    ready = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-003")
    make_package(S.PACKED_ALL_ITEMS, order__order_number="DEMO-IST01-004")
    waiting = [make_package(S.WAITING, order__order_number=f"DEMO-IST01-01{n}") for n in range(6)]
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        log_in(page, "zeynep", every_status=False)
        # Each order number on one line.
        assert (
            page.evaluate("[...document.querySelectorAll('.order-no')].map(a => a.getClientRects().length)") == [1] * 8
        )
        # The search box's hint whole inside it.
        text_width, room = page.evaluate(
            """(() => {
                const box = document.querySelector('#id_q'), style = getComputedStyle(box);
                const context = document.createElement('canvas').getContext('2d');
                context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
                const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                return [context.measureText(box.placeholder).width, room];
            })()"""
        )
        assert text_width <= room, (text_width, room)
        # "Cancel" apart from "Delivered": below it with a gap...
        row = page.locator(f"#row-{ready.pk}")
        deliver = row.get_by_role("button", name=words["deliver"]).bounding_box()
        cancel = row.get_by_role("button", name=words["cancel"]).bounding_box()
        assert cancel["y"] >= deliver["y"] + deliver["height"] + 8, (deliver, cancel)
        # Not right under it: beside it (its column) or a row of buttons further down.
        beside = cancel["x"] >= deliver["x"] + deliver["width"]
        assert beside or cancel["y"] >= deliver["y"] + 2 * deliver["height"], (deliver, cancel)
        # A message after a command on the last row, scrolled to the foot of the page: not over its buttons; it
        # goes at a click, and a success by itself after 5 s.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        last = page.locator(f"#row-{waiting[0].pk}")
        last.get_by_role("button", name=words["pack"]).click()
        message = page.locator("#flash").get_by_role("status").filter(has_text=words["done"])
        message.wait_for()
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        toast = message.bounding_box()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{language}-{width}x{height}-message-at-the-foot.png"))
        for button in page.locator(f"#row-{waiting[0].pk} .btn").all():
            assert not boxes_overlap(button.bounding_box(), toast), (button.inner_text(), toast)
        if width < 760:
            message.wait_for(state="hidden", timeout=7_000)
        else:
            message.click()
            message.wait_for(state="detached", timeout=2_000)  # at once, not by fading
            focus_is_the_search_box_selected(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        wrap = page.evaluate(
            "[document.querySelector('.table-wrap').scrollWidth, document.querySelector('.table-wrap').clientWidth]"
        )
        assert wrap[0] <= wrap[1], wrap  # the table too: a one-line order number leaves the buttons room
    finally:
        context.close()


def test_timing_of_scan_and_verify_on_the_list(page, employee, make_package, issued_code):
    """Verify-to-row-updated on the list: the row (and counts) change in place, with no reload."""
    packages = [make_package(S.READY_FOR_CUSTOMER_PICKUP) for _ in range(5)]
    for _ in range(40):
        make_package(S.WAITING)
    log_in(page, "ayse")
    for package in packages:
        page.locator(f"#row-{package.pk}").get_by_role("button", name="Delivered").click()
        open_dialog_of(page, package.order.order_number)
        type_as_a_person(page, issued_code(package))
        started = time.perf_counter()
        page.keyboard.press("Enter")
        wait_until(page, f"document.querySelector('#row-{package.pk} .badge').textContent === 'Delivered'")
        TIMES["verify-to-row-updated"].append((time.perf_counter() - started) * 1000)
        focus_is_the_search_box_selected(page)
    for package in packages[:3]:
        started = scan(page, package.order.order_number)
        wait_until(page, "document.querySelector('#dialog').open || document.querySelector('#flash .flash-warning')")
        TIMES["scan-to-dialog"].append((time.perf_counter() - started) * 1000)
        # Delivered: "nothing to do"; the next scan once the search box is ready for it (its text selected).
        focus_is_the_search_box_selected(page)
    for name, values in TIMES.items():
        if values:
            print(
                f"\n{name}: n={len(values)} median={statistics.median(values):.0f} ms max={max(values):.0f} ms"
                " (goal: under 300 ms)"
            )
    assert TIMES["verify-to-row-updated"]


SHOT_WORDS = {
    "en": {"deliver": "Delivered", "title": "Verify pickup code", "wrong": "The pickup code is wrong."},
    "tr": {"deliver": "Teslim Edildi", "title": "Teslim kodunu doğrula", "wrong": "Teslim kodu yanlış."},
}


@pytest.mark.parametrize("width,height", [(1024, 768), (390, 844)])
@pytest.mark.parametrize("language", ["en", "tr"])
def test_screenshots_for_review(browser, live_server, manager, make_package, issued_code, width, height, language):  # noqa: F811
    words = SHOT_WORDS[language]
    # Order numbers as the demo data's (and many order systems') have them, with hyphens.
    make_package(S.WAITING, order__customer__name="Can Demir", order__order_number="DEMO-IST01-001")
    make_package(S.PACKED_ALL_ITEMS, order__customer__name="Elif Şahin", order__order_number="DEMO-IST01-002")
    package = make_package(
        S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya", order__order_number="DEMO-IST01-003"
    )
    make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Ayşe Yılmaz", order__order_number="482913")
    make_package(S.DELIVERED, order__order_number="DEMO-IST01-005")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        log_in(page, "zeynep", every_status=False)
        name = f"{language}-{width}x{height}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-list.png"))
        page.locator(f"#row-{package.pk}").get_by_role("button", name=words["deliver"]).click()
        dialog = page.get_by_role("dialog", name=words["title"])
        dialog.wait_for()
        type_as_a_person(page, wrong_code(issued_code(package)))
        page.keyboard.press("Enter")
        dialog.get_by_role("alert").filter(has_text=words["wrong"]).wait_for()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-dialog-wrong-code.png"))
        page.keyboard.press("Escape")
        scan(page, package.order.order_number)
        dialog.wait_for()
        page.keyboard.press("Escape")
        focus_is_the_search_box_selected(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-package.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
