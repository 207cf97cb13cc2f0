"""Package search by customer name (SPEC 9.2, 10): without case or accents, Turkish letters included.

Run on SQLite and on PostgreSQL (DATABASE_URL): the two databases fold case differently (SQLite ASCII
only; PostgreSQL keeps ``İ`` apart from ``i``), which is why the folded name is stored.
"""

import itertools
import string

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.appsettings import get_setting
from core.text import search_fold
from orders.models import Package, PackageStatus
from orders.selectors import package_search_q
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


def distinct_words(count: int) -> str:
    letters = ("".join(word) for word in itertools.product(string.ascii_lowercase, repeat=3))
    return " ".join(itertools.islice(letters, count))


@pytest.mark.parametrize("model", ["orders_package", "orders_order", "orders_customer", "notifications_message"])
def test_admin_answers_a_search_of_thousands_of_words(admin_client, make_package, model):
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    answer = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": distinct_words(2500)})
    assert answer.status_code == 200


def test_a_name_search_is_a_few_conditions_however_many_words(make_package):
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with CaptureQueriesContext(connection) as queries:
        list(Package.objects.filter(package_search_q(distinct_words(2500))))
    (query,) = queries.captured_queries
    assert query["sql"].count("name_folded") <= 10


def test_a_long_term_still_finds_the_name_it_describes(make_package):
    found = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Işıl Çiçek")
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer__name="Ahmet Şahin")
    # 18 different words, each a part of "isil cicek", the longest first to go: it is found all the same.
    words = "i s l c e k is si il ci ic ce ek isi sil cic ice cek"
    assert list(Package.objects.filter(package_search_q(words))) == [found]
    assert list(Package.objects.filter(package_search_q("IŞIL " * 3000))) == [found]
