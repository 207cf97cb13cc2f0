"""Turkish text data as a Turkish store employee and administrator meet it, on SQLite and on PostgreSQL.

Names come from the order system in any case and in composed or decomposed form (NFC, NFD); staff type them on
Turkish keyboards (Caps Lock turns ``i`` into ``İ``), on phones that capitalise the first letter, or on keyboards
without Turkish letters. PostgreSQL (C.UTF-8 here, as the test database is created from it) and SQLite fold case
differently for exactly these letters, so each outcome below is asserted on both.
"""

import importlib
import unicodedata

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from core.errors import ApplicationError
from core.text import search_fold, text_nfc, turkish_sort_key
from notifications.models import Message
from orders import services
from orders.models import Customer, NoShowStrike, Order, PackageItem, Store
from orders.services import intake
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, PackageFactory, integration_user

pytestmark = pytest.mark.django_db


def nfd(text):
    return unicodedata.normalize("NFD", text)


@pytest.fixture
def packages(store):
    """Three packages of the store: the name in capitals, one sent decomposed, one with a typographic apostrophe."""
    return {
        "isil": PackageFactory(
            order__store=store,
            order__order_number="SIP-1001",
            order__customer=CustomerFactory(name="IŞIL ÇİÇEK", phone="+905321112233"),
        ),
        "ayse": PackageFactory(
            order__store=store,
            order__order_number="WEB-2002",
            order__customer=CustomerFactory(name=nfd("Ayşe Çiçek"), phone="+905321112244"),
        ),
        "sean": PackageFactory(
            order__store=store,
            order__order_number="WEB-3003",
            order__customer=CustomerFactory(name="Sean O’Neil", phone="+905321112255"),
        ),
    }


# term -> the packages it finds
SEARCHES = [
    ("ışıl çiçek", {"isil"}),
    ("Işıl", {"isil"}),
    ("isil", {"isil"}),
    ("İŞİL", {"isil"}),  # Caps Lock on a Turkish keyboard
    ("  ışıl  ", {"isil"}),
    ("çiçek ışıl", {"isil"}),  # surname first, as on Turkish forms
    ("ÇİÇEK", {"isil", "ayse"}),
    (nfd("Çiçek"), {"isil", "ayse"}),  # typed or pasted decomposed
    ("cicek", {"isil", "ayse"}),
    ("ayşe çiçek", {"ayse"}),
    ("o'neil", {"sean"}),  # typed with a straight apostrophe, stored with a typographic one
    ("oneil", {"sean"}),
    ("O’NEIL", {"sean"}),
    ("sip-1001", {"isil"}),
    ("SİP-1001", {"isil"}),  # a Turkish keyboard with Caps Lock
    ("sıp-1001", {"isil"}),
    (nfd("SİP-1001"), {"isil"}),
    ("  SIP-1001  ", {"isil"}),
    ("(0532) 111-22-33", {"isil"}),
]


@pytest.mark.parametrize(("term", "expected"), SEARCHES)
def test_api_search(employee, packages, term, expected):
    response = bearer(employee).get("/api/packages/", {"search": term})
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {str(packages[key].pk) for key in expected}


@pytest.mark.parametrize(("term", "expected"), SEARCHES)
def test_staff_list_search(as_employee, packages, term, expected):
    response = as_employee.get(reverse("staff:package-list"), {"q": term})
    if response.status_code == 302:  # one exact order-number match opens that package
        shown = {key for key, package in packages.items() if response["Location"].endswith(f"/{package.pk}/")}
    else:
        page = response.content.decode()
        shown = {key for key, package in packages.items() if f'id="row-{package.pk}"' in page}
    assert shown == expected


@pytest.mark.parametrize("term", ["SİP-1001", "sıp-1001", "Sip-1001", nfd("SİP-1001")])
def test_a_typed_order_number_with_a_turkish_i_opens_its_package(as_employee, packages, term):
    response = as_employee.get(reverse("staff:package-list"), {"q": term})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:package-detail", args=[packages["isil"].pk])


def test_an_order_number_search_still_needs_its_other_letters(employee, packages):
    """Folding the order number does not make the search loose: another letter is another number."""
    response = bearer(employee).get("/api/packages/", {"search": "SAP-1001"})
    assert response.json()["count"] == 0


# --- admin ----------------------------------------------------------------------------------------------

ADMIN_LISTS = [
    "admin:orders_order_changelist",
    "admin:orders_package_changelist",
    "admin:orders_noshowstrike_changelist",
    "admin:orders_customer_changelist",
]
# term -> the customers whose rows it finds (every list above has one row per customer here)
ADMIN_SEARCHES = [
    ("çiçek", {"isil", "ayse"}),
    ("ÇİÇEK", {"isil", "ayse"}),
    ("cicek", {"isil", "ayse"}),
    ("isil", {"isil"}),
    ("ışıl çiçek", {"isil"}),
    ("o'neil", {"sean"}),
    ("(0532) 111-22-33", {"isil"}),
]


@pytest.fixture
def strikes(packages):
    return {key: NoShowStrike.objects.create(customer=p.order.customer, package=p) for key, p in packages.items()}


