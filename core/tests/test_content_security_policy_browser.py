"""The real pages under the Content-Security-Policy, in Chromium through Playwright: the staff pages, Django admin
(with its date widgets and our own admin pages) and the API docs work, every document carries the strict policy, and
the browser reports no violation (console "Refused to ..." errors, uncaught errors, ``securitypolicyviolation``).

Chromium is the system one (CHROMIUM_PATH, default /usr/bin/chromium); without it these tests are skipped.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.tests.test_content_security_policy import assert_strict, directives
from orders.models import NoShowStrike, PackageStatus
from orders.tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM} (set CHROMIUM_PATH)"),
]

# Runs in every document before the page's own scripts, through the DevTools protocol (which the page's policy
# does not govern): the page's own report of each violation, beside what the console says.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # As in orders/tests/test_browser.py: Playwright's sync API keeps an event loop in this thread, so Django's
    # async-safety check is lifted while the browser is open, and only then.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Watched:
    """A page that keeps its console errors, uncaught errors and CSP violations, and checks the policy header of
    every document it loads."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        self.documents: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response):
        if response.request.resource_type == "document":
            header = response.headers.get("content-security-policy")
            self.documents.append(response.url)
            if not header or "'unsafe-inline'" in directives(header).get("script-src", ["'unsafe-inline'"]):
                self.problems.append(f"{response.url}: policy {header!r}")

    def goto(self, url):
        response = self.page.goto(url)
        assert response.ok, f"{url}: {response.status}"
        assert_strict(response.headers.get("content-security-policy"))
        return response

    def assert_clean(self, where):
        self.page.wait_for_load_state("load")
        violations = self.page.evaluate("window.__cspViolations || []")
        problems = self.problems + [f"violation: {each}" for each in violations]
        assert problems == [], where


@pytest.fixture
def watched(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    yield Watched(page)
    context.close()


def test_staff_pages_work_under_the_policy(watched, make_package, employee):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    page = watched.page
    watched.goto("/login/")
    watched.assert_clean("login page")
    page.locator("#id_username").fill(employee.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/packages/$"))
    watched.assert_clean("package list")
    # The staff script runs: it marks the document, and "Delivered" opens the Verify dialog in place.
    assert page.evaluate("document.documentElement.classList.contains('js')")
    page.locator(f"#row-{package.pk}").get_by_role("button", name="Delivered").click()
    dialog = page.get_by_role("dialog", name="Verify pickup code")
    dialog.wait_for()
    page.wait_for_function("() => document.activeElement.id === 'id_otp'")  # a function: no eval at each poll
    assert page.url.endswith("/packages/")  # in place, not the dialog's own page the link falls back to
    watched.assert_clean("verify dialog")
    page.keyboard.press("Escape")
    watched.goto(f"/packages/{package.pk}/")
    assert package.order.order_number in page.get_by_role("heading", level=1).inner_text()
    watched.assert_clean("package page")
    assert len(watched.documents) >= 4


def test_admin_works_under_the_policy(watched, make_package):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    package = make_package(PackageStatus.CANCELLED)
    strike = NoShowStrike.objects.create(customer=package.order.customer, package=package)
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    task = PeriodicTask.objects.create(name="nightly", task="orders.expire_unclaimed_packages", crontab=crontab)
    page = watched.page

    watched.goto("/admin/login/?next=/admin/")
    watched.assert_clean("admin login")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    # The time zone label is styled by our admin stylesheet (it had an inline style).
    label = page.locator("#admin-time-zone")
    assert label.inner_text() == "Times in UTC"
    assert label.evaluate("element => getComputedStyle(element).fontSize") == "12px"
    watched.assert_clean("admin index")

    watched.goto(reverse("admin:orders_package_changelist"))
    assert page.locator("#result_list tbody tr").count() == 1
    page.locator("#result_list tbody input.action-select").check()  # the admin's actions script counts it
    assert "1 of 1 selected" in page.locator(".action-counter").inner_text()
    watched.assert_clean("package changelist")

    # The audit inline without each row's title line (hidden by our stylesheet; it was an inline <style>).
    watched.goto(reverse("admin:orders_package_change", args=[package.pk]))
    titles = page.locator(".audit-inline td.original p")
    assert titles.count() >= 1 and not titles.first.is_visible()
    watched.assert_clean("package change form")

    watched.goto(reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk]))
    assert page.locator("input[name=apply]").is_visible()
    watched.assert_clean("forgive page")

    # A change form with date widgets (the calendar and "Today" are the admin's scripts) and our script that
    # hides the crontab's description row and adds it to the help text when the crontab changes.
    watched.goto(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    assert not page.locator(".field-crontab_translation").is_visible()
    page.locator("#id_start_time_0 ~ .datetimeshortcuts a", has_text="Today").click()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.locator("#id_start_time_0").input_value())
    page.locator("#id_start_time_0 ~ .datetimeshortcuts .date-icon").click()
    assert page.locator(".calendarbox").first.is_visible()
    page.locator("#id_crontab").select_option(str(crontab.pk))
    page.locator("#id_crontab").dispatch_event("change")
    assert "Translation: At 03:00 AM UTC" in page.locator(".field-crontab .help").inner_text()
    watched.assert_clean("periodic task change form")


def test_api_docs_work_under_the_policy(watched):
    watched.goto("/api/docs/")
    operations = watched.page.locator(".opblock")
    operations.first.wait_for()
    assert operations.count() > 5
    assert watched.page.get_by_text("Click & Collect pickup verification API").first.is_visible()
    watched.assert_clean("API docs")
