"""The staff pages for screen readers and keyboards (SPEC 10, "usable by keyboard alone"): what each error, notice
and heading is tied to, checked on the HTML the server renders. Focus rings and layout are in test_browser.py."""

from html.parser import HTMLParser

from django.urls import reverse

from core.services import app_setting_set
from core.testing import wrong_code
from orders.models import PackageStatus
from orders.tests.htmx import HTMX

S = PackageStatus


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def by_id(html: str, element_id: str) -> dict[str, str | None]:
    matches = [attrs for _tag, attrs in elements(html) if attrs.get("id") == element_id]
    assert len(matches) == 1, f"{len(matches)} elements with id {element_id!r}"
    return matches[0]


def described_by(html: str, element_id: str) -> list[str]:
    """The ids an element's aria-describedby names, each checked to exist in the same HTML."""
    ids = (by_id(html, element_id).get("aria-describedby") or "").split()
    for referenced in ids:
        by_id(html, referenced)
    return ids


def by_id_text(html: str, element_id: str) -> str:
    """The text from the element with this id to the end of its tag's first closing (enough for a message box)."""
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</", start)]


def test_a_refused_login_marks_both_fields_and_names_the_error(client, employee):
    html = client.post(reverse("login"), {"username": "ayse", "password": "wrong-password"}).content.decode()
    assert "correct username and password" in by_id_text(html, "login-error")
    for field in ("id_username", "id_password"):
        assert by_id(html, field).get("aria-invalid") == "true"
        assert described_by(html, field) == ["login-error"]
    # A fresh login page accuses nobody.
    fresh = client.get(reverse("login")).content.decode()
    assert by_id(fresh, "id_username").get("aria-invalid") is None
    assert by_id(fresh, "id_password").get("aria-describedby") is None


def test_the_package_list_has_a_level_one_heading_in_both_languages(as_employee, store):
    html = as_employee.get(reverse("staff:package-list")).content.decode()
    assert [tag for tag, _attrs in elements(html)].count("h1") == 1
    assert '<h1 class="visually-hidden">Packages</h1>' in html
    as_employee.cookies["django_language"] = "tr"
    html = as_employee.get(reverse("staff:package-list")).content.decode()
    assert '<html lang="tr">' in html
    assert '<h1 class="visually-hidden">Paketler</h1>' in html


def test_the_search_result_note_is_a_live_region_htmx_updates_in_place(as_employee, store):
    """After a command an out-of-band swap replaces the note's content ("3 packages match ..."), not the region
    itself: the region it writes into is there from the start and polite, so the new count is read out."""
    html = as_employee.get(reverse("staff:package-list"), {"q": "DEMO"}).content.decode()
    assert by_id(html, "list-note").get("aria-live") == "polite"


def test_a_refused_cancel_reason_is_tied_to_its_field(as_manager, make_package):
    package = make_package(S.WAITING)
    url = reverse("staff:package-cancel", args=[package.pk])
    html = as_manager.get(url, **HTMX).content.decode()
    assert by_id(html, "id_reason").get("aria-invalid") is None
    assert described_by(html, "id_reason") == ["reason-help"]

    html = as_manager.post(url, {"reason": "  "}, **HTMX).content.decode()
    assert "Give a reason for the cancellation." in by_id_text(html, "dialog-error")
    assert by_id(html, "id_reason").get("aria-invalid") == "true"
    assert described_by(html, "id_reason") == ["dialog-error", "reason-help"]
    package.refresh_from_db()
    assert package.status == S.WAITING


def test_a_wrong_code_is_tied_to_the_code_field(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-deliver", args=[package.pk])
    html = as_employee.post(url, {"otp": wrong_code(issued_code(package))}, **HTMX).content.decode()
    assert by_id(html, "id_otp").get("aria-invalid") == "true"
    assert described_by(html, "id_otp") == ["otp-help", "dialog-error"]


def test_the_resend_notice_is_read_with_the_code_field_that_gets_the_focus(as_employee, make_package, store):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(reverse("staff:package-resend", args=[package.pk]), **HTMX)
    html = response.content.decode()
    assert "A new pickup code was sent to the customer." in by_id_text(html, "dialog-notice")
    assert "autofocus" in by_id(html, "id_otp")
    assert described_by(html, "id_otp") == ["dialog-notice", "otp-help"]


def test_why_a_code_cannot_be_used_is_read_with_the_focused_resend_button(
    as_employee, make_package, issued_code, store
):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=1, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-deliver", args=[package.pk])

    def resend_button(html):
        buttons = [attrs for tag, attrs in elements(html) if tag == "button" and "data-resend" in attrs]
        assert len(buttons) == 1
        return buttons[0]

    # The last wrong entry: its error says the code is now locked, and the focus goes to "Resend code".
    html = as_employee.post(url, {"otp": wrong_code(issued_code(package))}, **HTMX).content.decode()
    button = resend_button(html)
    assert "autofocus" in button
    assert button["aria-describedby"] == "dialog-error"
    assert "locked" in by_id_text(html, "dialog-error")

    # Opened again on the locked code: the reason is the dialog's warning.
    html = as_employee.get(url, **HTMX).content.decode()
    button = resend_button(html)
    assert "autofocus" in button
    assert button["aria-describedby"] == "dialog-state"
    assert "Too many wrong entries. Send a new code." in by_id_text(html, "dialog-state")


def test_a_live_code_leaves_resend_without_a_description(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    html = as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX).content.decode()
    buttons = [attrs for tag, attrs in elements(html) if tag == "button" and "data-resend" in attrs]
    assert "aria-describedby" not in buttons[0] and "autofocus" not in buttons[0]
