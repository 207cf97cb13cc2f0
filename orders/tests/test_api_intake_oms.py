"""Order intake as the order system sees it (SPEC 9.2): what an omitted field leaves alone, and phone numbers that
libphonenumber would turn into someone else's."""

import copy

import pytest

from orders.models import Customer, Order
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401
from orders.tests.factories import CustomerFactory, integration_user

pytestmark = pytest.mark.django_db

BODY = {
    "orderNumber": "OMS-200300",
    "customer": {"name": "Elif Yıldız", "phone": "0532 111 22 33", "email": "elif@example.com", "language": "en"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 1}]}],
}


@pytest.fixture
def oms(store):
    return bearer(integration_user())


def body(order_number, **customer_changes):
    data = copy.deepcopy(BODY)
    data["orderNumber"] = order_number
    data["customer"].update(customer_changes)
    for key in [key for key, value in customer_changes.items() if value is None]:
        del data["customer"][key]
    return data


def test_an_order_without_language_keeps_the_existing_customers_language(oms):
    CustomerFactory(phone="+905321112233", language="en", email="elif@example.com")
    response = oms.post("/api/orders/", body("OMS-200301", language=None))
    assert response.status_code == 201
    assert Customer.objects.get(phone="+905321112233").language == "en"  # was switched to "tr"
    # ... and the same body again is still a replay, not a conflict.
    assert oms.post("/api/orders/", body("OMS-200301", language=None)).status_code == 200


def test_an_order_without_language_makes_a_new_customer_turkish_and_a_given_language_replaces(oms):
    assert oms.post("/api/orders/", body("OMS-200302", language=None)).status_code == 201
    assert Customer.objects.get().language == "tr"
    assert oms.post("/api/orders/", body("OMS-200303", language="en")).status_code == 201
    assert Customer.objects.get().language == "en"


@pytest.mark.parametrize(
    "phone",
    [
        "0532 XXX XX XX",  # a placeholder: read as 0532 999 99 99
        "0532 ABC DEFG",  # read as 0532 222 3334
        "0532-FLOWERS",
        "0532 111 22 33 ext 12",  # an extension: dropped from E.164, and no SMS reaches it
        "0532 111 22 33 x",
    ],
)
def test_a_phone_with_letters_is_refused_not_read_as_another_number(oms, phone):
    response = oms.post("/api/orders/", body("OMS-200304", phone=phone))
    assert_error(response, 400, "validation_error")
    assert response.json()["details"]["fields"]["customer"]["phone"]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_phone_formats_an_order_system_sends_are_accepted(oms):
    for index, phone in enumerate(["+90 (532) 111-22-33", "0532.111.22.33", "00905321112233", "5321112233"]):
        response = oms.post("/api/orders/", body(f"OMS-20031{index}", phone=phone))
        assert response.status_code == 201, (phone, response.json())
    assert list(Customer.objects.values_list("phone", flat=True)) == ["+905321112233"]
