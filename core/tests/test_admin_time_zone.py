"""Django admin shows its times in ADMIN_TIME_ZONE and says so; the staff pages keep the store's zone."""

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from core.middleware import AdminTimeZoneMiddleware
from notifications.models import Message
from orders import services
from orders.models import AuditRecord, PackageStatus

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 11, 23, 21, 14, tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def message(make_package, employee):
    services.package_mark_ready(package=make_package(PackageStatus.PACKED_ALL_ITEMS), actor=employee, channel="web")
    message = Message.objects.filter(channel="sms").get()
    Message.objects.filter(pk=message.pk).update(created_at=SENT)
    return message


@pytest.mark.parametrize(
    ("zone", "accept", "shown", "note"),
    [
        ("UTC", "en", "Nov. 23, 2026, 9:14 p.m.", "Times in UTC"),
        ("Europe/Istanbul", "en", "Nov. 24, 2026, 12:14 a.m.", "Times in Europe/Istanbul"),
        ("Europe/Istanbul", "tr", "24 Kasım 2026 00:14", "Saatler Europe/Istanbul saat diliminde"),
    ],
)
def test_admin_times_are_in_the_admin_zone_and_named(admin_client, message, settings, zone, accept, shown, note):
    settings.ADMIN_TIME_ZONE = zone
    page = admin_client.get(reverse("admin:notifications_message_changelist"), HTTP_ACCEPT_LANGUAGE=accept)
    html = page.content.decode()
    assert shown in html
    assert note in html


def test_the_zone_is_only_active_for_admin_requests(rf, settings):
    seen = []
    settings.ADMIN_TIME_ZONE = "Asia/Tokyo"
    middleware = AdminTimeZoneMiddleware(lambda request: seen.append(timezone.get_current_timezone_name()))
    middleware(rf.get(reverse("admin:index")))
    middleware(rf.get("/packages/"))
    middleware(rf.get("/api/packages/"))
    assert seen == ["Asia/Tokyo", "UTC", "UTC"]
    assert timezone.get_current_timezone_name() == "UTC"  # nothing left behind for the next request


def test_a_misspelt_admin_zone_stops_the_start_with_a_clear_message():
    setup = "import django; django.setup()"
    env = {**os.environ, "ADMIN_TIME_ZONE": "Europe/Istambul"}
    run = subprocess.run([sys.executable, "-c", setup], env=env, capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert "ADMIN_TIME_ZONE='Europe/Istambul' is not a time zone" in run.stderr


def test_an_audit_records_page_title_is_in_the_admin_zone(admin_client, message, settings):
    settings.ADMIN_TIME_ZONE = "Europe/Istanbul"
    record = AuditRecord.objects.order_by("created_at").first()
    AuditRecord.objects.filter(pk=record.pk).update(created_at=SENT)
    page = admin_client.get(reverse("admin:orders_auditrecord_change", args=[record.pk])).content.decode()
    assert "2026-11-24 00:14:00" in page and "2026-11-23 21:14:00" not in page
