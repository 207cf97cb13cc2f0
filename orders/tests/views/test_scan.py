"""The search box of every staff page (orders.views.scan) reading a pickup pass's QR text (SPEC 12, 13): one scan
opens the package and enters its code; the text travels by POST only and is never echoed or logged."""

import logging
from datetime import timedelta
from urllib.parse import unquote

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.testing import wrong_code
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageItem, PackageStatus
from orders.tests.htmx import HTMX, flash_of, text
from otp import passes
from otp import services as otp_services
from otp.models import PickupCode

S = PackageStatus


def qr(package, code):
    return passes.pass_qr_text(package_id=package.pk, code=code)


def scan(client, q, **extra):
    return client.post(reverse("staff:scan"), {"q": q}, **{**HTMX, **extra})


def verifications(package):
    return list(
        AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).values_list("outcome", flat=True)
    )


def assert_not_echoed(response, package, code):
    """Neither the pass's text nor its code is anywhere in the answer: body, headers (pushed address)."""
    body = text(response)
    headers = " ".join(f"{name}: {unquote(value)}" for name, value in response.items())
    for where in (body, headers):
        assert "PICKUP:" not in where.upper()
        assert code not in where


@pytest.fixture
def ready(make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="DEMO-IST01-003")
    PackageItem.objects.create(package=package, sku="SKU-2", name="Socks", quantity=1)
    return package


def test_a_pass_with_the_right_code_delivers_in_one_scan(as_employee, ready, issued_code):
    code = issued_code(ready)
    response = scan(as_employee, qr(ready, code))
    assert response.status_code == 200
    ready.refresh_from_db()
    assert ready.status == S.DELIVERED
    assert verifications(ready) == [AuditOutcome.SUCCESS]
    assert flash_of(text(response)) == ["Package delivered: hand over DEMO-IST01-003, 2 items."]
    # The package's page, its address pushed; no dialog (nothing left to do), no "nothing to do" warning.
    assert response["HX-Push-Url"] == reverse("staff:package-detail", args=[ready.pk])
    assert '<div id="dialog-body" hx-swap-oob="innerHTML">' not in text(response)
    assert_not_echoed(response, ready, code)


def test_the_hand_over_message_counts_items_in_turkish_and_singular(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-7")
    response = scan(as_employee, qr(package, issued_code(package)), HTTP_ACCEPT_LANGUAGE="tr")
    assert flash_of(text(response)) == ["Paket teslim edildi: CC-7 siparişini verin, 1 ürün."]
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-8")
    response = scan(as_employee, qr(package, issued_code(package)), HTTP_ACCEPT_LANGUAGE="en")
    assert flash_of(text(response)) == ["Package delivered: hand over CC-8, 1 item."]


def test_a_pass_with_a_wrong_code_counts_an_attempt_and_opens_the_verify_dialog(as_employee, ready, issued_code):
    wrong = wrong_code(issued_code(ready))
    response = scan(as_employee, qr(ready, wrong))
    assert response.status_code == 200
    ready.refresh_from_db()
    assert ready.status == S.READY_FOR_CUSTOMER_PICKUP
    assert verifications(ready) == [AuditOutcome.FAILURE]
    assert PickupCode.objects.get(package=ready, used_at=None).attempts == 1
    _page, _, dialog = text(response).partition('<div id="dialog-body" hx-swap-oob="innerHTML">')
    assert 'id="dialog-error"' in dialog and "The pickup code is wrong. 4 attempts left." in dialog
    assert 'name="otp"' in dialog and "DEMO-IST01-003" in dialog
    assert response["HX-Push-Url"] == reverse("staff:package-detail", args=[ready.pk])
    assert_not_echoed(response, ready, wrong)


def test_a_pass_of_a_replaced_code_is_a_counted_wrong_entry(as_employee, ready, issued_code, employee):
    old = issued_code(ready)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        services.package_resend_code(package=ready, actor=employee, channel="web")
        response = scan(as_employee, qr(ready, old))
    assert "This is an earlier code, replaced by a newer one." in text(response)
    assert verifications(ready) == [AuditOutcome.FAILURE]
    assert otp_services.pickup_code_current(package=ready).attempts == 1


def test_another_stores_pass_is_not_found_and_nothing_is_counted(as_employee, make_package, other_store, issued_code):
    elsewhere = make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    code = issued_code(elsewhere)
    response = scan(as_employee, qr(elsewhere, code))
    assert response.status_code == 200
    assert flash_of(text(response)) == ["No package in your stores matches this pickup pass."]
    elsewhere.refresh_from_db()
    assert elsewhere.status == S.READY_FOR_CUSTOMER_PICKUP and verifications(elsewhere) == []
    assert "q=" not in response["HX-Push-Url"]
    assert_not_echoed(response, elsewhere, code)


def test_a_pass_of_a_delivered_package_says_there_is_nothing_to_do(as_employee, ready, issued_code):
    code = issued_code(ready)
    scan(as_employee, qr(ready, code))
    response = scan(as_employee, qr(ready, code))
    assert flash_of(text(response)) == ["DEMO-IST01-003 is Delivered: there is nothing to do."]
    assert verifications(ready) == [AuditOutcome.SUCCESS]  # nothing attempted twice


def test_without_javascript_a_pass_scan_redirects_without_the_text(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    wrong = wrong_code(issued_code(package))
    response = as_employee.post(reverse("staff:scan"), {"q": qr(package, wrong)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:package-deliver", args=[package.pk]))
    assert "PICKUP" not in unquote(response["Location"]).upper()
    page = as_employee.get(response["Location"])
    assert "The pickup code is wrong. 4 attempts left." in text(page)
    response = as_employee.post(reverse("staff:scan"), {"q": qr(package, issued_code(package))}, follow=True)
    assert response.redirect_chain == [(reverse("staff:package-detail", args=[package.pk]), 302)]
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_a_pass_in_an_address_is_not_acted_on_nor_kept(as_employee, ready, issued_code):
    code = issued_code(ready)
    response = as_employee.get(reverse("staff:package-list"), {"q": qr(ready, code), "store": "IST01"})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:package-list") + "?store=IST01"
    ready.refresh_from_db()
    assert ready.status == S.READY_FOR_CUSTOMER_PICKUP and verifications(ready) == []


def test_a_pass_scan_logs_neither_its_text_nor_its_code(as_employee, ready, issued_code, caplog):
    code = issued_code(ready)
    with caplog.at_level(logging.DEBUG):
        scan(as_employee, qr(ready, wrong_code(code)))
        scan(as_employee, qr(ready, code))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert code not in logged and str(ready.pk) + ":" not in logged
