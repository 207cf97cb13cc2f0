"""The staff pages when the page a user is on is no longer what the server expects: the session ended while it
stayed open (signed out in another tab), its CSRF token went stale, or (without JavaScript) it stands at a form's
address and is reloaded or switched to another language. The user is told and led back, and nothing changes."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import PackageStatus
from orders.tests.factories import PASSWORD
from orders.tests.htmx import HTMX

S = PackageStatus
LIST = "/packages/?store=IST01&status=waiting"


def signed_out(client):
    client.post(reverse("logout"))
    return client


def next_of(url):
    parts = urlsplit(url)
    assert parts.path == reverse("login")
    return parse_qs(parts.query)["next"][0]


def posts(package):
    """Each form of the pages: its address and what it sends (the page it came from as ``next``)."""
    return [
        (reverse("staff:package-command", args=[package.pk]), {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT"}),
        (reverse("staff:package-deliver", args=[package.pk]), {"otp": "123456"}),
        (reverse("staff:package-resend", args=[package.pk]), {}),
        (reverse("staff:package-cancel", args=[package.pk]), {"reason": "damaged"}),
    ]


@pytest.mark.django_db
def test_a_form_posted_after_sign_out_leads_to_login_and_back_to_the_page(as_manager, make_package):
    package = make_package(S.WAITING)
    client = signed_out(as_manager)
    for url, data in posts(package):
        response = client.post(url, {**data, "next": LIST})
        assert response.status_code == 302, url
        # Back to the list after signing in, not to the form's POST-only address (a 405).
        assert next_of(response["Location"]) == LIST, url
    package.refresh_from_db()
    assert package.status == S.WAITING

    login_page = client.get(response["Location"])
    assert "You are no longer signed in. Sign in again to continue." in login_page.content.decode()
    response = client.post(response["Location"], {"username": "zeynep", "password": PASSWORD})
    assert response["Location"] == LIST
    assert client.get(LIST).status_code == 200


@pytest.mark.django_db
def test_htmx_is_sent_to_login_and_back_to_the_page(as_manager, make_package):
    package = make_package(S.WAITING)
    client = signed_out(as_manager)
    for url, data in posts(package):
        response = client.post(url, {**data, "next": LIST}, **HTMX)
        assert response.status_code == 401, url
        assert next_of(response["HX-Redirect"]) == LIST
        login_page = client.get(response["HX-Redirect"]).content.decode()
        assert "You are no longer signed in. Sign in again to continue." in login_page
    package.refresh_from_db()
    assert package.status == S.WAITING


@pytest.mark.django_db
def test_an_unsafe_next_is_not_where_login_leads(as_employee, make_package):
    package = make_package(S.WAITING)
    client = signed_out(as_employee)
    response = client.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": "https://evil.example/"},
    )
    assert next_of(response["Location"]) == reverse("staff:package-list")


@pytest.mark.django_db
def test_a_dialog_opened_after_sign_out_leads_to_login_and_back_to_it(as_employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = signed_out(as_employee)
    url = reverse("staff:package-deliver", args=[package.pk]) + "?next=/packages/"
    assert next_of(client.get(url)["Location"]) == url
    assert next_of(client.get(url, **HTMX)["HX-Redirect"]) == url


@pytest.mark.django_db
def test_a_link_opened_without_a_session_gets_the_plain_login_page(client, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    url = reverse("staff:package-deliver", args=[package.pk])
    login_page = client.get(client.get(url)["Location"]).content.decode()
    assert "Sign in" in login_page and "no longer signed in" not in login_page


@pytest.mark.django_db
def test_a_stale_csrf_token_is_said_in_the_language_of_the_page(employee, make_package, settings):
    package = make_package(S.WAITING)
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    url = reverse("staff:package-command", args=[package.pk])
    data = {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": "/packages/"}

    response = client.post(url, data, **HTMX)
    assert response.status_code == 403 and response["HX-Reswap"] == "none"
    said = json.loads(response["HX-Trigger"])
    assert said == {"staff:error": "This page has expired. Reload the page and try again."}

    response = client.post(url, data, **HTMX, HTTP_ACCEPT_LANGUAGE="tr")
    said = json.loads(response["HX-Trigger"])
    assert said == {"staff:error": "Bu sayfanın süresi doldu. Sayfayı yenileyip yeniden deneyin."}

    page = client.post(url, data)  # without the script: the page, with the signed-in user's bar
    assert page.status_code == 403
    html = page.content.decode()
    assert "Page expired" in html and "Log out" in html
    package.refresh_from_db()
    assert package.status == S.WAITING


@pytest.mark.django_db
def test_without_javascript_a_resend_leaves_a_page_that_reloads_and_switches_language(as_employee, make_package):
    from otp.models import PickupCode

    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    resend = reverse("staff:package-resend", args=[package.pk])
    deliver = reverse("staff:package-deliver", args=[package.pk])
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):  # the code expired: a new one is due
        response = as_employee.post(resend, {"next": LIST})
        assert response.status_code == 302
        assert response["Location"] == deliver + "?" + urlencode({"next": LIST})
        page = as_employee.get(response["Location"])
        html = page.content.decode()
        assert "A new pickup code was sent to the customer." in html and "Verify pickup code" in html
        assert PickupCode.objects.filter(package=package).count() == 2

        # The switcher reloads the page it is on with a GET: in Turkish, that page, and no code is sent.
        response = as_employee.post(reverse("set_language"), {"language": "tr", "next": response["Location"]})
        page = as_employee.get(response["Location"])
        assert page.status_code == 200 and "Teslim kodunu doğrula" in page.content.decode()
        # An older page that still stood at the resend address shows the dialog too, and sends nothing.
        page = as_employee.get(resend + "?" + urlencode({"next": LIST}))
        assert page.status_code == 200 and "Teslim kodunu doğrula" in page.content.decode()
    assert PickupCode.objects.filter(package=package).count() == 2
