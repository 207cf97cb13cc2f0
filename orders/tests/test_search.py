"""Package search by customer name (SPEC 9.2, 10): without case or accents, Turkish letters included.

Run on SQLite and on PostgreSQL (DATABASE_URL): the two databases fold case differently (SQLite ASCII
only; PostgreSQL keeps ``İ`` apart from ``i``), which is why the folded name is stored.
"""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.appsettings import get_setting
from core.text import search_fold
from orders import services
from orders.models import Customer
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, PackageFactory

pytestmark = pytest.mark.django_db

NAMES = ["Ahmet Şahin", "Mehmet Yılmaz", "Ayşe Öztürk", "Çiğdem Kaya", "Can Demir"]

# term -> the one name it finds
EXAMPLES = [
    ("şahin", "Ahmet Şahin"),
    ("sahin", "Ahmet Şahin"),
    ("Şahin", "Ahmet Şahin"),
    ("AHMET ŞAHİN", "Ahmet Şahin"),
    ("ahmet  sahin", "Ahmet Şahin"),
    ("YILMAZ", "Mehmet Yılmaz"),
    ("yılmaz", "Mehmet Yılmaz"),
    ("yilmaz", "Mehmet Yılmaz"),
    ("ozturk", "Ayşe Öztürk"),
    ("ÖZTÜRK", "Ayşe Öztürk"),
    ("cigdem", "Çiğdem Kaya"),
    ("ÇİĞDEM", "Çiğdem Kaya"),
    ("ayse", "Ayşe Öztürk"),
    ("DEMIR", "Can Demir"),
]


@pytest.fixture
def packages_by_name(store):
    return {name: PackageFactory(order__store=store, order__customer=CustomerFactory(name=name)) for name in NAMES}


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ahmet Şahin", "ahmet sahin"),
        ("AHMET ŞAHİN", "ahmet sahin"),
        ("YILMAZ", "yilmaz"),
        ("Yılmaz", "yilmaz"),
        ("Öztürk", "ozturk"),
        ("ÇİĞDEM", "cigdem"),
        ("İstanbul", "istanbul"),
        ("Straße", "strasse"),
        ("  Can \t Demir ", "can demir"),
        ("", ""),
    ],
)
def test_search_fold(text, folded):
    assert search_fold(text) == folded


@pytest.mark.parametrize(("term", "name"), EXAMPLES)
def test_api_search_finds_the_name_whatever_the_keyboard(employee, packages_by_name, term, name):
    response = bearer(employee).get("/api/packages/", {"search": term})
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {str(packages_by_name[name].pk)}


@pytest.mark.parametrize(("term", "name"), EXAMPLES)
def test_staff_list_search_finds_the_name_whatever_the_keyboard(as_employee, packages_by_name, term, name):
    page = as_employee.get(reverse("staff:package-list"), {"q": term}).content.decode()
    shown = {package.pk for package in packages_by_name.values() if f'id="row-{package.pk}"' in page}
    assert shown == {packages_by_name[name].pk}


def test_order_number_and_phone_digits_still_match(employee, store):
    target = PackageFactory(
        order__store=store,
        order__order_number="WEB-şahin-1",
        order__customer=CustomerFactory(name="Elif Yıldız", phone="+905551112233"),
    )
    PackageFactory(order__store=store, order__customer=CustomerFactory(name="Can Demir", phone="+905449998877"))
    api = bearer(employee)

    def found(term):
        return {row["id"] for row in api.get("/api/packages/", {"search": term}).json()["results"]}

    assert found("web-ŞAHİN") == set()  # the order number is not folded, only its case (as before)
    assert found("WEB-şahin-1") == {str(target.pk)}
    assert found("0555 111 22 33") == {str(target.pk)}
    assert found("yildiz") == {str(target.pk)}


def test_an_order_number_finds_no_customer_by_the_digits_in_it(employee, as_employee, admin_client, store):
    """The digits of an order number ("SIP-1001") are not a phone: they found every customer whose phone has them
    somewhere (one in a few hundred for four digits), in the staff list, the API and admin alike."""
    wanted = PackageFactory(
        order__store=store,
        order__order_number="SIP-1001",
        order__customer=CustomerFactory(name="Elif Yıldız", phone="+905551112233"),
    )
    phone_has_the_digits = PackageFactory(
        order__store=store,
        order__order_number="SIP-2002",
        order__customer=CustomerFactory(name="Can Demir", phone="+905321001999"),
    )
    api = bearer(employee)

    def api_found(term):
        return {row["id"] for row in api.get("/api/packages/", {"search": term}).json()["results"]}

    def staff_found(term):
        page = as_employee.get(reverse("staff:package-list"), {"q": term}).content.decode()
        return {str(p.pk) for p in (wanted, phone_has_the_digits) if f'id="row-{p.pk}"' in page}

    def admin_found(term):
        response = admin_client.get(reverse("admin:orders_package_changelist"), {"q": term})
        return {str(p.pk) for p in response.context["cl"].result_list}

    for found in (api_found, staff_found, admin_found):
        assert found("SIP-100") == {str(wanted.pk)}
        assert found("Yıldız 1001") == set()  # a name and digits: neither the name nor a phone
        # A phone number as people write it still finds its customer, and so do bare digits.
        assert found("(0532) 100-19-99") == {str(phone_has_the_digits.pk)}
        assert found("+90 532 100 19 99") == {str(phone_has_the_digits.pk)}
        assert found("1001") == {str(wanted.pk), str(phone_has_the_digits.pk)}


