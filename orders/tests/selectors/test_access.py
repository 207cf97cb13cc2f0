"""Who may do what, tried as an attacker with a real but limited account on every surface: staff pages (session),
REST API (JWT), Django admin. Another store's ids in every URL and body, a `next` leading away, a missing CSRF token,
an integration account that also holds a membership, access lost while signed in (SPEC 9.1)."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from core.errors import ApplicationError
from orders import commands as cmd
from orders import selectors, services
from orders.models import Package, PackageStatus, StaffMembership, StaffRole
from orders.tests.apiclient import _fresh_throttles, bearer, obtain_tokens  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD, PackageFactory, employee_of, integration_user
from otp.models import PickupCode

HTMX_HEADERS = {"HX-Request": "true"}
pytestmark = pytest.mark.django_db


def staff_forms(package):
    """Every state-changing staff request: its address and a body that would change the package."""
    return [
        (reverse("staff:package-command", args=[package.pk]), {"command": cmd.COMPLETE_PACKAGING}),
        (reverse("staff:package-command", args=[package.pk]), {"command": cmd.CANCEL, "reason": "x"}),
        (reverse("staff:package-deliver", args=[package.pk]), {"otp": "123456", "manual": "on"}),
        (reverse("staff:package-resend", args=[package.pk]), {}),
        (reverse("staff:package-cancel", args=[package.pk]), {"reason": "damaged"}),
    ]


def staff_pages(package):
    return [reverse("staff:package-detail", args=[package.pk])] + [url for url, _data in staff_forms(package)]


def live_code(package):
    return PickupCode.objects.get(package=package, used_at=None, invalidated_at=None)


def assert_refused(client, url, data, headers=None):
    """A form for a package out of the user's reach: refused as for an id that names no package at all (no way to
    tell the two apart), either a 404 or, for a plain form, back to the (local) list with a message."""
    response = client.post(url, data, headers=headers or {})
    unknown = client.post(url.replace(url.split("/")[2], str(uuid.uuid4())), data, headers=headers or {})
    assert response.status_code == unknown.status_code, url
    if response.status_code == 302:
        assert response["Location"] == unknown["Location"] == reverse("staff:package-list"), url
    else:
        assert response.status_code == 404, (url, response.status_code)
    return response


def assert_untouched(package, status, codes=1):
    package.refresh_from_db()
    assert package.status == status
    assert PickupCode.objects.filter(package=package).count() == codes
    if status == PackageStatus.READY_FOR_CUSTOMER_PICKUP:
        assert live_code(package).attempts == 0


# --- an integration account that also holds a membership (the fix) ------------------------------------


@pytest.fixture
def oms_member(store):
    """The order system's account with a manager membership, as an administrator may add by mistake."""
    oms = integration_user()
    StaffMembership.objects.create(user=oms, store=store, role=StaffRole.MANAGER)
    return oms


def test_an_integration_account_gets_no_store_on_the_staff_pages_whatever_its_memberships(
    client, oms_member, make_package
):
    waiting, ready = make_package(PackageStatus.WAITING), make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    client.force_login(oms_member)

    assert client.get(reverse("staff:package-list")).status_code == 403  # the "no store" page
    for package in (waiting, ready):
        for url in staff_pages(package):
            assert client.get(url).status_code in (404, 405), url
        for url, data in staff_forms(package):
            assert_refused(client, url, data)
            assert_refused(client, url, data, HTMX_HEADERS)
    assert_untouched(waiting, PackageStatus.WAITING, codes=0)
    assert_untouched(ready, PackageStatus.READY_FOR_CUSTOMER_PICKUP)


def test_an_integration_account_runs_no_package_command_through_the_services(oms_member, make_package, issued_code):
    """The rule is the services' (SPEC 9.1), not only the API's permission class: any caller is refused."""
    oms = get_user_model().objects.get(pk=oms_member.pk)  # as a session loads it: no integration flag read yet
    waiting, ready = make_package(PackageStatus.WAITING), make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)

    assert selectors.package_available_commands(package=ready, actor=oms) == []
    attempts = [
        lambda: services.package_complete_packaging(package=waiting, actor=oms, channel="web"),
        lambda: services.package_cancel(package=waiting, actor=oms, channel="web", reason="x"),
        lambda: services.package_resend_code(package=ready, actor=oms, channel="web"),
        lambda: services.package_deliver(package=ready, actor=oms, channel="web", otp_value=issued_code(ready)),
        lambda: services.order_verify(order=ready.order, actor=oms, channel="web", manual=True),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError) as refused:
            attempt()
        assert refused.value.code == "not_found"
    assert_untouched(waiting, PackageStatus.WAITING, codes=0)
    assert_untouched(ready, PackageStatus.READY_FOR_CUSTOMER_PICKUP)


