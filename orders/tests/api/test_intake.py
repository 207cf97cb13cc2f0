"""Order intake (SPEC 9.2) takes what order systems send and refuses clearly what cannot work: a store code in any
case, text fields only as JSON strings, a customer phone that can receive the pickup code by SMS, and no unknown keys
(a misspelt optional key would otherwise be lost without a word). Nothing is created for a refused body, and the
idempotent replay rules (same body 200, another body 409) hold across all of it."""

import copy
import json

import pytest

from orders.models import Customer, Order, Package, PackageStatus
from orders.services.intake import _fingerprint
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import StoreFactory, integration_user

pytestmark = pytest.mark.django_db


BODY = {
    "orderNumber": "OMS-700100",
    "customer": {"name": "Elif Yıldız", "phone": "0532 111 22 33", "email": "elif@example.com", "language": "tr"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2}]}],
}


def body(**changes):
    data = copy.deepcopy(BODY)
    data.update(changes)
    return data


def customer(**changes):
    return {**BODY["customer"], **changes}


def item(**changes):
    return {"packages": [{"items": [{**BODY["packages"][0]["items"][0], **changes}]}]}


def nothing_created():
    return not Order.objects.exists() and not Customer.objects.exists() and not Package.objects.exists()


def field_errors(result, *path):
    fields = result["details"]["fields"]
    for key in path:
        assert key in fields, (key, result["details"]["fields"])
        fields = fields[key]
    return fields


# --- the store code ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ist01", "Ist01", "iST01"])
def test_a_store_code_in_any_case_finds_the_store(oms, store, code):
    response = oms.post("/api/orders/", body(store=code))
    assert response.status_code == 201, response.content
    assert response.json()["store"]["code"] == "IST01"
    assert Order.objects.get().store == store


def test_a_store_whose_code_is_stored_in_lower_case_is_found_by_its_upper_case_code(oms):
    izmir = StoreFactory(code="izm01", name="İzmir")
    response = oms.post("/api/orders/", body(store="IZM01"))
    assert response.status_code == 201, response.content
    assert response.json()["store"]["code"] == "izm01"
    assert Order.objects.get().store == izmir


