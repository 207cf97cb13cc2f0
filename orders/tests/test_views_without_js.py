"""The staff pages as the server renders them for a browser without JavaScript: each dialog is a page of its own
(orders/dialog_page.html), each form a full page load. What the page says and what it names must hold without the
script: a page heading, a way back after a stale form, the language switcher on a page answering a POST, and no
keys or roles only the script makes true. The walk through in a real browser is test_browser_nojs.py."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from core.services import app_setting_set
from core.testing import wrong_code
from orders.models import PackageStatus
from orders.tests.htmx import HTMX
from orders.tests.test_accessibility import by_id, by_id_text, described_by, elements

S = PackageStatus
LIST = "/packages/?store=IST01&status=ready_for_customer_pickup"


def headings(html: str, tag: str) -> list[dict]:
    return [attrs for name, attrs in elements(html) if name == tag]


def text_of_h1(html: str) -> str:
    start = html.index("<h1")
    return html[html.index(">", start) + 1 : html.index("</h1>", start)]


def title_of(html: str) -> str:
    return html[html.index("<title>") + len("<title>") : html.index("</title>")]


def language_next(html: str) -> str:
    """The page the language switcher reloads (its hidden ``next``)."""
    start = html.index('class="lang-switch"')
    field = html.index('name="next" value="', start) + len('name="next" value="')
    return html[field : html.index('"', field)].replace("&amp;", "&")


@pytest.mark.parametrize(
    "language,deliver_title,cancel_title,plain_title",
    [
        ("en", "Verify pickup code", "Cancel package", "Hand over the package?"),
        ("tr", "Teslim kodunu doğrula", "Paketi iptal et", "Paket teslim edilsin mi?"),
    ],
)
def test_every_dialog_page_has_its_title_as_the_one_h1(
    as_manager, make_package, store, language, deliver_title, cancel_title, plain_title
):
    as_manager.cookies["django_language"] = language
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-77")
    deliver = reverse("staff:package-deliver", args=[package.pk])
    cancel = reverse("staff:package-cancel", args=[package.pk])
    pages = [
        (as_manager.get(deliver, {"next": LIST}), deliver_title),
        (as_manager.post(deliver, {"otp": "12ab", "next": LIST}), deliver_title),  # refused: the same page
        (as_manager.get(cancel, {"next": LIST}), cancel_title),
        (as_manager.post(cancel, {"reason": " ", "next": LIST}), cancel_title),
    ]
    for response, title in pages:
        html = response.content.decode()
        assert len(headings(html, "h1")) == 1 and headings(html, "h2") == []
        assert by_id(html, "dialog-title") == headings(html, "h1")[0]
        assert text_of_h1(html) == title
        assert title_of(html).startswith(f"{title} · CC-77 · ")
        # Escape closes the script's dialog only: the page's close link does not promise it.
        close = [attrs for tag, attrs in elements(html) if tag == "a" and "dialog-close" in (attrs.get("class") or "")]
        assert "Esc" not in close[0]["title"]

    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    html = as_manager.get(deliver, {"next": LIST}).content.decode()
    assert text_of_h1(html) == plain_title
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_the_scripts_dialog_keeps_its_h2_and_escape(as_manager, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    for url in (
        reverse("staff:package-deliver", args=[package.pk]),
        reverse("staff:package-cancel", args=[package.pk]),
    ):
        html = as_manager.get(url, **HTMX).content.decode()
        assert headings(html, "h1") == [] and len(headings(html, "h2")) == 1
        assert by_id(html, "dialog-title") == headings(html, "h2")[0]
        assert 'title="Close (Esc)"' in html


def test_a_dialog_page_answering_a_post_switches_language_to_the_dialog_itself(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    deliver = reverse("staff:package-deliver", args=[package.pk])
    response = as_employee.post(deliver, {"otp": "1", "next": LIST})
    assert response.status_code == 400
    target = language_next(response.content.decode())
    assert urlsplit(target).path == deliver and parse_qs(urlsplit(target).query) == {"next": [LIST]}
    response = as_employee.post(reverse("set_language"), {"language": "tr", "next": target})
    assert response["Location"] == target
    html = as_employee.get(target).content.decode()
    assert text_of_h1(html) == "Teslim kodunu doğrula"
    assert by_id(html, "dialog-title")
    # Its links still lead back to the page the dialog was opened from.
    assert f'href="{LIST.replace("&", "&amp;")}"' in html


def test_without_the_script_the_resend_notice_is_in_the_dialog_tied_to_the_code_field(as_employee, make_package, store):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(reverse("staff:package-resend", args=[package.pk]), {"next": LIST})
    assert response.status_code == 302
    html = as_employee.get(response["Location"]).content.decode()
    assert "A new pickup code was sent to the customer." in by_id_text(html, "dialog-notice")
    assert html.count("A new pickup code was sent to the customer.") == 1  # not in the flash as well
    assert described_by(html, "id_otp") == ["dialog-notice", "otp-help"]
    assert "autofocus" in by_id(html, "id_otp")
    # Said once: the dialog opened again has no notice.
    html = as_employee.get(response["Location"]).content.decode()
    assert "A new pickup code was sent" not in html
    assert described_by(html, "id_otp") == ["otp-help"]


def test_a_notice_for_a_dialog_that_lands_elsewhere_still_shows_in_the_flash(as_employee, make_package, store):
    """Queued for the dialog page, the notice is said on whatever page comes next if that is not one (no loss)."""
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    as_employee.post(reverse("staff:package-resend", args=[package.pk]), {"next": LIST})
    html = as_employee.get(LIST).content.decode()
    assert "A new pickup code was sent to the customer." in html


def test_a_wrong_code_on_the_dialog_page_is_tied_to_the_code_field(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    deliver = reverse("staff:package-deliver", args=[package.pk])
    html = as_employee.post(deliver, {"otp": wrong_code(issued_code(package)), "next": LIST}).content.decode()
    assert "The pickup code is wrong. 4 attempts left." in by_id_text(html, "dialog-error")
    assert by_id(html, "id_otp").get("aria-invalid") == "true"
    assert described_by(html, "id_otp") == ["otp-help", "dialog-error"]


@pytest.fixture
def strict_client(employee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    return client


@pytest.mark.parametrize(
    "language,says,button",
    [
        ("en", "so nothing was done. Open the page again and repeat the last step.", "Open the page again"),
        ("tr", "bu yüzden hiçbir işlem yapılmadı. Sayfayı yeniden açıp son adımı tekrarlayın.", "Sayfayı yeniden aç"),
    ],
)
def test_a_stale_form_without_the_script_leads_back_to_its_page(strict_client, make_package, language, says, button):
    """The 403 page stands at the form's address: reloading it posts the stale token again, and a GET of a command's
    address is a 405. Its link and its language switcher lead to the page the form came from."""
    strict_client.cookies["django_language"] = language
    package = make_package(S.WAITING)
    command = reverse("staff:package-command", args=[package.pk])
    response = strict_client.post(command, {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": LIST})
    assert response.status_code == 403
    html = response.content.decode()
    assert says in html
    links = [attrs for tag, attrs in elements(html) if tag == "a" and attrs.get("class") == "btn"]
    assert [link["href"].replace("&amp;", "&") for link in links] == [LIST]
    assert f">{button}</a>" in html
    assert language_next(html) == LIST
    assert "Reload the page" not in html
    package.refresh_from_db()
    assert package.status == S.WAITING


def test_a_stale_form_with_a_foreign_next_leads_to_the_list(strict_client, make_package):
    package = make_package(S.WAITING)
    command = reverse("staff:package-command", args=[package.pk])
    html = strict_client.post(command, {"command": "X", "next": "https://evil.example/"}).content.decode()
    assert language_next(html) == reverse("staff:package-list")
    assert "evil.example" not in html
    # Sign-out's form names no page: the list too.
    html = strict_client.post(reverse("logout")).content.decode()
    assert language_next(html) == reverse("staff:package-list")


def test_a_form_for_a_package_out_of_reach_gets_a_404_whose_switcher_leads_to_the_list(
    as_employee, make_package, other_store
):
    package = make_package(S.WAITING, at_store=other_store)
    command = reverse("staff:package-command", args=[package.pk])
    response = as_employee.post(command, {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": LIST})
    assert response.status_code == 404
    assert language_next(response.content.decode()) == reverse("staff:package-list")
    # A page looked up with a GET switches language on itself.
    detail = reverse("staff:package-detail", args=[package.pk]) + "?x=1"
    response = as_employee.get(detail)
    assert response.status_code == 404 and language_next(response.content.decode()) == detail
    package.refresh_from_db()
    assert package.status == S.WAITING


def test_the_list_promises_no_key_or_button_only_the_script_makes_work(as_manager, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    html = as_manager.get(reverse("staff:package-list")).content.decode()
    assert f'id="row-{package.pk}"' in html
    # Without the script typing elsewhere stays there and Escape closes no dialog: the tip is the script's.
    (hint,) = [attrs for tag, attrs in elements(html) if tag == "p" and "hint" in (attrs.get("class") or "")]
    assert "js-only" in hint["class"].split()
    assert "aria-keyshortcuts" not in by_id(html, "id_q")
    # "Delivered" and "Cancel" are real buttons of GET forms that lead to the dialogs' pages (htmx opens them in
    # place): Enter and Space both work, with or without the script.
    openers = [attrs for tag, attrs in elements(html) if tag == "form" and "data-dialog-opener" in attrs]
    assert [(opener["method"], opener["action"]) for opener in openers] == [
        ("get", reverse("staff:package-deliver", args=[package.pk])),
        ("get", reverse("staff:package-cancel", args=[package.pk])),
    ]
    assert 'role="button"' not in html
