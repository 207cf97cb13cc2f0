"""Only the documented camelCase spelling of a key names a field (SPEC 9: JSON in camelCase).

The camel-case parser used to read ``manual_confirm``, ``manualCONFIRM`` and ``OTP`` as ``manualConfirm`` and
``otp`` too, so two keys of one body could name one field and the last one won: a body whose ``manualConfirm``
said false handed the package over by manual confirmation. Another spelling is now an unknown key, ignored.
"""

import json

import pytest

from orders.models import AuditKind, AuditRecord, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


def _post_raw(client, url, body: str):
    return client.client.post(url, body, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [
        '{"manualConfirm": false, "manual_confirm": true}',
        '{"manualConfirm": false, "manualCONFIRM": true}',
        '{"manual_confirm": true}',
    ],
)
def test_another_spelling_of_manual_confirm_does_not_hand_the_package_over(body, employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    for url in (f"/api/packages/{package.pk}/verify-otp/", f"/api/orders/{package.order_id}/verify-otp"):
        response = _post_raw(client, url, body)
        assert_error(response, 400, "validation_error")  # neither otp nor manualConfirm: true
    command = json.dumps({"command": "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND", **json.loads(body)})
    assert_error(_post_raw(client, f"/api/packages/{package.pk}/commands/", command), 400, "validation_error")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert not AuditRecord.objects.filter(
        package=package, kind=AuditKind.TRANSITION, to_status=PackageStatus.DELIVERED
    ).exists()


def test_the_documented_key_still_confirms(employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = _post_raw(bearer(employee), f"/api/packages/{package.pk}/verify-otp/", '{"manualConfirm": true}')
    assert response.status_code == 200, response.content
    assert response.json()["data"]["package"]["status"] == PackageStatus.DELIVERED


def test_an_upper_case_otp_key_does_not_replace_the_code(employee, make_package):
    """``OTP`` used to be read as ``otp``, the last of the two winning: it is ignored now, so the
    documented ``otp`` (here malformed) is the one judged."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    response = _post_raw(bearer(employee), f"/api/packages/{package.pk}/verify-otp/", '{"otp": "12", "OTP": "123456"}')
    body = assert_error(response, 400, "validation_error")
    assert "otp" in body["details"]["fields"]