def test_the_same_order_with_the_store_code_in_another_case_is_a_replay(oms):
    first = oms.post("/api/orders/", body(store="ist01"))
    again = oms.post("/api/orders/", body(store="IST01"))
    once_more = oms.post("/api/orders/", body(store="Ist01"))
    assert (first.status_code, again.status_code, once_more.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == once_more.json()["id"]
    assert Order.objects.count() == 1 and Package.objects.count() == 1


def test_another_store_in_the_replay_is_still_a_conflict(oms, other_store):
    assert oms.post("/api/orders/", body(store="ist01")).status_code == 201
    assert_error(oms.post("/api/orders/", body(store="ank01")), 409, "conflict")
    assert Order.objects.get().store.code == "IST01"


def test_an_order_taken_before_store_codes_ignored_case_is_still_replayed(oms):
    """Its fingerprint holds the code as it was sent then, which was the stored code exactly (a mixed-case one
    here): the same body again, in that spelling or another case, is a replay, not a conflict."""
    StoreFactory(code="Izm02", name="İzmir Alsancak")
    sent = body(store="Izm02")
    assert oms.post("/api/orders/", sent).status_code == 201
    order = Order.objects.get()
    legacy = {
        "orderNumber": sent["orderNumber"],
        "customer": {"name": "Elif Yıldız", "phone": "+905321112233", "email": "elif@example.com", "language": "tr"},
        "store": "Izm02",
        "deliveryType": "in_store",
        "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2}]}],
    }
    Order.objects.filter(pk=order.pk).update(intake_fingerprint=_fingerprint(legacy))
    for code in ["Izm02", "IZM02", "izm02"]:
        response = oms.post("/api/orders/", body(store=code))
        assert response.status_code == 200, (code, response.content)
    assert_error(oms.post("/api/orders/", body(store="IST01")), 409, "conflict")
    assert Order.objects.count() == 1


@pytest.mark.parametrize("code", ["ıst01", "İST01", "IST%", "IST_1", "IST0", "ＩＳＴ０１", "IST01\n1"])
def test_a_store_code_that_is_not_the_stored_one_in_plain_latin_is_refused(oms, code):
    result = assert_error(oms.post("/api/orders/", body(store=code)), 400, "validation_error")
    assert field_errors(result, "store")
    assert nothing_created()


def test_an_inactive_store_is_refused_in_any_case(oms, store):
    store.is_active = False
    store.save()
    result = assert_error(oms.post("/api/orders/", body(store="ist01")), 400, "validation_error")
    assert field_errors(result, "store")
    assert nothing_created()


# --- text fields take JSON strings only -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"orderNumber": 1001}, ("orderNumber",)),
        ({"orderNumber": 1001.0}, ("orderNumber",)),
        ({"orderNumber": True}, ("orderNumber",)),
        ({"orderNumber": {"id": "1001"}}, ("orderNumber",)),
        ({"orderNumber": ["1001"]}, ("orderNumber",)),
        ({"store": 1}, ("store",)),
        ({"store": {"code": "IST01"}}, ("store",)),
        ({"customer": customer(name=42)}, ("customer", "name")),
        ({"customer": customer(phone=5321112233)}, ("customer", "phone")),
        ({"customer": customer(phone=905321112233)}, ("customer", "phone")),
        ({"customer": customer(email=False)}, ("customer", "email")),
        (item(sku=1001), ("packages", "0", "items", "0", "sku")),
        (item(name=7), ("packages", "0", "items", "0", "name")),
    ],
    ids=repr,
)
def test_a_text_field_given_anything_but_a_json_string_is_refused(oms, changes, path):
    response = oms.post("/api/orders/", body(**changes), HTTP_ACCEPT_LANGUAGE="en")
    result = assert_error(response, 400, "validation_error")
    assert field_errors(result, *path) == [
        'Send this as a JSON string (in quotes, such as "0123"), not a number, true/false, a list or an object.'
    ]
    assert nothing_created()


def test_the_refusal_of_a_number_for_text_is_in_turkish_too(oms):
    response = oms.post("/api/orders/", body(orderNumber=1001), HTTP_ACCEPT_LANGUAGE="tr")
    result = assert_error(response, 400, "validation_error")
    assert field_errors(result, "orderNumber") == [
        'Bunu JSON metni olarak (tırnak içinde, örneğin "0123") gönderin; sayı, true/false, liste ya da nesne olarak '
        "değil."
    ]


def test_an_order_number_with_leading_zeros_sent_as_a_string_is_kept_as_sent(oms):
    response = oms.post("/api/orders/", body(orderNumber="001001"))
    assert response.status_code == 201, response.content
    assert response.json()["orderNumber"] == "001001"


@pytest.mark.parametrize("quantity", [True, False, "2", 2.5, 0, -1, None, [2]], ids=repr)
def test_a_quantity_must_be_a_positive_json_integer(oms, quantity):
    result = assert_error(oms.post("/api/orders/", body(**item(quantity=quantity))), 400, "validation_error")
    assert field_errors(result, "packages", "0", "items", "0", "quantity")
    assert nothing_created()


# --- the customer's phone must take an SMS --------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+90 212 123 45 67",  # Istanbul fixed line
        "0216 123 45 67",  # Istanbul, Asian side, written nationally
        "0312 123 45 67",  # Ankara
        "0800 123 45 67",  # toll free
        "0900 123 45 67",  # premium rate
        "+44 20 8366 1177",  # London fixed line
    ],
)
def test_a_phone_that_cannot_receive_sms_is_refused(oms, phone):
    response = oms.post("/api/orders/", body(customer=customer(phone=phone)), HTTP_ACCEPT_LANGUAGE="en")
    result = assert_error(response, 400, "validation_error")
    assert field_errors(result, "customer", "phone") == [
        "Enter a mobile number that can receive SMS: the pickup code is sent by text message."
    ]
    assert nothing_created()


