"""Order intake stores the customer's and the items' names in NFC (orders.services.order_intake), and a few
characters grow under NFC (U+FB2C, a Hebrew letter with two marks, becomes three characters): the length is the
stored one's, so a name that fits as sent but not as stored is a field error, not a database error (PostgreSQL's
varchar refused it: 500)."""

import pytest

from orders.models import Customer, Order
from orders.tests.apiclient import _fresh_throttles, assert_error  # noqa: F401
from orders.tests.test_api_intake_strict_body import BODY, field_errors, oms  # noqa: F401

pytestmark = pytest.mark.django_db

GROWS = "\ufb2c"  # one character as sent, three in NFC


def test_a_customer_name_too_long_in_nfc_is_a_field_error(oms):  # noqa: F811
    answer = oms.post("/api/orders/", {**BODY, "customer": {**BODY["customer"], "name": GROWS * 100}})
    error = assert_error(answer, 400, "validation_error")
    assert field_errors(error, "customer", "name") == ["Ensure this field has no more than 200 characters."]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_an_item_name_too_long_in_nfc_is_a_field_error(oms):  # noqa: F811
    items = [{"sku": "SKU-1", "name": GROWS * 100, "quantity": 1}]
    answer = oms.post("/api/orders/", {**BODY, "packages": [{"items": items}]})
    error = assert_error(answer, 400, "validation_error")
    assert field_errors(error, "packages", "0", "items", "0", "name") == [
        "Ensure this field has no more than 255 characters."
    ]
    assert not Order.objects.exists()


def test_a_name_that_fits_in_nfc_is_taken(oms):  # noqa: F811
    answer = oms.post("/api/orders/", {**BODY, "customer": {**BODY["customer"], "name": GROWS * 66}})
    assert answer.status_code == 201, answer.content
    assert Customer.objects.get().name == "\u05e9\u05bc\u05c1" * 66  # 198 characters
