"""The staff pages when the pickup code cannot be used (expired, locked, none) or is not used at all at the store.

A dead code cannot be verified or confirmed manually (SPEC 4), whatever is typed: the dialog (still the one of SPEC
10: the code field, Verify, Resend code) then makes *Resend code* its main, focused button, so Enter at the counter
sends a new code instead of one more refused, audited attempt, and offers no manual confirmation; the package page
puts the focus there too. Nothing says "valid until" for such a code.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.services import app_setting_set
from core.testing import wrong_code
from orders.models import AuditKind, AuditRecord, PackageStatus
from orders.tests.htmx import HTMX, closes_dialog

S = PackageStatus
EXPIRED = "The pickup code has expired. Send a new code."
LOCKED = "Too many wrong entries. Send a new code."
NOT_ISSUED = "There is no valid pickup code for this package. Send a new code."


def dialog_html(client, package):
    return client.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()


def post_code(client, package, value):
    response = client.post(reverse("staff:package-deliver", args=[package.pk]), {"otp": value}, **HTMX)
    return response.content.decode()


def button(html, marker):
    """The opening tag of the dialog's button marked ``data-<marker>`` (None when it has none)."""
    found = re.search(rf"<button\b[^>]*\bdata-{marker}\b[^>]*>", html, re.S)
    return found.group(0) if found else None


def assert_resend_is_the_main_button(html):
    resend = button(html, "resend")
    assert resend is not None
    assert "btn-primary" in resend and "autofocus" in resend
    assert "/resend/" in resend
    # The dialog of SPEC 10 still, but nothing that needs a live code leads: the field is not focused, Verify is
    # not the main button, no manual confirmation, no validity.
    field = re.search(r'<input type="text" name="otp"[^>]*>', html, re.S).group(0)
    assert "autofocus" not in field
    assert "btn-primary" not in button(html, "verify")
    assert 'name="manual"' not in html
    assert "Valid until" not in html and "attempts left" not in html and "attempt left" not in html
    assert html.count("autofocus") == 1


def verification_records(package):
    return AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).count()


# --- the dialog ---------------------------------------------------------------------------------