def test_the_landline_refusal_is_in_turkish_too(oms):
    response = oms.post("/api/orders/", body(customer=customer(phone="0212 123 45 67")), HTTP_ACCEPT_LANGUAGE="tr")
    result = assert_error(response, 400, "validation_error")
    assert field_errors(result, "customer", "phone") == [
        "SMS alabilen bir cep telefonu numarası girin: teslim kodu kısa mesajla gönderilir."
    ]


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("0532 111 22 33", "+905321112233"),
        ("+44 7911 123456", "+447911123456"),  # a British mobile
        ("+1 425 882 8080", "+14258828080"),  # North America: fixed line or mobile, not told apart
    ],
)
def test_mobile_numbers_and_numbers_that_may_be_mobile_are_taken(oms, phone, stored):
    response = oms.post("/api/orders/", body(customer=customer(phone=phone)))
    assert response.status_code == 201, response.content
    assert Customer.objects.get().phone == stored


# --- unknown keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path", "key"),
    [
        ({"orderNo": "OMS-1"}, (), "orderNo"),
        ({"deliverytype": "in_store"}, (), "deliverytype"),  # a misspelt optional key: was lost without a word
        ({"delivery_type": "in_store"}, (), "delivery_type"),  # snake_case: not the API's spelling
        ({"OrderNumber": "OMS-1"}, (), "OrderNumber"),
        ({"customer": customer(phoneNumber="0532 111 22 33")}, ("customer",), "phoneNumber"),
        ({"customer": customer(lang="en")}, ("customer",), "lang"),
        ({"customer": customer(e_mail="x@example.com")}, ("customer",), "e_mail"),
        ({"packages": [{**BODY["packages"][0], "itms": []}]}, ("packages", "0"), "itms"),
        ({"packages": [{**BODY["packages"][0], "deliveryType": "in_store"}]}, ("packages", "0"), "deliveryType"),
        (item(qty=3), ("packages", "0", "items", "0"), "qty"),
        (item(unit_price=9.5), ("packages", "0", "items", "0"), "unit_price"),
    ],
    ids=repr,
)
def test_an_unknown_key_is_refused_and_named_at_any_level(oms, changes, path, key):
    response = oms.post("/api/orders/", body(**changes), HTTP_ACCEPT_LANGUAGE="en")
    result = assert_error(response, 400, "validation_error")
    errors = field_errors(result, *path)["nonFieldErrors"]
    assert any(f"“{key}”" in error for error in errors), errors
    assert all(error.startswith("Unknown key") for error in errors), errors
    assert nothing_created()


def test_unknown_keys_are_named_with_the_keys_that_are_taken_in_english_and_turkish(oms):
    sent = body(customer=customer(phoneNumber="0532"))
    english = assert_error(oms.post("/api/orders/", sent, HTTP_ACCEPT_LANGUAGE="en"), 400, "validation_error")
    assert field_errors(english, "customer", "nonFieldErrors") == [
        "Unknown key “phoneNumber”. The keys here are: name, phone, email, language."
    ]
    turkish = assert_error(oms.post("/api/orders/", sent, HTTP_ACCEPT_LANGUAGE="tr"), 400, "validation_error")
    assert field_errors(turkish, "customer", "nonFieldErrors") == [
        "Bilinmeyen anahtar: “phoneNumber”. Burada kullanılabilecek anahtarlar: name, phone, email, language."
    ]


def test_unknown_keys_are_named_beside_the_other_field_errors(oms):
    sent = body(orderNo="OMS-1")
    del sent["orderNumber"]
    result = assert_error(oms.post("/api/orders/", sent), 400, "validation_error")
    fields = result["details"]["fields"]
    assert set(fields) == {"orderNumber", "nonFieldErrors"}
    assert "“orderNo”" in fields["nonFieldErrors"][0]


