"""The staff pages when two screens act on one package at a busy counter: a dialog or a row rendered before the
package moved on (delivered in another tab, cancelled by a manager, expired as a no-show), before the user's
membership was removed, before the store switched pickup codes on or off, or before the switcher was used in
another tab. Each must end in one clear outcome, with nothing left on screen that invites an action that cannot
apply.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.services import app_setting_set
from core.testing import wrong_code
from orders.models import AuditKind, AuditRecord, PackageStatus, StaffMembership, StaffRole
from orders.tests.factories import employee_of
from orders.tests.htmx import HTMX, closes_dialog, counts_of, flash_of, oob, row_of, text

S = PackageStatus
SEND_NEW = "Send a new code"
NOT_YOURS = "This package is no longer in your stores. The list has been reloaded."
LIST = "/packages/?store=IST01&status=all"


def deliver_url(package):
    return reverse("staff:package-deliver", args=[package.pk])


def verifications(package):
    return AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION)


@pytest.mark.django_db
def test_a_dialog_left_open_on_a_package_delivered_meanwhile_says_so_without_send_a_new_code(as_employee, make_package):
    package = make_package(S.DELIVERED)
    response = as_employee.post(deliver_url(package), {"otp": "123456", "next": LIST}, **HTMX)
    assert response.status_code == 409
    html = text(response)
    assert "does not apply to a package that is Delivered" in html
    # No "There is no valid pickup code ... Send a new code": nothing can be sent for a delivered package.
    assert SEND_NEW not in html
    assert "data-resend" not in html
    # The list's row as it is now: Delivered, without the "Delivered" dialog opener or "Resend Code".
    row = oob(html, f"row-{package.pk}")
    assert "Delivered" in row
    assert "/deliver/" not in row
    assert counts_of(html)["delivered"] == 1
    # In the list that opens on what needs action, the row leaves: the page's rows come again without it.
    html = text(as_employee.post(deliver_url(package), {"otp": "123456", "next": "/packages/"}, **HTMX))
    assert oob(html, "rows") is not None and row_of(html, package) is None


@pytest.mark.django_db
def test_a_dialog_left_open_on_a_package_cancelled_meanwhile_says_so_without_send_a_new_code(as_employee, make_package):
    package = make_package(S.CANCELLED)
    response = as_employee.post(deliver_url(package), {"manual": "on", "next": LIST}, **HTMX)
    assert response.status_code == 409
    html = text(response)
    assert "does not apply to a package that is Cancelled" in html
    assert SEND_NEW not in html
    assert "Cancelled" in row_of(html, package) and "/deliver/" not in row_of(html, package)


@pytest.mark.django_db
def test_resend_from_a_dialog_on_a_delivered_package_gives_the_row_as_it_is_now(as_employee, make_package):
    package = make_package(S.DELIVERED)
    url = reverse("staff:package-resend", args=[package.pk])
    html = text(as_employee.post(url, {"next": LIST}, **HTMX))
    assert SEND_NEW not in html
    assert "/deliver/" not in row_of(html, package)


@pytest.mark.django_db
def test_a_refused_row_button_gives_the_row_as_it_is_now(as_employee, make_package):
    package = make_package(S.DELIVERED)
    url = reverse("staff:package-command", args=[package.pk])
    response = as_employee.post(url, {"command": "READY_FOR_PICKUP", "next": LIST}, **HTMX)
    assert response.status_code == 409
    html = text(response)
    assert "does not apply" in flash_of(html)[0]
    assert "Delivered" in row_of(html, package) and "READY_FOR_PICKUP" not in row_of(html, package)


@pytest.mark.django_db
def test_cancel_dialog_on_a_package_delivered_meanwhile_offers_no_second_try(as_manager, make_package):
    package = make_package(S.DELIVERED)
    url = reverse("staff:package-cancel", args=[package.pk])
    html = text(as_manager.post(url, {"reason": "asked", "next": LIST}, **HTMX))
    assert "does not apply" in html
    assert "data-confirm-cancel" not in html
    assert "/cancel/" not in row_of(html, package)


@pytest.mark.django_db
@pytest.mark.parametrize("fetch", [True, False])
def test_a_button_pressed_after_the_membership_was_removed_reloads_the_list_with_why(
    client, employee, store, make_package, fetch
):
    package = make_package(S.PACKED_ALL_ITEMS)
    client.force_login(employee)
    StaffMembership.objects.filter(user=employee, store=store).delete()
    url = reverse("staff:package-command", args=[package.pk])
    response = client.post(url, {"command": "READY_FOR_PICKUP", "next": LIST}, **(HTMX if fetch else {}))
    if fetch:
        assert response.status_code == 404
        assert response["HX-Redirect"] == LIST  # the page loads again, without the row, saying why
        assert [str(m) for m in get_messages(response.wsgi_request)] == [NOT_YOURS]
    else:
        assert response.status_code == 404  # as for a package that never was the user's
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS


@pytest.mark.django_db
def test_verify_after_the_membership_was_removed_reloads_the_list_and_counts_nothing(
    client, employee, store, make_package, issued_code
):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    client.force_login(employee)
    StaffMembership.objects.filter(user=employee, store=store).delete()
    response = client.post(deliver_url(package), {"otp": code, "next": LIST}, **HTMX)
    assert response["HX-Redirect"] == LIST
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert not verifications(package).exists()
    # A dialog opened then (a GET by htmx) is the same, not a 404 page in place of the dialog.
    response = client.get(deliver_url(package), {"next": LIST}, **HTMX)
    assert response["HX-Redirect"] == LIST


@pytest.mark.django_db
def test_a_code_typed_after_the_store_switched_codes_off_does_not_hand_the_package_over(
    as_employee, store, make_package, issued_code
):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    response = as_employee.post(deliver_url(package), {"otp": wrong_code(code), "mode": "code"}, **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This store no longer uses pickup codes" in html
    assert "data-confirm" in html  # the plain confirmation, as the store now asks
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    assert not AuditRecord.objects.filter(
        package=package,
        kind__in=[AuditKind.VERIFICATION, AuditKind.TRANSITION],
        command="SELF_SERVICE_PACKAGE_DELIVERY_COMMAND",
    ).exists()
    # Confirmed in the dialog as it is now: delivered, no code needed.
    response = as_employee.post(deliver_url(package), {"mode": "plain"}, **HTMX)
    assert closes_dialog(text(response))
    package.refresh_from_db()
    assert package.status == S.DELIVERED


@pytest.mark.django_db
def test_a_plain_confirmation_after_the_store_switched_codes_on_asks_for_the_code(as_employee, store, make_package):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    app_setting_set(key="IS_OTP_ENABLED", value=True, store=store)
    response = as_employee.post(deliver_url(package), {"mode": "plain"}, **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This store now uses pickup codes. Enter the customer" in html
    assert "Enter the pickup code, or confirm" not in html
    assert not verifications(package).exists()


@pytest.mark.django_db
def test_the_dialog_carries_its_mode(as_employee, store, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    html = as_employee.get(deliver_url(package), **HTMX).content.decode()
    assert re.search(r'name="mode" value="code"', html)
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    html = as_employee.get(deliver_url(package), **HTMX).content.decode()
    assert re.search(r'name="mode" value="plain"', html)


@pytest.mark.django_db
def test_the_rows_come_back_to_their_store_whatever_the_session_store_is_by_then(
    client, store, other_store, make_package
):
    manager = employee_of(store, "zeynep", role=StaffRole.MANAGER)
    StaffMembership.objects.create(user=manager, store=other_store, role=StaffRole.MANAGER)
    package = make_package(S.PACKED_ALL_ITEMS)
    client.force_login(manager)
    client.get("/packages/?store=IST01")
    html = client.get("/packages/?status=all").content.decode()  # the session's store, no ?store= in the address
    nexts = set(re.findall(rf'action="/packages/{package.pk}/command/".*?name="next" value="([^"]+)"', html, re.S))
    assert nexts, "no row form found"
    for next_url in nexts:
        assert parse_qs(urlsplit(next_url.replace("&amp;", "&")).query)["store"] == ["IST01"]
    # Another tab switches the session to ANK01; the IST01 list's button still comes back to IST01.
    client.get("/packages/?store=ANK01")
    next_url = next(iter(nexts)).replace("&amp;", "&")
    response = client.post(
        reverse("staff:package-command", args=[package.pk]), {"command": "READY_FOR_PICKUP", "next": next_url}
    )
    assert response.status_code == 302
    assert "store=IST01" in response.url
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