@pytest.mark.parametrize("changelist", ADMIN_LISTS)
@pytest.mark.parametrize(("term", "expected"), ADMIN_SEARCHES)
def test_admin_search(admin_client, packages, strikes, changelist, term, expected):
    response = admin_client.get(reverse(changelist), {"q": term})
    assert response.status_code == 200
    customers = {
        "admin:orders_order_changelist": lambda row: row.customer_id,
        "admin:orders_package_changelist": lambda row: row.order.customer_id,
        "admin:orders_noshowstrike_changelist": lambda row: row.customer_id,
        "admin:orders_customer_changelist": lambda row: row.pk,
    }[changelist]
    found = {customers(row) for row in response.context["cl"].result_list}
    assert found == {packages[key].order.customer_id for key in expected}


ORDER_NUMBER_OF_ROW = {
    "admin:orders_order_changelist": lambda row: row.order_number,
    "admin:orders_package_changelist": lambda row: row.order.order_number,
    "admin:orders_auditrecord_changelist": lambda row: row.package.order.order_number,
    "admin:orders_packageitem_changelist": lambda row: row.package.order.order_number,
}


@pytest.mark.parametrize("changelist", list(ORDER_NUMBER_OF_ROW))
def test_admin_search_by_order_number_typed_with_a_turkish_i(admin_client, store, employee, changelist):
    for number in ["SIP-1001", "SAP-1001"]:
        package = PackageFactory(order__store=store, order__order_number=number)
        services.package_complete_packaging(package=package, actor=employee, channel="web")  # an audit record
    response = admin_client.get(reverse(changelist), {"q": "SİP-1001"})
    assert {ORDER_NUMBER_OF_ROW[changelist](row) for row in response.context["cl"].result_list} == {"SIP-1001"}


# --- sorting by name ------------------------------------------------------------------------------------

# Turkish alphabetical order: a b c ç d e f g ğ h ı i j k l m n o ö p r s ş t u ü v y z, case and accents aside.
TURKISH_ORDER = ["ahmet", "Ayşe", "Cem", "Çağla", "Göktuğ", "Gül", "Ilgaz", "IŞIL ÇİÇEK", "İsmail", "Oya", "ömer",
                 "Sean O’Neil", "Şule", "Uğur", "Ümit", "Zeynep"]  # fmt: skip


def test_turkish_sort_key():
    assert sorted(reversed(TURKISH_ORDER), key=turkish_sort_key) == TURKISH_ORDER
    assert sorted(["Âli", "Ali", "ali"], key=turkish_sort_key) == [
        "ali",
        "Ali",
        "Âli",
    ]  # accents, then lower case first
    assert sorted([nfd("Çağla"), "Cem"], key=turkish_sort_key) == ["Cem", nfd("Çağla")]


def test_admin_lists_customers_in_turkish_alphabetical_order(admin_client):
    for name in reversed(TURKISH_ORDER):
        CustomerFactory(name=name)
    url = reverse("admin:orders_customer_changelist")

    def names(**query):
        return [row.name for row in admin_client.get(url, query).context["cl"].result_list]

    assert names() == TURKISH_ORDER
    assert names(o="1") == TURKISH_ORDER  # the name column's header
    assert names(o="-1") == TURKISH_ORDER[::-1]


def test_admin_store_names_sort_in_turkish_order(admin_client):
    names = ["Ankara Kızılay", "Bursa", "Çorlu", "İzmir Alsancak", "Zonguldak"]
    for index, name in enumerate(reversed(names)):
        Store.objects.create(code=f"S{index}", name=name)
    response = admin_client.get(reverse("admin:orders_store_changelist"), {"o": "2"})  # the name column
    assert [store.name for store in response.context["cl"].result_list] == names


# --- order intake: names in NFC ---------------------------------------------------------------------------


def _intake(store, name, item="Çanta", number="WEB-9001"):
    return services.order_intake(
        order_number=number,
        customer={"name": name, "phone": "+905329998877", "email": "", "language": "tr"},
        store_code=store.code,
        packages=[{"items": [{"sku": "SKU-1", "name": item, "quantity": 1}]}],
    )


def test_intake_stores_names_composed_and_a_replay_in_the_other_form_is_the_same_order(store):
    order, created = _intake(store, nfd("Gül Şen"), item=nfd("Çanta"))
    assert created
    order.customer.refresh_from_db()
    assert order.customer.name == "Gül Şen" == unicodedata.normalize("NFC", order.customer.name)
    assert len(order.customer.name) == 7
    assert PackageItem.objects.get(package__order=order).name == "Çanta"

    # The same order, names composed this time: a replay (200), not a conflict (409).
    replay, created = _intake(store, "Gül Şen", item="Çanta")
    assert (replay.pk, created) == (order.pk, False)
    assert Order.objects.count() == 1


