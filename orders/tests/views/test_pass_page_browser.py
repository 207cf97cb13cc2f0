"""The pickup pass in a real Chromium at a phone's size (390x844), in English and Turkish: the code and its QR fit
the screen, the Content-Security-Policy refuses nothing, and "I'm here" is recorded. Screenshots go to
SCREENSHOT_DIR (default var/screenshots/)."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import AuditRecord, PackageStatus
from orders.tests.passes import pass_token_of
from orders.tests.test_browser import CHROMIUM, browser  # noqa: F401 - the module's browser fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM} (set CHROMIUM_PATH)"),
]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.refused = []  # what the browser refused or reported: CSP violations, script errors, failed loads
    page.on("console", lambda message: message.type == "error" and page.refused.append(message.text))
    page.on("pageerror", lambda error: page.refused.append(str(error)))
    page.on("requestfailed", lambda request: page.refused.append(request.url))
    yield page
    context.close()


def shot(page, name):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or Path(settings.BASE_DIR) / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def ready_pass(make_package, store, issued_code):
    store.address = "Büyükdere Cd. No:185, Levent\n34394 Şişli, İstanbul"
    store.opening_hours = "Mon–Sat 10:00–22:00\nSun 11:00–20:00"
    store.save()

    def make(language):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer__language=language)
        code = issued_code(package)
        return package, code, pass_token_of(package, code)

    return make


def assert_fits_the_phone(page):
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    qr = page.locator("svg.pass-qr-code").bounding_box()
    assert qr["width"] >= 200 and qr["x"] >= 0 and qr["x"] + qr["width"] <= PHONE["width"]
    code = page.locator(".pass-code").bounding_box()
    assert code["x"] >= 0 and code["x"] + code["width"] <= PHONE["width"]
    # The code is read across a counter: large digits.
    assert float(page.locator(".pass-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 36


def test_the_english_pass_on_a_phone(phone, ready_pass):
    _package, code, token = ready_pass("en")
    response = phone.goto(f"/p/{token}")
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    assert phone.locator(".pass-code").inner_text().replace(" ", "").replace("\n", "") == code
    assert phone.get_by_role("heading", name="Show this at the counter").is_visible()
    assert phone.get_by_text("Mon–Sat 10:00–22:00").is_visible()
    assert_fits_the_phone(phone)
    shot(phone, "pass-en-390x844")
    assert phone.refused == []


def test_the_turkish_pass_on_a_phone_and_im_here(phone, ready_pass):
    package, _code, token = ready_pass("tr")
    phone.goto(f"/p/{token}")
    assert phone.locator("html").get_attribute("lang") == "tr"
    assert phone.get_by_role("heading", name="Kasada bunu gösterin").is_visible()
    assert_fits_the_phone(phone)
    shot(phone, "pass-tr-390x844")
    phone.get_by_role("button", name="Geldim").click()
    phone.get_by_text("Mağaza geldiğinizi biliyor").wait_for()
    assert phone.url.endswith(f"/p/{token}")
    package.refresh_from_db()
    assert package.checked_in_at is not None
    assert AuditRecord.objects.filter(package=package, kind="check_in").count() == 1
    shot(phone, "pass-tr-checked-in-390x844")
    assert phone.refused == []


def test_an_invalid_pass_on_a_phone(phone, ready_pass):
    _package, code, token = ready_pass("en")
    response = phone.goto(f"/p/{token[:-6]}")
    assert response.status == 404
    assert phone.get_by_role("heading", name="This pass is not valid").is_visible()
    assert code not in phone.content()
    shot(phone, "pass-invalid-390x844")
