"""What a refused API body gets echoed back: DRF's errors quote what was sent (a choice it does not know, the
intake's unknown keys). A lone UTF-16 surrogate there ("\\ud800" is valid JSON) cannot be written as UTF-8, and
one body must not buy an answer many times its size."""

import json

import pytest

from orders.models import Order, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401
from orders.tests.test_api_intake_strict_body import BODY, oms  # noqa: F401

pytestmark = pytest.mark.django_db


def post_raw(client, path, raw: str):
    return client.client.post(path, raw, content_type="application/json")


def with_raw(**raw_values: str) -> str:
    """BODY as JSON text with top-level keys given as raw JSON text (escapes such as \\ud800 kept as written)."""
    text = json.dumps(BODY)[:-1]
    return text + "".join(f", {key}: {value}" for key, value in raw_values.items()) + "}"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(with_raw(**{'"deliveryType"': '"\\ud800"'}), id="an unknown choice"),
        pytest.param(with_raw(**{'"\\ud800"': "1"}), id="an unknown key"),
        pytest.param(
            json.dumps(BODY).replace('"language": "tr"', '"language": "\\udfff"'), id="an unknown nested choice"
        ),
    ],
)
def test_a_lone_surrogate_in_an_intake_body_is_a_field_error(oms, raw):  # noqa: F811
    answer = post_raw(oms, "/api/orders/", raw)
    error = assert_error(answer, 400, "validation_error")
    assert "\ufffd" in json.dumps(error["details"], ensure_ascii=False)  # named, as the replacement character
    assert not Order.objects.exists()


def test_a_lone_surrogate_as_a_command_is_a_field_error(employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    answer = post_raw(bearer(employee), f"/api/packages/{package.pk}/commands/", '{"command": "\\ud800"}')
    assert_error(answer, 400, "validation_error")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