def test_an_order_taken_in_nfd_before_names_were_composed_still_answers_its_replay(store):
    """Orders stored before this rule carry the fingerprint of the names as sent: an order system retrying such an
    order with the very same body gets the order (200), not a conflict."""
    order, _ = _intake(store, nfd("Gül Şen"), item=nfd("Çanta"))
    as_before = {
        "orderNumber": "WEB-9001",
        "customer": {"name": nfd("Gül Şen"), "phone": "+905329998877", "email": "", "language": "tr"},
        "store": store.code,
        "deliveryType": "in_store",
        "packages": [{"items": [{"sku": "SKU-1", "name": nfd("Çanta"), "quantity": 1}]}],
    }
    Order.objects.filter(pk=order.pk).update(intake_fingerprint=intake._fingerprint(as_before))
    replay, created = _intake(store, nfd("Gül Şen"), item=nfd("Çanta"))
    assert (replay.pk, created) == (order.pk, False)
    with pytest.raises(ApplicationError) as refused:
        _intake(store, nfd("Gül Şen"), item="Kettle")
    assert refused.value.code == "conflict"


def test_intake_in_nfd_over_the_api_answers_the_replay_with_200(store):
    oms = integration_user()
    body = {
        "orderNumber": "WEB-9002",
        "customer": {"name": nfd("Işıl Çiçek"), "phone": "0532 999 88 66", "language": "tr"},
        "store": store.code,
        "deliveryType": "in_store",
        "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 1}]}],
    }
    api = bearer(oms)
    assert api.post("/api/orders/", body, format="json").status_code == 201
    body["customer"]["name"] = "Işıl Çiçek"
    response = api.post("/api/orders/", body, format="json")
    assert response.status_code == 200, response.json()
    assert Customer.objects.get(phone="+905329998866").name == "Işıl Çiçek"


def test_the_sms_of_a_name_sent_decomposed_is_as_long_as_of_one_sent_composed(store, employee):
    order, _ = _intake(store, nfd("Işıl Çiçek Güneş"))
    package = order.packages.get()
    services.package_complete_packaging(package=package, actor=employee, channel="web")
    services.package_mark_ready(package=package, actor=employee, channel="web")
    sms = Message.objects.get(package=package, channel="sms", event="ready_for_pickup")
    # The ready SMS names the store, not the customer (room for the pickup pass link); the e-mail and push texts,
    # rendered from the same context, greet them.
    assert sms.context["customer_name"] == "Işıl Çiçek Güneş"
    # Each combining mark would be one more UCS-2 character of the (Turkish, hence UCS-2) SMS.
    assert not any(unicodedata.combining(char) for char in sms.body)


def test_admin_stores_an_edited_name_composed(admin_client):
    customer = CustomerFactory(name="Can Demir", language="tr")
    response = admin_client.post(
        reverse("admin:orders_customer_change", args=[customer.pk]),
        {
            "name": nfd("Çiğdem Öztürk"),
            "phone": customer.phone,
            "email": customer.email,
            "push_token": customer.push_token,
            "language": "tr",
            "no_show_strikes-TOTAL_FORMS": "0",
            "no_show_strikes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert customer.name == text_nfc("Çiğdem Öztürk") and len(customer.name) == len("Çiğdem Öztürk")


# --- store codes: Latin letters only, so that "ignoring case" means the same on both databases ------------


@pytest.mark.parametrize("code", ["İST02", "ıst02", "ÇRL01", "IST 02", "İst02"])
def test_a_store_code_with_a_turkish_letter_is_refused(store, code):
    with pytest.raises(ValidationError) as refused:
        Store(code=code, name="Yeni Mağaza").full_clean()
    assert "code" in refused.value.message_dict


@pytest.mark.parametrize("code", ["IST02", "ist_02", "IST-02", "34ANK"])
def test_a_latin_store_code_is_taken(code):
    Store(code=code, name="Yeni Mağaza").full_clean()


def test_admin_refuses_a_dotted_capital_i_in_a_store_code_in_turkish_and_adds_nothing(admin_client, store):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tr"
    response = admin_client.post(
        reverse("admin:orders_store_add"),
        {
            "code": "İST02",
            "name": "İstanbul Zorlu",
            "timezone": "Europe/Istanbul",
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Yalnızca A–Z harfleri" in response.content.decode()
    assert not Store.objects.filter(name="İstanbul Zorlu").exists()


# --- the folded names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Sean O’Neil", "sean oneil"),
        ("O'Neil", "oneil"),
        ("Oʼneil", "oneil"),
        ("O´Neil", "oneil"),
        (nfd("IŞIL ÇİÇEK"), "isil cicek"),
        ("'", ""),
    ],
)
def test_search_fold_drops_apostrophes_and_takes_nfd(text, folded):
    assert search_fold(text) == folded


def test_migration_refolds_the_names_stored_before_apostrophes_were_dropped():
    migration = importlib.import_module("orders.migrations.0007_store_code_latin_name_folded_apostrophes")
    customer = CustomerFactory(name="Sean O’Neil")
    Customer.objects.filter(pk=customer.pk).update(name_folded="sean o’neil")  # as search_fold gave it before

    class SchemaEditor:
        pass

    SchemaEditor.connection = connection
    migration.fill_name_folded(apps, SchemaEditor())
    assert Customer.objects.values_list("name_folded", flat=True).get(pk=customer.pk) == "sean oneil"