def test_an_integration_account_with_a_membership_still_reads_orders_and_nothing_else_over_the_api(
    oms_member, make_package
):
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    api = bearer(oms_member)
    assert api.get(f"/api/orders/{ready.order_id}/").json()["packages"][0]["availableCommands"] == []
    assert api.get("/api/packages/").status_code == 403
    assert api.post(f"/api/packages/{ready.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}).status_code == 403
    assert api.post(f"/api/orders/{ready.order_id}/verify-otp", {"manualConfirm": True}).status_code == 403
    assert_untouched(ready, PackageStatus.READY_FOR_CUSTOMER_PICKUP)


# --- another store's ids, roles, `next`, CSRF (what holds) ----------------------------------------------


def test_another_stores_package_answers_404_on_every_page_and_leaks_nothing(as_employee, make_package, other_store):
    theirs = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    for url in staff_pages(theirs):
        for headers in ({}, HTMX_HEADERS):
            response = as_employee.get(url, headers=headers)
            assert response.status_code in (404, 405), url
            assert theirs.order.order_number.encode() not in response.content
    for url, data in staff_forms(theirs):
        for headers in ({}, HTMX_HEADERS):
            response = assert_refused(as_employee, url, data, headers)
            assert theirs.order.order_number.encode() not in response.content
    # The store switcher and the scanner's exact match stay in the employee's stores.
    response = as_employee.get(reverse("staff:package-list"), {"store": "ANK01", "q": theirs.order.order_number})
    assert response.status_code == 200
    assert str(theirs.pk).encode() not in response.content
    for headers in ({}, HTMX_HEADERS):
        scan = {"store": "ANK01", "q": theirs.order.order_number}
        response = as_employee.post(reverse("staff:scan"), scan, headers=headers, follow=True)
        assert response.status_code == 200
        assert str(theirs.pk).encode() not in response.content
    assert response.context["store"].code == "IST01"
    assert_untouched(theirs, PackageStatus.READY_FOR_CUSTOMER_PICKUP)


def test_an_employee_cannot_cancel_through_any_path(as_employee, employee, make_package):
    package = make_package(PackageStatus.WAITING)
    cancel = reverse("staff:package-cancel", args=[package.pk])
    command = reverse("staff:package-command", args=[package.pk])
    assert as_employee.post(cancel, {"reason": "x"}).status_code == 403
    assert as_employee.post(cancel, {"reason": "x"}, headers=HTMX_HEADERS).status_code == 403
    assert as_employee.post(command, {"command": cmd.CANCEL, "reason": "x"}, headers=HTMX_HEADERS).status_code == 403
    api = bearer(employee)
    assert api.post(f"/api/packages/{package.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}).status_code == 403
    action = {"action": "cancel_packages", "_selected_action": [str(package.pk)], "apply": "1", "reason": "x"}
    response = as_employee.post("/admin/orders/package/", action)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert_untouched(package, PackageStatus.WAITING, codes=0)


def test_every_state_changing_staff_request_needs_the_csrf_token(manager, make_package):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    for url, data in [*staff_forms(package), (reverse("logout"), {}), ("/i18n/setlang/", {"language": "tr"})]:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, headers=HTMX_HEADERS).status_code == 403, url
    assert_untouched(package, PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert client.get(reverse("staff:package-list")).status_code == 200  # still signed in: logout was refused too


def test_access_ends_at_once_when_the_membership_goes_or_the_user_is_deactivated(client, employee, make_package):
    package = make_package(PackageStatus.WAITING)
    assert client.post(reverse("login"), {"username": "ayse", "password": PASSWORD}).status_code == 302
    api = bearer(employee)
    assert client.get(reverse("staff:package-list")).status_code == 200

    StaffMembership.objects.filter(user=employee).delete()
    assert client.get(reverse("staff:package-list")).status_code == 403
    for url, data in staff_forms(package):
        assert_refused(client, url, data)
    assert api.get(f"/api/packages/{package.pk}/").status_code == 404
    assert api.get(f"/api/orders/{package.order_id}/").status_code == 404

    employee.is_active = False
    employee.save()
    response = client.get(reverse("staff:package-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert api.get("/api/packages/").status_code == 401
    assert_untouched(package, PackageStatus.WAITING, codes=0)


def test_a_manager_of_one_store_reaches_only_its_package_of_a_split_order(
    store, other_store, make_package, issued_code
):
    manager = employee_of(store, "mgr", role=StaffRole.MANAGER)
    ours = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    theirs = PackageFactory(order=ours.order, store=other_store)
    ankara = employee_of(other_store)
    services.package_complete_packaging(package=theirs, actor=ankara, channel="web")
    services.package_mark_ready(package=theirs, actor=ankara, channel="web")
    api = bearer(manager)

    order = api.get(f"/api/orders/{ours.order_id}/").json()
    assert [package["id"] for package in order["packages"]] == [str(ours.pk)]
    # Their code opens nothing here and counts only on ours; manual confirmation hands over only ours.
    response = api.post(f"/api/orders/{ours.order_id}/verify-otp", {"otp": issued_code(theirs)})
    assert response.status_code == 400 and response.json()["code"] == "otp_invalid"
    assert live_code(theirs).attempts == 0
    response = api.post(f"/api/orders/{ours.order_id}/verify-otp", {"manualConfirm": True})
    assert response.status_code == 200
    assert str(theirs.pk) not in response.content.decode()
    assert api.post(f"/api/packages/{theirs.pk}/verify-otp/", {"manualConfirm": True}).status_code == 404
    assert api.post(f"/api/packages/{theirs.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}).status_code == 404
    assert_untouched(theirs, PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    assert Package.objects.get(pk=ours.pk).status == PackageStatus.DELIVERED


def test_a_staff_user_without_a_membership_reaches_no_store(client, make_package):
    get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)
    package = make_package(PackageStatus.WAITING)
    client.post(reverse("login"), {"username": "clerk", "password": PASSWORD})
    assert client.get(reverse("staff:package-list")).status_code == 403
    assert_refused(client, *staff_forms(package)[0])
    api = bearer(get_user_model().objects.get(username="clerk"))
    assert api.get("/api/packages/").json()["count"] == 0
    assert api.get(f"/api/orders/{package.order_id}/").status_code == 404
    assert obtain_tokens("clerk")  # a real account, only without a store
    assert_untouched(package, PackageStatus.WAITING, codes=0)
