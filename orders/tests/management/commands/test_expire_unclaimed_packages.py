"""``manage.py expire_unclaimed_packages``: the no-show sweep by hand, with a dry run that changes nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.text import iso_utc
from orders.models import NoShowStrike, Package, PackageStatus
from orders.tests.no_shows import after_deadline

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HOLD = timedelta(hours=72)


# --- the management command, the task and the schedule ---------------------------------------------------


@pytest.mark.django_db
def test_command_dry_run_lists_and_changes_nothing(make_package):
    due = make_package(READY)
    not_due = make_package(READY)
    Package.objects.filter(pk=not_due.pk).update(ready_expires_at=timezone.now() + HOLD * 2)
    out = StringIO()
    with after_deadline(due):
        call_command("expire_unclaimed_packages", "--dry-run", stdout=out)
    text = out.getvalue()
    assert str(due.pk) in text and due.order.order_number in text and str(not_due.pk) not in text
    assert "1 package(s) would expire" in text
    due.refresh_from_db()
    assert f"expired {iso_utc(due.ready_expires_at)}" in text and text.count("Z\n") == 1
    assert Package.objects.get(pk=due.pk).status == READY and not NoShowStrike.objects.exists()


@pytest.mark.django_db
def test_command_expires(make_package):
    packages = [make_package(READY) for _ in range(3)]
    out = StringIO()
    with after_deadline(packages[-1]):
        call_command("expire_unclaimed_packages", "--batch-size", "2", stdout=out)
        assert "3 package(s) expired" in out.getvalue()
        call_command("expire_unclaimed_packages", stdout=out)
    assert "0 package(s) expired" in out.getvalue()
    assert Package.objects.filter(status=PackageStatus.CANCELLED, cancellation_reason="no_show").count() == 3