def test_a_replay_with_an_unknown_key_is_refused_not_answered_as_the_order(oms):
    first = oms.post("/api/orders/", BODY)
    assert first.status_code == 201
    assert_error(oms.post("/api/orders/", body(note="leave at the door")), 400, "validation_error")
    assert oms.post("/api/orders/", BODY).status_code == 200
    assert Order.objects.count() == 1


# --- null for what the order system does not have ---------------------------------------------------


def test_null_email_and_language_are_the_keys_left_out(oms):
    """Order systems send ``"email": null`` for a customer without one; that was refused ("may not be null")
    though leaving the key out is allowed. Null and absent are one body: the replay answers 200, not 409."""
    sent = body(customer=customer(email=None, language=None))
    response = oms.post("/api/orders/", sent, format="json")
    assert response.status_code == 201, response.json()
    stored = Customer.objects.get()
    assert stored.email == "" and stored.language == "tr"  # the model's default, as with the keys left out
    without = body(customer={key: value for key, value in BODY["customer"].items() if key not in ("email", "language")})
    replay = oms.post("/api/orders/", without, format="json")
    assert replay.status_code == 200, replay.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("key", ["name", "phone"])
def test_null_for_a_required_customer_field_is_still_refused(oms, key):
    result = assert_error(
        oms.post("/api/orders/", body(customer=customer(**{key: None})), format="json"), 400, "validation_error"
    )
    assert field_errors(result, "customer", key)
    assert nothing_created()


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


GROWS = "\ufb2c"  # one character as sent, three in NFC


def test_a_customer_name_too_long_in_nfc_is_a_field_error(oms):
    answer = oms.post("/api/orders/", {**BODY, "customer": {**BODY["customer"], "name": GROWS * 100}})
    error = assert_error(answer, 400, "validation_error")
    assert field_errors(error, "customer", "name") == ["Ensure this field has no more than 200 characters."]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_an_item_name_too_long_in_nfc_is_a_field_error(oms):
    items = [{"sku": "SKU-1", "name": GROWS * 100, "quantity": 1}]
    answer = oms.post("/api/orders/", {**BODY, "packages": [{"items": items}]})
    error = assert_error(answer, 400, "validation_error")
    assert field_errors(error, "packages", "0", "items", "0", "name") == [
        "Ensure this field has no more than 255 characters."
    ]
    assert not Order.objects.exists()


def test_a_name_that_fits_in_nfc_is_taken(oms):
    answer = oms.post("/api/orders/", {**BODY, "customer": {**BODY["customer"], "name": GROWS * 66}})
    assert answer.status_code == 201, answer.content
    assert Customer.objects.get().name == "\u05e9\u05bc\u05c1" * 66  # 198 characters


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
def test_a_lone_surrogate_in_an_intake_body_is_a_field_error(oms, raw):
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


def test_many_unknown_keys_name_a_few_not_each(oms):
    """Each unknown key's message lists the level's keys too: 100,000 short keys (1.3 MB) answered 10 MB."""
    answer = oms.post("/api/orders/", {**BODY, **{f"k{i}": 1 for i in range(20_000)}})
    errors = unknown_key_errors(answer)
    assert errors[:2] == [
        "Unknown key “k0”. The keys here are: orderNumber, customer, pickupPerson, store, deliveryType, packages.",
        "Unknown key “k1”. The keys here are: orderNumber, customer, pickupPerson, store, deliveryType, packages.",
    ]
    assert len(errors) == 10
    assert len(answer.content) < 2_000
    assert not Order.objects.exists()


def test_a_long_unknown_key_is_shortened_in_the_answer(oms):
    answer = oms.post("/api/orders/", {**BODY, "x" * 100_000: 1})
    (error,) = unknown_key_errors(answer)
    assert error.startswith("Unknown key “" + "x" * 63 + "…”. The keys here are: orderNumber")
    assert len(answer.content) < 1_000
    assert not Order.objects.exists()