def test_a_live_code_keeps_the_code_field_focused_and_verify_as_the_main_button(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    html = dialog_html(as_employee, package)
    field = re.search(r'<input type="text" name="otp"[^>]*>', html, re.S).group(0)
    assert "autofocus" in field
    assert "btn-primary" in button(html, "verify")
    assert "btn-primary" not in button(html, "resend") and "autofocus" not in button(html, "resend")
    assert "5 attempts left" in html


def test_an_expired_code_opens_the_dialog_on_resend(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        html = dialog_html(as_employee, package)
    assert EXPIRED in html
    assert_resend_is_the_main_button(html)


def test_a_locked_code_opens_the_dialog_on_resend(as_employee, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    post_code(as_employee, package, wrong_code(issued_code(package)))
    html = dialog_html(as_employee, package)
    assert LOCKED in html
    assert_resend_is_the_main_button(html)


def test_the_wrong_entry_that_locks_the_code_leaves_only_resend(as_employee, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=2)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    html = post_code(as_employee, package, wrong_code(code))
    assert "1 attempt left" in html and 'name="otp"' in html  # still live
    html = post_code(as_employee, package, wrong_code(code))
    assert "The code is now locked: send a new code." in html
    assert LOCKED not in html  # said once, not twice
    assert_resend_is_the_main_button(html)


def test_a_refused_expired_code_shows_no_validity_and_offers_resend(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        html = post_code(as_employee, package, code)
    assert html.count(EXPIRED) == 1
    assert_resend_is_the_main_button(html)
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_a_refused_locked_code_shows_no_attempts_and_offers_resend(as_employee, make_package, issued_code):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    post_code(as_employee, package, wrong_code(code))
    html = post_code(as_employee, package, code)
    assert html.count(LOCKED) == 1
    assert_resend_is_the_main_button(html)
    assert verification_records(package) == 2


def test_a_package_without_a_code_offers_resend(as_employee, make_package, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)  # no code issued
    app_setting_set(key="IS_OTP_ENABLED", value=True, store=store)
    html = dialog_html(as_employee, package)
    assert html.count(NOT_ISSUED) == 1
    assert_resend_is_the_main_button(html)


def test_resend_from_a_dead_code_brings_back_the_code_field(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        html = dialog_html(as_employee, package)
        resend_url = re.search(r'formaction="([^"]+)"', button(html, "resend")).group(1)
        assert resend_url == reverse("staff:package-resend", args=[package.pk])
        response = as_employee.post(resend_url, {}, **HTMX)
        html = response.content.decode()
        assert "A new pickup code was sent to the customer." in html
        field = re.search(r'<input type="text" name="otp"[^>]*>', html, re.S).group(0)
        assert "autofocus" in field
        assert "btn-primary" in button(html, "verify")
        assert "Valid until" in html
        response = as_employee.post(
            reverse("staff:package-deliver", args=[package.pk]), {"otp": issued_code(package)}, **HTMX
        )
        assert closes_dialog(response.content.decode())
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_without_javascript_a_dead_code_page_posts_to_resend(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        page = as_employee.get(reverse("staff:package-deliver", args=[package.pk])).content.decode()
        assert_resend_is_the_main_button(page.split('<main id="main"', 1)[1])
        response = as_employee.post(reverse("staff:package-resend", args=[package.pk]), {}, follow=True)
    # Sent, then back on the dialog's own page (a reload there sends no second code).
    assert response.redirect_chain[-1][0].startswith(reverse("staff:package-deliver", args=[package.pk]))
    assert response.status_code == 200
    assert "A new pickup code was sent to the customer." in response.content.decode()


# --- the package page ---------------------------------------------------------------------------


def scanned(client, package):
    """A scan of the package's order number (SPEC 12), as htmx posts it: (the package page, its buttons, the
    dialog the answer opens out of band)."""
    response = client.post(reverse("staff:scan"), {"q": package.order.order_number}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("staff:package-detail", args=[package.pk])
    page, _, dialog = response.content.decode().partition('<div id="dialog-body" hx-swap-oob="innerHTML">')
    return page, re.search(r'<div class="page-actions">.*?</div>\s*</div>', page, re.S).group(0), dialog


def focused_label(html):
    """What has ``autofocus`` in ``html``: a button's or link's label, a field's name."""
    tags = re.findall(r"<(?:a|button)\b[^>]*\bautofocus\b[^>]*>([^<]*)<", html, re.S)
    fields = re.findall(r'<input\b[^>]*\bname="(\w+)"[^>]*\bautofocus\b[^>]*>', html, re.S)
    return [label.strip() for label in tags] + fields


def test_a_scan_opens_the_verify_dialog_on_the_code_field_for_a_live_code(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    page, actions, dialog = scanned(as_employee, package)
    # Enter goes where the code is typed; the page behind has no focused button a scanner's Enter could press.
    assert focused_label(dialog) == ["otp"]
    assert focused_label(actions) == []
    assert "Valid until" in page and "5 attempts left" in page


@pytest.mark.parametrize("dead", ["expired", "locked"])
def test_a_scan_of_a_dead_code_opens_the_dialog_on_resend(as_employee, make_package, issued_code, dead):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    later = timezone.now()
    if dead == "locked":
        post_code(as_employee, package, wrong_code(issued_code(package)))
    else:
        later += timedelta(minutes=11)
    with time_machine.travel(later):
        page, actions, dialog = scanned(as_employee, package)
    assert focused_label(dialog) == ["Resend code"]
    assert "Delivered" in actions  # still offered, just not where Enter goes
    assert (EXPIRED if dead == "expired" else LOCKED) in page
    assert "Valid until" not in page


def test_the_package_page_says_no_code_is_needed_where_codes_are_off(as_employee, make_package, store):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)  # a code is issued while codes are on
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    page, _actions, dialog = scanned(as_employee, package)
    facts = re.search(r"<dt>Pickup code</dt>\s*<dd>(.*?)</dd>", page, re.S).group(1)
    assert facts.strip() == "Not used at this store."
    assert "Valid until" not in page
    assert focused_label(dialog) == ["Confirm handover"]  # a plain confirmation follows
    turkish = as_employee.get(reverse("staff:package-detail", args=[package.pk]), HTTP_ACCEPT_LANGUAGE="tr")
    assert "Bu mağazada kullanılmıyor." in turkish.content.decode()


def test_the_package_page_says_when_there_is_no_code(as_employee, make_package, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)  # no code issued
    app_setting_set(key="IS_OTP_ENABLED", value=True, store=store)
    page, _actions, dialog = scanned(as_employee, package)
    assert NOT_ISSUED in page
    assert "Not used at this store." not in page
    assert focused_label(dialog) == ["Resend code"]
