"""Admin's search (orders.admin.StaffSearchMixin) and the staff pages' and API's (orders.selectors.orders_matching)
are one union of indexed queries, built by orders.selectors.row_search: they find the same packages, and the admin
lists built on it show their search box without search_fields (which would change nothing) and say under it what
the search looks at."""

import re

import pytest
from django.contrib import admin
from django.core import checks
from django.urls import reverse

from orders.admin import StaffSearchMixin
from orders.models import Customer, Order, Package, PackageStatus
from orders.selectors import orders_matching, package_search_q, row_search

pytestmark = pytest.mark.django_db


SEARCHED = [model_admin for model_admin in admin.site._registry.values() if isinstance(model_admin, StaffSearchMixin)]


def changelist(model_admin):
    return reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist")


@pytest.fixture
def packages(make_package, store, other_store):
    found = [
        make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer__name=name, order__customer__phone=phone)
        for name, phone in (("Işıl Çiçek", "+905321112233"), ("Ahmet Şahin", "+905554445566"))
    ]
    found.append(make_package(PackageStatus.WAITING, at_store=other_store, order__customer=found[0].order.customer))
    return found


@pytest.mark.parametrize("term", ["çiçek", "ISIL", "0532 111 22 33", "SAHIN", "its order number"])
def test_admin_and_the_staff_search_find_the_same_packages(admin_client, packages, term):
    if term == "its order number":
        term = packages[1].order.order_number.lower()
    staff = set(Package.objects.filter(package_search_q(term)).values_list("pk", flat=True))
    listed = admin_client.get(reverse("admin:orders_package_changelist"), {"q": term}).context["cl"].result_list
    assert staff and {package.pk for package in listed} == staff


def test_the_order_search_is_a_union_of_one_query_per_table(packages):
    keys = orders_matching(" Çiçek ")
    assert keys.query.combinator == "union"
    assert [query.model for query in keys.query.combined_queries] == [Order, Order]  # by number, by customer
    assert set(keys.values_list("pk", flat=True)) == {packages[0].order_id, packages[2].order_id}


def test_conditions_on_the_listed_table_alone_are_no_subquery(packages):
    search = row_search(Customer, "çiçek", customer_path="", customer_email=True)
    assert not search.parts
    sql = str(Customer.objects.filter(search.condition()).query)
    assert "SELECT" not in sql.split("WHERE", 1)[1]
    assert list(Customer.objects.filter(search.condition())) == [packages[0].order.customer]


@pytest.mark.parametrize("model_admin", SEARCHED, ids=lambda model_admin: model_admin.opts.label)
def test_each_list_shows_its_search_box_without_search_fields(admin_client, model_admin):
    assert not model_admin.search_fields  # the mixin's search reads none: a list here would mislead
    html = admin_client.get(changelist(model_admin)).content.decode()
    assert 'id="searchbar"' in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Searches by order number; customer's name, phone or e-mail; id or its first 8 characters."),
        (
            "tr",
            "Arama ölçütleri: sipariş numarası; müşterinin adı, telefonu veya e-postası; kimlik ya da ilk 8 karakteri.",
        ),
    ],
)
def test_the_search_box_says_what_it_finds_in_the_readers_language(admin_client, language, expected):
    html = admin_client.get(reverse("admin:orders_package_changelist"), HTTP_ACCEPT_LANGUAGE=language).content
    help_text = re.search(r'<div class="help" id="searchbar_helptext">(.*?)</div>', html.decode(), re.S).group(1)
    assert help_text.strip().replace("&#x27;", "'") == expected


def test_search_fields_on_a_list_with_the_staff_search_is_refused_by_a_check():
    class Misleading(StaffSearchMixin, admin.ModelAdmin):
        search_fields = ["name"]

    errors = Misleading(Customer, admin.site).check()
    assert [error.id for error in errors if isinstance(error, checks.Error)] == ["orders.E001"]
