"""The customer's pickup pass at the counter (SPEC 12, 13) in a real Chromium: its QR text scanned into the search
box (``keyboard.type`` then Enter, as a USB scanner types) delivers in one step or counts a wrong code; customers
who checked in on top of the list, overdue ones on every page of the store. Screenshots under ``var/screenshots/``.

A file of its own beside test_browser_counter.py (whose helpers and fixtures it uses), which is being changed in
parallel for the scanner's details."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.testing import wrong_code
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageItem, PackageStatus
from orders.tests.test_browser import browser, log_in, pytestmark, wait_until  # noqa: F401 (fixtures, marks)
from orders.tests.test_browser_counter import (  # noqa: F401 (the page fixture)
    SCREENSHOTS,
    focus_is_the_search_box_selected,
    open_dialog_of,
    page,
    scan,
)
from otp import passes
from otp import services as otp_services

S = PackageStatus


def qr(package, code):
    return passes.pass_qr_text(package_id=package.pk, code=code)


def outcomes(package):
    return list(
        AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION)
        .order_by("created_at")
        .values_list("outcome", flat=True)
    )


def no_pass_in_the_address(page):  # noqa: F811
    assert "PICKUP" not in page.url.upper()
    assert "PICKUP" not in page.evaluate("decodeURIComponent(location.href)").upper()


def test_one_scan_of_a_pickup_pass_delivers_or_counts_a_wrong_code(page, employee, make_package, issued_code):  # noqa: F811
    first = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-003")
    PackageItem.objects.create(package=first, sku="SKU-2", name="Socks", quantity=1)
    second = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-004")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, "ayse", every_status=False)
    focus_is_the_search_box_selected(page)

    # 1. A pass with a wrong code: counted, and the Verify dialog of its package says so, on the code field.
    scan(page, qr(second, wrong_code(issued_code(second))))
    dialog = open_dialog_of(page, "DEMO-IST01-004")
    dialog.locator("#dialog-error").filter(has_text="The pickup code is wrong. 4 attempts left.").wait_for()
    assert page.evaluate("document.activeElement.id") == "id_otp"
    page.wait_for_url(f"**/packages/{second.pk}/")
    no_pass_in_the_address(page)
    assert outcomes(second) == [AuditOutcome.FAILURE]
    assert otp_services.pickup_code_current(package=second).attempts == 1
    page.screenshot(path=str(SCREENSHOTS / "pass-scan-wrong-code.png"))

    # 2. The next customer's pass scanned while that dialog is open (the focus in its code field): the dialog
    # closes, nothing is entered as a code there, and the right code delivers the package in one step.
    scan(page, qr(first, issued_code(first)))
    page.locator("#flash").get_by_role("status").filter(
        has_text="Package delivered: hand over DEMO-IST01-003, 2 items"
    ).wait_for()
    focus_is_the_search_box_selected(page)
    page.wait_for_url(f"**/packages/{first.pk}/")
    no_pass_in_the_address(page)
    assert "Delivered" in page.locator("main h1 .badge").inner_text()
    first.refresh_from_db()
    assert first.status == S.DELIVERED and outcomes(first) == [AuditOutcome.SUCCESS]
    assert outcomes(second) == [AuditOutcome.FAILURE]  # the open dialog got nothing of the scan
    page.screenshot(path=str(SCREENSHOTS / "pass-scan-delivered.png"))

    # 3. The same pass again: nothing to do, nothing done twice.
    scan(page, qr(first, issued_code(first)))
    page.locator("#flash").get_by_role("status").filter(
        has_text="DEMO-IST01-003 is Delivered: there is nothing to do."
    ).wait_for()
    assert outcomes(first) == [AuditOutcome.SUCCESS]
    assert [error for error in page.console_errors if "status of 400" not in error] == []


@pytest.mark.parametrize("width,height", [(1024, 768), (390, 844)])
def test_checked_in_customers_on_the_staff_list_and_overdue_everywhere(
    browser,  # noqa: F811
    live_server,
    employee,
    make_package,
    issued_code,
    width,
    height,
):
    waiting = make_package(
        S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2001", order__customer__name="Deniz Kaya"
    )
    coming = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2002", order__customer__name="Can Demir")
    other = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2003")
    make_package(S.WAITING)
    with time_machine.travel(timezone.now() - timedelta(minutes=7, seconds=5)):
        services.package_check_in(package_id=waiting.pk, kind="arrived")
    services.package_check_in(package_id=coming.pk, kind="on_my_way", minutes=10)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()  # noqa: F811
    try:
        log_in(page, "ayse", every_status=False)
        strip = page.locator("#check-ins .check-in")
        assert strip.all_inner_texts() == [
            "CC-2001 Deniz Kaya · Customer waiting, 7 min · overdue",
            "CC-2002 Can Demir · Customer on the way, about 10 min",
        ]
        # On top of the list, the overdue one in colour as well as in words.
        assert page.locator("#check-ins").bounding_box()["y"] < page.locator("table.packages").bounding_box()["y"]
        colour = page.locator("#check-ins .check-in-overdue").evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(180, 35, 24)"  # --danger
        alert = page.locator("#check-in-alerts")
        assert alert.is_visible() and "CC-2001" in alert.inner_text() and "overdue" in alert.inner_text()
        focus_is_the_search_box_selected(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SCREENSHOTS / f"check-ins-{width}x{height}-list.png"))

        # Another package's page of the store: the alert is there too, until the customer is served.
        page.goto(f"/packages/{other.pk}/")
        assert page.locator("#check-in-alerts").is_visible()
        page.screenshot(path=str(SCREENSHOTS / f"check-ins-{width}x{height}-package.png"))
        scan(page, qr(waiting, issued_code(waiting)))
        page.locator("#flash").get_by_role("status").filter(has_text="Package delivered: hand over CC-2001").wait_for()
        wait_until(page, "!document.querySelector('#check-in-alerts').classList.contains('has-overdue')")
        assert not page.locator("#check-in-alerts").is_visible()
        page.goto("/packages/")
        assert page.locator("#check-ins .check-in").all_inner_texts() == [
            "CC-2002 Can Demir · Customer on the way, about 10 min"
        ]
    finally:
        context.close()
