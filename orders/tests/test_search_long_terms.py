"""A search term of many words (admin's search box takes any length; the staff pages and the API 100 characters):
each word of a name search is one LIKE condition, so a term of a few thousand words was a statement of thousands
of conditions, which SQLite refuses outright (expression tree too deep: admin answered 503 'database
unavailable') and PostgreSQL has to plan and run over the trigram index."""

import itertools
import string

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Package, PackageStatus
from orders.selectors import package_search_q

pytestmark = pytest.mark.django_db


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
