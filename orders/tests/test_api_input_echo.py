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


def unknown_key_errors(answer) -> list[str]:
    error = assert_error(answer, 400, "validation_error")
    return error["details"]["fields"]["nonFieldErrors"]


def test_many_unknown_keys_name_a_few_not_each(oms):  # noqa: F811
    """Each unknown key's message lists the level's keys too: 100,000 short keys (1.3 MB) answered 10 MB."""
    answer = oms.post("/api/orders/", {**BODY, **{f"k{i}": 1 for i in range(20_000)}})
    errors = unknown_key_errors(answer)
    assert errors[:2] == [
        "Unknown key “k0”. The keys here are: orderNumber, customer, store, deliveryType, packages.",
        "Unknown key “k1”. The keys here are: orderNumber, customer, store, deliveryType, packages.",
    ]
    assert len(errors) == 10
    assert len(answer.content) < 2_000
    assert not Order.objects.exists()


def test_a_long_unknown_key_is_shortened_in_the_answer(oms):  # noqa: F811
    answer = oms.post("/api/orders/", {**BODY, "x" * 100_000: 1})
    (error,) = unknown_key_errors(answer)
    assert error.startswith("Unknown key “" + "x" * 63 + "…”. The keys here are: orderNumber")
    assert len(answer.content) < 1_000
    assert not Order.objects.exists()
