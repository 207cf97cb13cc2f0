"""The orders models: a store's code is unique ignoring case; a store's time zone must be a real one, and a stored
name that is not (older data, a typo saved past the admin) must not stop the counter: local times fall back to
UTC instead of answering 500. A customer's folded name follows the name on every write path. Audit records
are append-only."""

import importlib
from datetime import UTC, timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone, translation

from core.text import search_fold
from notifications.models import Message
from orders import commands as cmd
from orders import services
from orders.models import AuditRecord, Customer, PackageStatus, Store
from orders.services.outbox import message_deadline
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_misspelt_time_zone_is_refused_with_a_clear_error(store):
    store.timezone = "Europe/Istanbull"
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            store.full_clean()
        assert "is not a time zone name" in str(error.value.message_dict["timezone"])
    store.timezone = "America/Argentina/Buenos_Aires"
    store.full_clean()  # a real one passes


@pytest.mark.parametrize("zone", ["Etc/GMT+3", "Etc/GMT-3", "Etc/GMT-14"])
def test_a_fixed_offset_zone_is_refused_since_its_sign_reads_backwards(store, zone):
    store.timezone = zone
    with translation.override("tr"):
        with pytest.raises(ValidationError) as error:
            store.full_clean()
        assert "ters okunan" in str(error.value.message_dict["timezone"])
    for fine in ("Etc/UTC", "UTC", "Europe/Berlin"):
        store.timezone = fine
        store.full_clean()


def test_the_admin_refuses_it_and_changes_nothing(client, django_user_model, store):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    url = reverse("admin:orders_store_change", args=[store.pk])
    response = client.post(url, {"code": store.code, "name": store.name, "timezone": "Mars/Olympus", "is_active": "on"})
    assert response.status_code == 200 and "is not a time zone name" in response.content.decode()
    store.refresh_from_db()
    assert store.timezone == "Europe/Istanbul"


def test_a_stored_unknown_zone_falls_back_to_utc_everywhere(store, employee, as_employee, make_package):
    Store.objects.filter(pk=store.pk).update(timezone="Europe/Istanbull")  # past validation, as old data would be
    store.refresh_from_db()
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)

    response = bearer(employee).post(f"/api/packages/{package.pk}/commands/", {"command": cmd.READY_FOR_PICKUP})

    assert response.status_code == 200, response.content
    package.refresh_from_db()
    ready_sms = Message.objects.get(package=package, event="ready_for_pickup", channel="sms")
    utc = timezone.localtime(package.ready_expires_at, UTC)
    assert message_deadline(at=package.ready_expires_at, zone=store.zone, language="en") == f"{utc:%-d %B %H:%M}"
    assert message_deadline(at=package.ready_expires_at, zone=store.zone, language="en") in ready_sms.body
    assert store.zone.utcoffset(None) == timedelta(0)  # UTC
    assert as_employee.get(reverse("staff:package-list")).status_code == 200
    assert as_employee.get(reverse("staff:package-detail", args=[package.pk])).status_code == 200
    resend = bearer(employee).post(f"/api/packages/{package.pk}/resend-otp/", {})
    assert resend.status_code in (200, 429), resend.content  # answered, whatever the cooldown says


def test_one_store_with_an_unknown_zone_does_not_stop_the_others_reminders(store, other_store, make_package):
    Store.objects.filter(pk=store.pk).update(timezone="Nowhere/Atlantis")
    broken = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    fine = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    with time_machine.travel(broken.ready_expires_at - timedelta(hours=23), tick=False):
        reminded = services.packages_send_reminders()
    assert reminded == 2
    for package in (broken, fine):
        package.refresh_from_db()
        assert package.reminder_sent_at is not None


def test_a_code_differing_only_in_case_is_refused(client, django_user_model, store):
    """Staff switch stores and `appsetting --store` finds them by code in any case: one code, one store."""
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    response = client.post(
        reverse("admin:orders_store_add"),
        {"code": store.code.lower(), "name": "Copy", "timezone": "Europe/Istanbul", "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "A store with this code already exists (codes ignore case)." in response.content.decode()
    same = client.post(
        reverse("admin:orders_store_add"),
        {"code": store.code, "name": "Copy", "timezone": "Europe/Istanbul", "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert same.count("already exists") == 1  # one rule, said once
    assert Store.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Store.objects.create(code=store.code.swapcase(), name="Copy")


NAMES = ["Ahmet Şahin", "Mehmet Yılmaz", "Ayşe Öztürk", "Çiğdem Kaya", "Can Demir"]


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


@pytest.mark.django_db
def test_audit_records_are_append_only(make_package):
    from orders.models import AppendOnlyError

    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    record = AuditRecord.objects.filter(package=package).first()
    record.reason = "edited"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    assert AuditRecord.objects.get(pk=record.pk).reason == ""
