"""axe-core in Chromium on the staff pages (the list, a dialog, the package page, the login page) in English and
Turkish: no serious or critical violation.

axe-core comes from the npm registry for the tests only, installed once under ``var/node`` (never committed); without
npm these tests are skipped with that reason. The pages' Content-Security-Policy forbids the inline script axe is
injected as, so these tests' browser context bypasses it (test_content_security_policy_browser.py checks the
policy itself)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import PackageStatus
from orders.tests.test_browser import browser, log_in, pytestmark  # noqa: F401 (fixtures, marks)

S = PackageStatus
NODE_PREFIX = Path(settings.BASE_DIR) / "var" / "node"
AXE = NODE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("needs npm to install axe-core (npm install --no-save --prefix var/node axe-core@4)")
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX), "axe-core@4"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE.read_text(encoding="utf-8")


def serious_violations(page, axe_source):
    """axe's violations of impact serious or critical on the page as it is now (WCAG 2.x A and AA rules)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        """() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                                   "best-practice"]}})"""
    )
    assert len(results["passes"]) > 10, "axe checked next to nothing: is the page there?"
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_no_serious_violation_on_the_staff_pages(browser, live_server, manager, make_package, axe_source, language):  # noqa: F811
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Deniz Kaya")
    make_package(S.WAITING)
    make_package(S.PACKED_ALL_ITEMS)
    context = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=live_server.url, bypass_csp=True)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    found = {}
    try:
        page.goto("/login/")
        found["login"] = serious_violations(page, axe_source)
        log_in(page, "zeynep", every_status=False)
        found["list"] = serious_violations(page, axe_source)
        page.locator(f"#row-{package.pk} form[data-dialog-opener] button").first.click()
        page.locator("#dialog[open] #id_otp").wait_for()
        found["dialog"] = serious_violations(page, axe_source)
        page.keyboard.press("Escape")
        page.goto(f"/packages/{package.pk}/")
        found["package page"] = serious_violations(page, axe_source)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/packages/")
        found["list on a phone"] = serious_violations(page, axe_source)
    finally:
        context.close()
    assert {name: violations for name, violations in found.items() if violations} == {}, json.dumps(found, indent=1)
