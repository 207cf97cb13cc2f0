"""Where a staff form leads after it is done: the ``next`` it carries, only when it is a path on this site.

``next`` is what the page puts in its forms (the list with its search and filter). A value that is no path
(``ist01``, ``0``, a NUL byte) went to ``redirect()``, which takes a bare word for a view's name: the command was
done (a package handed over) and the answer was a 500."""

import pytest
from django.urls import reverse

from core.testing import wrong_code
from orders.models import Package, PackageStatus

pytestmark = pytest.mark.django_db
S = PackageStatus

NOT_PATHS = ["ist01", "0", "a\x00b", "staff:package-list", "//evil.example/x", "/\\evil.example"]


@pytest.mark.parametrize("target", NOT_PATHS)
def test_a_command_with_a_next_that_is_no_path_leads_to_the_list(as_employee, make_package, target):
    package = make_package(S.WAITING)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:package-list")
    assert Package.objects.get(pk=package.pk).status == S.PACKED_ALL_ITEMS


@pytest.mark.parametrize("target", NOT_PATHS)
def test_a_refused_command_with_a_next_that_is_no_path_leads_to_the_list(as_employee, make_package, target):
    package = make_package(S.DELIVERED)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": target},
    )
    assert response.status_code == 302 and response["Location"] == reverse("staff:package-list")


@pytest.mark.parametrize("target", NOT_PATHS)
def test_a_delivery_with_a_next_that_is_no_path_hands_over_and_leads_to_the_list(
    as_employee, make_package, issued_code, target
):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]), {"otp": issued_code(package), "next": target}
    )
    assert response.status_code == 302 and response["Location"] == reverse("staff:package-list")
    assert Package.objects.get(pk=package.pk).status == S.DELIVERED


def test_a_next_on_this_site_is_kept(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    target = reverse("staff:package-list") + "?store=IST01&q=%C3%A7i%C3%A7ek"
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]),
        {"otp": wrong_code(issued_code(package)), "next": target},
    )
    assert response.status_code == 400 and f'value="{target}"'.replace("&", "&amp;") in response.content.decode()
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]), {"otp": issued_code(package), "next": target}
    )
    assert response.status_code == 302 and response["Location"] == target
