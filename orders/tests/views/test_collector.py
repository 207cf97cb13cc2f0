"""Someone else collects (SPEC 13) on the staff pages: the Verify dialog shows who may collect and asks who did
(the customer unless chosen otherwise); the package page shows the pickup person and who collected."""

import re

import pytest
from django.urls import reverse

from core.testing import wrong_code
from orders.models import AuditKind, AuditRecord, PackageStatus
from orders.tests.htmx import HTMX, text

S = PackageStatus
PHONE = "+905551112233"


def checked(html):
    """The value of the checked "who collects" radio, or None when the dialog does not ask."""
    radios = re.findall(r'<input type="radio" name="collected_by" value="(\w+)"( checked)?>', html)
    return next((value for value, on in radios if on), None) if radios else None


def deliver(client, package, code, **data):
    url = reverse("staff:package-deliver", args=[package.pk])
    return client.post(url, {"otp": code, "mode": "code", "next": reverse("staff:package-list"), **data}, **HTMX)


def collected(package):
    return AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status=S.DELIVERED).collected_by


@pytest.fixture
def named(make_package):
    return make_package(
        S.READY_FOR_CUSTOMER_PICKUP,
        order__customer__name="Deniz Kaya",
        order__pickup_person_name="Ali Veli",
        order__pickup_person_phone=PHONE,
    )


def test_the_dialog_shows_who_may_collect_and_asks_who_did(as_employee, named):
    html = text(as_employee.get(reverse("staff:package-deliver", args=[named.pk]), **HTMX))
    assert checked(html) == "customer"  # the default
    collector = re.search(r'<fieldset class="collector".*?</fieldset>', html, re.S).group(0)
    assert "Deniz Kaya" in collector and "Ali Veli" in collector
    assert named.order.pickup_person_phone_masked in collector and PHONE not in html
    turkish = text(as_employee.get(reverse("staff:package-deliver", args=[named.pk]), HTTP_ACCEPT_LANGUAGE="tr"))
    assert "Kim teslim alıyor?" in turkish and "Teslim alacak kişi" in turkish


def test_the_pickup_person_collecting_is_recorded_and_shown(as_employee, named, issued_code):
    code = issued_code(named)
    refused = deliver(as_employee, named, wrong_code(code), collected_by="pickup_person")
    assert refused.status_code == 400
    assert checked(text(refused)) == "pickup_person"  # the choice stays after a wrong code
    response = deliver(as_employee, named, code, collected_by="pickup_person")
    assert response.status_code == 200
    named.refresh_from_db()
    assert named.status == S.DELIVERED and collected(named) == "pickup_person"
    page = text(as_employee.get(reverse("staff:package-detail", args=[named.pk])))
    assert re.search(r'<dd id="collected-by">Pickup person: Ali Veli</dd>', page)
    assert f'<dd id="pickup-person">Ali Veli · {named.order.pickup_person_phone_masked}</dd>' in page


def test_the_customer_is_the_default_and_an_unsaid_choice_is_shown_so(as_employee, named, make_package, issued_code):
    response = deliver(as_employee, named, issued_code(named), collected_by="customer")
    assert response.status_code == 200 and collected(named) == "customer"
    page = text(as_employee.get(reverse("staff:package-detail", args=[named.pk])))
    assert '<dd id="collected-by">The customer: Deniz Kaya</dd>' in page
    other = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__pickup_person_name="X", order__pickup_person_phone=PHONE)
    deliver(as_employee, other, issued_code(other))  # a form without the radios (an older page)
    assert collected(other) == ""
    page = text(as_employee.get(reverse("staff:package-detail", args=[other.pk])))
    assert '<dd id="collected-by">Not recorded</dd>' in page


def test_an_order_without_a_pickup_person_is_not_asked(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Can Demir")
    html = text(as_employee.get(reverse("staff:package-deliver", args=[package.pk]), **HTMX))
    assert checked(html) is None and 'id="pickup-person"' not in html
    refused = deliver(as_employee, package, issued_code(package), collected_by="pickup_person")
    assert refused.status_code == 409 and "This order names no pickup person." in text(refused)
    deliver(as_employee, package, issued_code(package))
    assert collected(package) == "customer"
    page = text(as_employee.get(reverse("staff:package-detail", args=[package.pk])))
    assert '<dd id="collected-by">The customer: Can Demir</dd>' in page and 'id="pickup-person"' not in page
