"""Order intake takes an item's quantity as a JSON integer only (the OpenAPI type): not ``"2"``, not ``true``, and not
other scripts' digits, which ``int()`` reads (``"٣"`` was an order of 3). Nothing is created for such a body."""

import pytest

from orders.models import Order
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import integration_user

pytestmark = pytest.mark.django_db


def _body(quantity) -> dict:
    return {
        "orderNumber": "OMS-Q1",
        "customer": {"name": "Ali Veli", "phone": "+905321112233", "email": "ali@example.com", "language": "tr"},
        "store": "IST01",
        "deliveryType": "in_store",
        "packages": [{"items": [{"sku": "A1", "name": "Kettle", "quantity": quantity}]}],
    }


@pytest.mark.parametrize("quantity", ["٣", "３", "2", True, 2.0, "1_0"], ids=repr)
def test_a_quantity_that_is_no_json_integer_is_a_validation_error(quantity, store):
    response = bearer(integration_user()).post("/api/orders/", _body(quantity), HTTP_ACCEPT_LANGUAGE="tr")
    body = assert_error(response, 400, "validation_error")
    assert body["details"]["fields"]["packages"]["0"]["items"]["0"]["quantity"] == ["Geçerli bir tam sayı girin."]
    assert not Order.objects.filter(order_number="OMS-Q1").exists()


def test_a_json_integer_quantity_is_taken(store):
    response = bearer(integration_user()).post("/api/orders/", _body(3))
    assert response.status_code == 201, response.content
    assert response.json()["packages"][0]["items"][0]["quantity"] == 3
