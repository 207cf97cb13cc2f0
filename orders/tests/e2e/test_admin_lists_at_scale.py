"""Admin lists and pages of the tables that grow by the million (docs/performance.md, "A year of data"): the
statements a page runs do not grow with its rows, and the searches, made of parts an index answers, still find
what support looks for (a package by the short id the list shows, a user's records, a webhook by its id)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Message, WebhookDelivery, WebhookEndpoint
from orders import services
from orders.models import NoShowStrike, PackageStatus
from orders.tests.factories import CustomerFactory, PackageFactory, employee_of

pytestmark = pytest.mark.django_db


LISTS = [
    "orders_package",
    "orders_order",
    "orders_customer",
    "orders_auditrecord",
    "orders_packageitem",
    "orders_noshowstrike",
    "orders_store",
    "notifications_message",
    "notifications_webhookdelivery",
    "otp_pickupcode",
]


@pytest.fixture
def add_rows(make_package, store, employee):
    """add_rows(n): n ready packages, each with its own customer, order, item, audit records, pickup code,
    messages, webhook deliveries and a no-show strike, and one more staff member."""
    WebhookEndpoint.objects.get_or_create(url="https://oms.example.com/hook", secret="whsec_dGVzdC1zZWNyZXQ=")

    def add(count):
        for _ in range(count):
            package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
            with time_machine.travel(timezone.now() + timedelta(minutes=2)):  # past the resend cooldown
                services.package_resend_code(package=package, actor=employee, channel="web")
            NoShowStrike.objects.create(customer=package.order.customer, package=package)
            employee_of(store)

    return add


def statements(client, url) -> int:
    client.get(url)  # once first: what a process reads once and keeps (content types, settings) is not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("model", LISTS)
def test_an_admin_list_runs_the_same_statements_for_few_rows_and_many(admin_client, add_rows, model):
    url = reverse(f"admin:{model}_changelist")
    add_rows(1)
    few = statements(admin_client, url)
    add_rows(5)
    assert statements(admin_client, url) == few


def packages_of(customer, count):
    return [PackageFactory(order__customer=customer) for _ in range(count)]


def test_the_customer_page_runs_the_same_statements_for_one_no_show_and_many(admin_client, add_rows):
    add_rows(1)
    customer = NoShowStrike.objects.get().customer
    url = reverse("admin:orders_customer_change", args=[customer.pk])
    one = statements(admin_client, url)
    for package in packages_of(customer, 4):
        NoShowStrike.objects.create(customer=customer, package=package)
    assert admin_client.get(url).content.decode().count("/forgive/") == 5  # every strike is on the page
    assert statements(admin_client, url) == one


def test_the_lists_count_ready_packages_and_no_shows_per_row(admin_client, make_package, store, other_store):
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.WAITING)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    stores = admin_client.get(reverse("admin:orders_store_changelist")).context["cl"].result_list
    assert {row.code: row._ready for row in stores} == {store.code: 2, other_store.code: 1}

    shown = make_package(PackageStatus.DELIVERED)
    customer = shown.order.customer
    for package in packages_of(customer, 2):
        NoShowStrike.objects.create(customer=customer, package=package)
    forgiven = NoShowStrike.objects.create(customer=customer, package=shown)
    forgiven.forgiven_at = forgiven.created_at
    forgiven.save()
    CustomerFactory(name="No Strikes")
    customers = admin_client.get(reverse("admin:orders_customer_changelist")).context["cl"].result_list
    assert {row.name: row._strikes for row in customers if row.pk == customer.pk or row.name == "No Strikes"} == {
        customer.name: 2,
        "No Strikes": 0,
    }


def found(client, model, term):
    response = client.get(reverse(f"admin:{model}_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_a_package_is_found_by_the_short_id_the_list_shows_or_its_whole_id(admin_client, make_package):
    package = make_package(PackageStatus.WAITING)
    make_package(PackageStatus.WAITING)
    for term in (str(package.pk)[:8], str(package.pk).upper(), str(package.pk).replace("-", "")):
        assert found(admin_client, "orders_package", term) == [package]


def test_the_rows_of_a_package_are_found_by_its_short_id(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    for model in ("otp_pickupcode", "orders_auditrecord", "notifications_message"):
        rows = found(admin_client, model, str(package.pk)[:8])
        assert rows and {row.package_id for row in rows} == {package.pk}


def test_a_users_records_are_found_by_their_username(admin_client, make_package, store):
    clerk = employee_of(store, "clerk-kemal")
    mine = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=mine, actor=clerk, channel="web")
    make_package(PackageStatus.PACKED_ALL_ITEMS)  # by the fixture's employee
    rows = found(admin_client, "orders_auditrecord", "KEMAL")
    assert [(row.actor_id, row.package_id) for row in rows] == [(clerk.pk, mine.pk)]


def test_a_webhook_delivery_is_found_by_the_webhook_id_its_receiver_logged(admin_client, make_package):
    WebhookEndpoint.objects.create(url="https://oms.example.com/hook", secret="whsec_dGVzdC1zZWNyZXQ=")
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    delivery = WebhookDelivery.objects.order_by("created_at").first()
    assert found(admin_client, "notifications_webhookdelivery", delivery.webhook_id) == [delivery]


def test_messages_and_customers_are_found_by_the_customers_phone_or_e_mail(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    customer = package.order.customer
    local_phone = "0" + customer.phone[3:]  # +90532... typed as 0532...
    assert {row.customer_id for row in found(admin_client, "notifications_message", local_phone)} == {customer.pk}
    assert set(Message.objects.filter(customer=customer)) == set(
        found(admin_client, "notifications_message", local_phone)
    )
    assert found(admin_client, "orders_customer", customer.email.upper()) == [customer]


def test_pickup_codes_are_filtered_by_how_they_ended_without_reading_every_code(admin_client, add_rows):
    add_rows(2)  # each package: a code replaced by the resend, and its current one
    url = reverse("admin:otp_pickupcode_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url, {"invalidated_reason": "replaced"})
    rows = response.context["cl"].result_list
    assert len(rows) == 2 and {row.invalidated_reason for row in rows} == {"replaced"}
    assert not [q["sql"] for q in captured.captured_queries if "DISTINCT" in q["sql"]]
    choices = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
    ]
    # Each reason the services write, in words (otp/tests/test_admin.py has them in both languages).
    assert {"Replaced by a new code", "Package delivered", "Package cancelled", "No-show: not collected in time"} <= {
        str(choice) for choice in choices
    }