def test_search_queries_do_not_grow_with_rows(employee, store):
    api = bearer(employee)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/api/packages/", {"search": "SAHİN"})
        assert response.status_code == 200
        return len(response.json()["results"]), len(captured.captured_queries)

    get_setting("IS_OTP_ENABLED")  # a running process: its application settings already loaded (core.appsettings)
    for _ in range(3):
        PackageFactory(order__store=store, order__customer=CustomerFactory(name="Ahmet Şahin"))
    rows_3, queries_3 = queries()
    for _ in range(20):
        PackageFactory(order__store=store, order__customer=CustomerFactory(name="Ahmet Şahin"))
    rows_23, queries_23 = queries()
    assert (rows_3, rows_23) == (3, 23)
    assert queries_3 == queries_23


# --- the folded name follows the name on every write path ------------------------------------------


def _folded(customer):
    return Customer.objects.values_list("name_folded", flat=True).get(pk=customer.pk)


def test_save_create_and_update_fields_keep_the_folded_name():
    customer = Customer.objects.create(name="Ahmet Şahin", phone="+905320000001")
    assert _folded(customer) == "ahmet sahin"
    customer.name = "AYŞE YILMAZ"
    customer.save(update_fields=["name"])
    assert _folded(customer) == "ayse yilmaz"


def test_intake_creates_and_renames_the_customer_with_its_folded_name(store):
    def intake(number, name):
        return services.order_intake(
            order_number=number,
            customer={"name": name, "phone": "+905321234567", "email": "", "language": "tr"},
            store_code=store.code,
            packages=[{"items": [{"sku": "SKU-1", "name": "Sneakers", "quantity": 1}]}],
        )[0]

    order = intake("WEB-1", "Çiğdem Kaya")
    assert _folded(order.customer) == "cigdem kaya"
    order = intake("WEB-2", "Çiğdem Öztürk")  # the same phone, a new name: intake updates the customer
    assert Customer.objects.count() == 1
    assert _folded(order.customer) == "cigdem ozturk"


def test_admin_edit_keeps_the_folded_name(admin_client):
    customer = CustomerFactory(name="Can Demir", language="tr")
    response = admin_client.post(
        reverse("admin:orders_customer_change", args=[customer.pk]),
        {
            "name": "İsmail Şahin",
            "phone": customer.phone,
            "email": customer.email,
            "push_token": customer.push_token,
            "language": "tr",
            "no_show_strikes-TOTAL_FORMS": "0",
            "no_show_strikes-INITIAL_FORMS": "0",
            "no_show_strikes-MIN_NUM_FORMS": "0",
            "no_show_strikes-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _folded(customer) == "ismail sahin"


def test_bulk_paths_keep_the_folded_name():
    first, second = Customer.objects.bulk_create(
        Customer(name=name, phone=f"+90532000000{index}") for index, name in enumerate(["Şahin", "Yılmaz"])
    )
    assert (_folded(first), _folded(second)) == ("sahin", "yilmaz")

    first.name, second.name = "ÖZTÜRK", "ÇİĞDEM"
    Customer.objects.bulk_update([first, second], ["name"])
    assert (_folded(first), _folded(second)) == ("ozturk", "cigdem")

    Customer.objects.filter(pk=first.pk).update(name="İSMAİL")
    assert _folded(first) == "ismail"
    # An expression's result is not known in Python: refused rather than leaving a stale folded name.
    with pytest.raises(TypeError):
        Customer.objects.filter(pk=first.pk).update(name=Upper("name"))
    assert Customer.objects.get(pk=first.pk).name == "İSMAİL"


def test_data_migration_fills_the_folded_names_in_batches(monkeypatch):
    migration = importlib.import_module("orders.migrations.0004_customer_name_folded")
    monkeypatch.setattr(migration, "BATCH_SIZE", 2)
    customers = [CustomerFactory(name=name) for name in NAMES]
    Customer.objects.update(name_folded="")  # as the rows stand right after the column is added

    class SchemaEditor:
        pass

    SchemaEditor.connection = connection
    migration.fill_name_folded(apps, SchemaEditor())

    assert [_folded(customer) for customer in customers] == [search_fold(name) for name in NAMES]
    assert _folded(customers[0]) == "ahmet sahin"
