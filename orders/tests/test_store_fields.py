"""A store's code is unique ignoring case. A store's time zone: a new name must be a real one, and a stored name that is not (older data, a typo saved
past the admin) must not stop the counter: local times fall back to UTC instead of answering 500."""

from datetime import UTC, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from notifications.models import Message
from orders import commands as cmd
from orders import services
from orders.models import PackageStatus, Store
from orders.services.outbox import message_deadline
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture

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
