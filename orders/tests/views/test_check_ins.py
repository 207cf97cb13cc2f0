"""The customers who checked in, on the staff pages (SPEC 13): on top of the list ("Customer waiting, 3 min"), and
those waiting longer than CHECKIN_ALERT_MINUTES as overdue, in colour and in words, on every page of the store."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.services import app_setting_set
from orders import services
from orders.models import PackageStatus
from orders.tests.htmx import HTMX, text

S = PackageStatus


def strip_of(html):
    """The check-in strip's entries: (order number, label, overdue)."""
    section = re.search(r'<section id="check-ins".*?</section>', html, re.S).group(0)
    return [
        (order, re.sub(r"\s+", " ", label).strip(), "check-in-overdue" in classes)
        for classes, order, label in re.findall(
            r'<a class="check-in ([^"]*)"[^>]*><strong>([^<]+)</strong>.*?<span class="check-in-label">([^<]+)</span>',
            section,
            re.S,
        )
    ]


def alert_of(html):
    """The overdue alert's entries: the texts of its items ("" inside when none)."""
    found = re.search(r'<div id="check-in-alerts" class="check-in-alerts( has-overdue)?"[^>]*>(.*?)</div>', html, re.S)
    assert found, "every staff page of a store has the alert's place"
    return [re.sub(r"<[^>]+>|\s+", " ", item).split() for item in re.findall(r"<li[^>]*>(.*?)</li>", found.group(2))]


@pytest.fixture
def checked_in(make_package):
    """Two customers at the store (arrived 7 and 3 minutes before ``now``), one on the way; the time is ``now``."""
    start = timezone.now()
    early = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-1", order__customer__name="Deniz Kaya")
    late = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-2", order__customer__name="Can Demir")
    coming = make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-3")
    make_package(S.READY_FOR_CUSTOMER_PICKUP, order__order_number="CC-4")
    with time_machine.travel(start, tick=False):
        services.package_check_in(package_id=early.pk, kind="arrived")
        services.package_check_in(package_id=coming.pk, kind="on_my_way", minutes=10)
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        services.package_check_in(package_id=late.pk, kind="arrived")
    now = start + timedelta(minutes=7, seconds=10)
    with time_machine.travel(now, tick=False):
        yield {"early": early, "late": late, "coming": coming}


def test_the_list_has_the_customers_waiting_on_top(as_employee, checked_in):
    html = text(as_employee.get(reverse("staff:package-list")))
    assert strip_of(html) == [
        ("CC-1", "Customer waiting, 7 min · overdue", True),
        ("CC-2", "Customer waiting, 3 min", False),
        ("CC-3", "Customer on the way, about 10 min", False),
    ]
    assert html.index('id="check-ins"') < html.index('<table class="packages">')
    turkish = text(as_employee.get(reverse("staff:package-list"), HTTP_ACCEPT_LANGUAGE="tr"))
    assert ("CC-2", "Müşteri bekliyor, 3 dk", False) in strip_of(turkish)


def test_an_overdue_customer_is_shown_on_every_page_of_the_store_until_served(
    as_employee, checked_in, make_package, issued_code, other_store, client
):
    other = checked_in["coming"]
    pages = [
        reverse("staff:package-list"),
        reverse("staff:package-detail", args=[other.pk]),
        reverse("staff:package-deliver", args=[other.pk]),  # a dialog as a page of its own
    ]
    for url in pages:
        html = text(as_employee.get(url))
        assert alert_of(html) == [
            ["CC-1", "·", "Deniz", "Kaya", "·", "Customer", "waiting,", "7", "min", "·", "overdue"]
        ]
        assert 'class="check-in-alerts has-overdue"' in html  # in colour (staff.css), as well as in words
    # Served from the list (htmx): the answer takes the alert away and the customer off the strip.
    early = checked_in["early"]
    response = as_employee.post(
        reverse("staff:package-deliver", args=[early.pk]),
        {"otp": issued_code(early), "mode": "code", "next": reverse("staff:package-list") + "?status=needs_action"},
        **HTMX,
    )
    assert response.status_code == 200
    assert alert_of(text(response)) == []
    assert [entry[0] for entry in strip_of(text(response))] == ["CC-2", "CC-3"]
    assert alert_of(text(as_employee.get(reverse("staff:package-detail", args=[other.pk])))) == []


def test_another_stores_pages_do_not_show_its_overdue_customers(checked_in, make_package, other_store, client):
    from orders.tests.factories import employee_of

    elsewhere = make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    client.force_login(employee_of(other_store, "mert"))
    assert alert_of(text(client.get(reverse("staff:package-detail", args=[elsewhere.pk])))) == []
    assert strip_of(text(client.get(reverse("staff:package-list")))) == []


def test_the_alert_minutes_are_the_stores_setting(as_employee, checked_in, store):
    app_setting_set(key="CHECKIN_ALERT_MINUTES", value=10, store=store)
    html = text(as_employee.get(reverse("staff:package-list")))
    assert alert_of(html) == []
    assert strip_of(html)[0] == ("CC-1", "Customer waiting, 7 min", False)


def test_the_refresh_answers_the_store_of_the_user_only(as_employee, checked_in, other_store, client):
    url = reverse("staff:check-ins")
    listed = as_employee.get(url, {"store": "IST01", "part": "list"}, **HTMX)
    assert [entry[0] for entry in strip_of(text(listed))] == ["CC-1", "CC-2", "CC-3"]
    assert 'hx-trigger="every 30s"' in text(listed)
    alerts = as_employee.get(url, {"store": "ist01", "part": "alerts"}, **HTMX)
    assert [entry[0] for entry in alert_of(text(alerts))] == ["CC-1"]
    assert as_employee.get(url, {"store": other_store.code}, **HTMX).status_code == 204
    as_employee.logout()
    assert as_employee.get(url, {"store": "IST01"}, **HTMX).status_code == 204
