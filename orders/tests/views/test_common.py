"""What the staff pages' forms share (``orders.views.common``): the ``next`` address a form returns to stays on
the site."""

import pytest
from django.urls import reverse

from orders import commands as cmd
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "///evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_never_leads_off_the_site(client, employee, make_package, target):
    package = make_package(PackageStatus.WAITING)
    response = client.post(f"{reverse('login')}?next={target}", {"username": "ayse", "password": PASSWORD})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location
    response = client.post(
        reverse("staff:package-command", args=[package.pk]), {"command": cmd.COMPLETE_PACKAGING, "next": target}
    )
    assert response.status_code == 302 and response["Location"] == reverse("staff:package-list")
