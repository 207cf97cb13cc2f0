"""Orders through the API (SPEC 9.2, ``orders.api.orders``): one order with the packages the caller may see, and
order intake, ``POST /api/orders/``: validation, idempotency, conflict, restricted customers, what an omitted
field leaves alone, and phone numbers libphonenumber would turn into someone else's."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Customer, Order, Package, PackageItem, PackageStatus
from orders.tests.apiclient import PACKAGE_KEYS, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, OrderFactory, PackageFactory, employee_of, integration_user

pytestmark = pytest.mark.django_db


BODY = {
    "orderNumber": "OMS-100200",
    "customer": {"name": "Elif Yıldız", "phone": "0532 111 22 33", "email": "Elif@Example.com", "language": "tr"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [
        {"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2}, {"sku": "SKU-2", "name": "Mug", "quantity": 1}]},
        {"items": [{"sku": "SKU-3", "name": "Lamp", "quantity": 1}]},
    ],
}


def body(**changes):
    data = copy.deepcopy(BODY)
    data.update(changes)
    return data


def test_intake_creates_the_order_with_waiting_packages(oms):
    response = oms.post("/api/orders/", BODY)
    assert response.status_code == 201
    data = response.json()
    order = Order.objects.get(order_number="OMS-100200")
    assert data["id"] == str(order.pk)
    assert data["orderNumber"] == "OMS-100200"
    assert data["orderStatus"] == "processing"
    assert data["store"] == {"code": "IST01", "name": "Istanbul Kanyon"}
    assert data["customer"]["phoneMasked"] == "+90********33"
    assert [p["status"] for p in data["packages"]] == ["waiting", "waiting"]
    assert sorted(item["sku"] for p in data["packages"] for item in p["items"]) == ["SKU-1", "SKU-2", "SKU-3"]
    customer = Customer.objects.get()
    assert (customer.phone, customer.email, customer.language) == ("+905321112233", "elif@example.com", "tr")
    assert Package.objects.filter(order=order, status="waiting").count() == 2
    assert PackageItem.objects.get(sku="SKU-1").quantity == 2


def test_same_body_again_answers_200_with_the_same_order(oms):
    first = oms.post("/api/orders/", BODY)
    again = oms.post("/api/orders", BODY)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1 and Package.objects.count() == 2


def test_same_order_number_with_another_body_is_a_conflict(oms):
    assert oms.post("/api/orders/", BODY).status_code == 201
    changed = body()
    changed["packages"][0]["items"][0]["quantity"] = 3
    response = oms.post("/api/orders/", changed)
    result = assert_error(response, 409, "conflict")
    assert result["details"]["orderNumber"] == "OMS-100200"
    assert PackageItem.objects.get(sku="SKU-1").quantity == 2


def test_restricted_customer_is_refused(oms):
    CustomerFactory(phone="+905321112233", trust_tier="restricted", restricted_until=timezone.now() + timedelta(days=3))
    assert_error(oms.post("/api/orders/", BODY), 422, "customer_restricted")
    assert not Order.objects.exists()


def test_restriction_that_has_ended_does_not_refuse(oms):
    CustomerFactory(phone="+905321112233", restricted_until=timezone.now() - timedelta(days=1))
    assert oms.post("/api/orders/", BODY).status_code == 201


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"customer": {**BODY["customer"], "phone": "12"}}, ("customer", "phone")),
        ({"customer": {**BODY["customer"], "phone": "+90 532 111 22 3x"}}, ("customer", "phone")),
        ({"customer": {**BODY["customer"], "email": "not-an-email"}}, ("customer", "email")),
        ({"customer": {**BODY["customer"], "language": "de"}}, ("customer", "language")),
        ({"customer": {"phone": "+905321112233"}}, ("customer", "name")),
        ({"customer": "Elif"}, ("customer",)),
        ({"store": "XXX99"}, ("store",)),
        ({"deliveryType": "home"}, ("deliveryType",)),
        ({"packages": []}, ("packages",)),
        ({"packages": [{"items": []}]}, ("packages",)),
        ({"packages": [{}]}, ("packages",)),
        ({"packages": [{"items": [{"sku": "A", "name": "B", "quantity": 0}]}]}, ("packages",)),
        ({"packages": [{"items": [{"sku": "A", "name": "B", "quantity": "many"}]}]}, ("packages",)),
        ({"packages": [{"items": [{"sku": "A", "quantity": 1}]}]}, ("packages",)),
        ({"orderNumber": ""}, ("orderNumber",)),
        ({"orderNumber": "x" * 65}, ("orderNumber",)),
        ({"orderNumber": "bad\ud800"}, ("orderNumber",)),
        ({"orderNumber": "nul\x00"}, ("orderNumber",)),
    ],
)
def test_invalid_bodies_answer_field_errors(oms, changes, path):
    response = oms.post("/api/orders/", body(**changes))
    result = assert_error(response, 400, "validation_error")
    fields = result["details"]["fields"]
    for key in path:
        assert key in fields, (key, fields)
        fields = fields[key]
    assert not Order.objects.exists()


def test_missing_fields_are_each_named(oms):
    result = assert_error(oms.post("/api/orders/", {}), 400, "validation_error")
    assert set(result["details"]["fields"]) == {"orderNumber", "customer", "store", "packages"}


def test_inactive_store_is_refused(oms, store):
    store.is_active = False
    store.save()
    result = assert_error(oms.post("/api/orders/", BODY), 400, "validation_error")
    assert "store" in result["details"]["fields"]


def test_an_order_sent_again_after_its_store_was_deactivated_is_still_a_replay(oms, store):
    first = oms.post("/api/orders/", BODY)
    assert first.status_code == 201
    store.is_active = False
    store.save()
    again = oms.post("/api/orders/", BODY)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_error(oms.post("/api/orders/", body(store="XXX99")), 409, "conflict")  # another body: still a conflict
    assert Order.objects.count() == 1


def test_body_that_is_not_a_json_object(oms):
    assert_error(oms.post("/api/orders/", ["a"]), 400, "validation_error")
    assert_error(oms.post("/api/orders/", "text"), 400, "validation_error")
    raw = oms.client.post("/api/orders/", "{not json", content_type="application/json")
    assert_error(raw, 400, "validation_error")
    form = oms.client.post("/api/orders/", {"orderNumber": "x"})
    assert_error(form, 400, "validation_error")


NUMBERED_BODY = {
    "orderNumber": "OMS-200300",
    "customer": {"name": "Elif Yıldız", "phone": "0532 111 22 33", "email": "elif@example.com", "language": "en"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 1}]}],
}


def numbered_body(order_number, **customer_changes):
    data = copy.deepcopy(NUMBERED_BODY)
    data["orderNumber"] = order_number
    data["customer"].update(customer_changes)
    for key in [key for key, value in customer_changes.items() if value is None]:
        del data["customer"][key]
    return data


def test_an_order_without_language_keeps_the_existing_customers_language(oms):
    CustomerFactory(phone="+905321112233", language="en", email="elif@example.com")
    response = oms.post("/api/orders/", numbered_body("OMS-200301", language=None))
    assert response.status_code == 201
    assert Customer.objects.get(phone="+905321112233").language == "en"  # was switched to "tr"
    # ... and the same body again is still a replay, not a conflict.
    assert oms.post("/api/orders/", numbered_body("OMS-200301", language=None)).status_code == 200


def test_an_order_without_language_makes_a_new_customer_turkish_and_a_given_language_replaces(oms):
    assert oms.post("/api/orders/", numbered_body("OMS-200302", language=None)).status_code == 201
    assert Customer.objects.get().language == "tr"
    assert oms.post("/api/orders/", numbered_body("OMS-200303", language="en")).status_code == 201
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
    response = oms.post("/api/orders/", numbered_body("OMS-200304", phone=phone))
    assert_error(response, 400, "validation_error")
    assert response.json()["details"]["fields"]["customer"]["phone"]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_phone_formats_an_order_system_sends_are_accepted(oms):
    for index, phone in enumerate(["+90 (532) 111-22-33", "0532.111.22.33", "00905321112233", "5321112233"]):
        response = oms.post("/api/orders/", numbered_body(f"OMS-20031{index}", phone=phone))
        assert response.status_code == 201, (phone, response.json())
    assert list(Customer.objects.values_list("phone", flat=True)) == ["+905321112233"]


def test_order_detail_for_staff_and_the_order_system(api, make_package, other_store):
    package = make_package(PackageStatus.WAITING)
    response = api.get(f"/api/orders/{package.order_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(package.order_id)
    assert body["orderStatus"] == "processing"
    assert [p["id"] for p in body["packages"]] == [str(package.pk)]
    assert set(body["packages"][0]) == PACKAGE_KEYS

    oms = bearer(integration_user())
    response = oms.get(f"/api/orders/{package.order_id}")
    assert response.status_code == 200
    assert response.json()["packages"][0]["availableCommands"] == []

    foreign = make_package(PackageStatus.WAITING, at_store=other_store)
    assert_error(api.get(f"/api/orders/{foreign.order_id}/"), 404, "not_found")
    assert_error(api.get("/api/orders/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_order_of_two_stores_shows_staff_only_their_packages(make_package, store, other_store, employee):
    order = OrderFactory(store=store)
    mine = PackageFactory(order=order, store=store)
    PackageFactory(order=order, store=other_store)
    colleague = employee_of(other_store, "mehmet")
    body = bearer(employee).get(f"/api/orders/{order.pk}/").json()
    assert [p["id"] for p in body["packages"]] == [str(mine.pk)]
    assert len(bearer(colleague).get(f"/api/orders/{order.pk}/").json()["packages"]) == 1
