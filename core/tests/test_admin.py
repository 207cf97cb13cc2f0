"""Admin lists of the tables that grow by the million (core.admin.LargeTableAdminMixin): the count past a threshold is
PostgreSQL's estimate and says so, and the date hierarchy lists the periods between the first and the last row
without reading every row's date."""

import os
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.admin import EstimatedCountPaginator, uuid_prefix_q
from orders.models import Customer, PackageStatus
from orders.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "admin:orders_customer_changelist"
requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): the estimate is PostgreSQL's statistics",
)


def test_a_list_under_the_threshold_is_counted_exactly(admin_client):
    CustomerFactory.create_batch(12)
    response = admin_client.get(reverse(CUSTOMERS))
    assert response.context["cl"].result_count == 12
    assert not response.context["cl"].paginator.is_estimate
    assert "≈" not in response.content.decode()


@requires_postgres
@pytest.mark.parametrize("query", [{}, {"language__exact": "en"}])
def test_a_list_past_the_threshold_shows_the_estimate_and_says_so(admin_client, monkeypatch, query):
    CustomerFactory.create_batch(30, language="en")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_customer")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 10)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse(CUSTOMERS), query)
    cl = response.context["cl"]
    assert cl.paginator.is_estimate and cl.result_count == 30  # a table this small is estimated exactly
    assert "≈ 30" in response.content.decode()
    assert len(cl.result_list) == 30
    assert not [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(")]


def make_audited_packages(make_package, *times):
    for moment in times:
        with time_machine.travel(moment, tick=False):
            make_package(PackageStatus.PACKED_ALL_ITEMS)  # an audit record at that moment


def hierarchy_links(response, part):
    """The values of ``part`` (e.g. ``created_at__month``) the page links to: the date hierarchy's choices."""
    return sorted({int(value) for value in re.findall(rf"{part}=(\d+)", response.content.decode())})


def test_the_date_hierarchy_lists_every_month_between_the_first_and_last_record(admin_client, make_package):
    make_audited_packages(make_package, datetime(2026, 1, 15, 10, tzinfo=UTC), datetime(2026, 3, 10, 10, tzinfo=UTC))
    url = reverse("admin:orders_auditrecord_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url, {"created_at__year": 2026})
    assert response.status_code == 200
    assert hierarchy_links(response, "created_at__month") == [1, 2, 3]  # February has no record and is listed
    # Two index reads (first, last), not every record's month.
    assert not [q["sql"] for q in captured.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_the_date_hierarchy_lists_the_years_and_the_days_between_the_bounds(admin_client, make_package):
    make_audited_packages(make_package, datetime(2025, 12, 30, 10, tzinfo=UTC), datetime(2026, 1, 2, 10, tzinfo=UTC))
    url = reverse("admin:orders_auditrecord_changelist")
    assert hierarchy_links(admin_client.get(url), "created_at__year") == [2025, 2026]
    days = admin_client.get(url, {"created_at__year": 2025, "created_at__month": 12})
    assert hierarchy_links(days, "created_at__day") == [30]
    assert hierarchy_links(admin_client.get(url, {"created_at__year": 2026}), "created_at__month") == [1]


@pytest.mark.parametrize(
    ("term", "low", "high"),
    [
        ("0123abcd", "0123abcd-0000-0000-0000-000000000000", "0123abcd-ffff-ffff-ffff-ffffffffffff"),
        ("0123ABCD-9", "0123abcd-9000-0000-0000-000000000000", "0123abcd-9fff-ffff-ffff-ffffffffffff"),
    ],
)
def test_a_uuid_prefix_is_a_range_of_keys(term, low, high):
    assert [str(bound) for bound in uuid_prefix_q(term).children[0][1]] == [low, high]


@pytest.mark.parametrize("term", ["0123abc", "Ayşe", "cafe", "0123abcd-0123abcd-0123abcd-0123abcd-0", "ORD'1"])
def test_other_terms_are_no_uuid_prefix(term):
    assert uuid_prefix_q(term) is None


@requires_postgres
def test_the_search_box_says_the_estimate_is_one_too(admin_client, monkeypatch):
    """The count beside the search box ("30 results (Show all)", on every list: show_full_result_count is off) is
    the paginator's, so an estimate there says so as the one under the list does, in both languages."""
    CustomerFactory.create_batch(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_customer")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 10)
    for language, results in (("en", "30 results"), ("tr", "30 sonuç")):
        html = admin_client.get(reverse(CUSTOMERS), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        note = re.search(r'<span class="small quiet">(.*?)</span>', html, re.S).group(1)
        assert re.sub(r"\s+", " ", note).strip().startswith(f"≈ {results}")


def test_an_exact_count_beside_the_search_box_has_no_sign(admin_client):
    CustomerFactory.create_batch(3)
    html = admin_client.get(reverse(CUSTOMERS)).content.decode()
    note = re.search(r'<span class="small quiet">(.*?)</span>', html, re.S).group(1)
    assert re.sub(r"\s+", " ", note).strip().startswith("3 results")


def test_facet_counts_are_never_run_on_a_big_list(admin_client):
    """Django's "Show counts" (?_facets=1) counts every choice of every filter over the whole table."""
    CustomerFactory.create_batch(3)
    plain = admin_client.get(reverse(CUSTOMERS))
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse(CUSTOMERS), {"_facets": "1"})
    assert response.status_code == 200 and not response.context["cl"].add_facets
    with CaptureQueriesContext(connection) as plain_captured:
        admin_client.get(reverse(CUSTOMERS))
    assert len(captured.captured_queries) == len(plain_captured.captured_queries)
    assert "Show counts" not in plain.content.decode()


def action_bar(html):
    """The action bar's "All N selected" and "Select all N customers", spaces collapsed."""
    texts = [
        re.search(rf'<span class="{name} hidden">(.*?)</span>', html, re.S).group(1) for name in ("all", "question")
    ]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip() for text in texts]


@requires_postgres
def test_the_action_bar_says_the_estimate_is_one_too(admin_client, monkeypatch):
    """ "Select all 30 customers" (and "All 30 selected" once clicked) is the paginator's count too: an estimate reads
    as one there as well, in both languages."""
    CustomerFactory.create_batch(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_customer")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 10)
    monkeypatch.setattr(admin.site._registry[Customer], "list_per_page", 10)  # so that there are more pages
    for language, expected in (
        ("en", ["All ≈ 30 selected", "Select all ≈ 30 customers"]),
        ("tr", ["Tüm ≈ 30 nesne seçildi", "Tüm ≈ 30 müşteriler nesnelerini seç"]),
    ):
        html = admin_client.get(reverse(CUSTOMERS), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert action_bar(html) == expected


def test_an_exact_count_in_the_action_bar_has_no_sign(admin_client, monkeypatch):
    CustomerFactory.create_batch(12)
    monkeypatch.setattr(admin.site._registry[Customer], "list_per_page", 10)
    html = admin_client.get(reverse(CUSTOMERS)).content.decode()
    assert action_bar(html) == ["All 12 selected", "Select all 12 customers"]
