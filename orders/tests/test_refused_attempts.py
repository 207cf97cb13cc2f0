"""Every verification attempt is recorded (SPEC 3.4), also those the rules refuse before a code is compared:
a package that is not ready, manual confirmation not allowed, too many failures. They are recorded as
``refused`` after the rollback (nothing else changes) and do not count towards the failure window."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from core.testing import wrong_code
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus

pytestmark = pytest.mark.django_db


def attempts(package):
    return list(
        AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION)
        .order_by("id")
        .values_list("outcome", "error_code", "manual", "channel")
    )


def refused(**kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        services.package_deliver(channel="api", **kwargs)
    return error.value


def test_a_package_not_ready_is_a_refused_attempt_and_nothing_else_changes(make_package, employee):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    assert refused(package=package, actor=employee, otp_value="123456").code == "invalid_state"
    assert attempts(package) == [(AuditOutcome.REFUSED, "invalid_state", False, "api")]
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS


def test_manual_confirmation_not_allowed_is_a_refused_attempt(make_package, employee, store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    assert refused(package=package, actor=employee, manual=True).code == "permission_denied"
    assert attempts(package) == [(AuditOutcome.REFUSED, "permission_denied", True, "api")]
    assert package.pickup_codes.get(used_at=None, invalidated_at=None).attempts == 0


def test_throttled_attempts_are_recorded_but_do_not_stretch_the_window(make_package, employee, issued_code):
    packages = [make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP) for _ in range(5)]
    for attempt in range(20):
        package = packages[attempt % 5]
        refused(package=package, actor=employee, otp_value=wrong_code(issued_code(package)))
    last = packages[0]
    for _ in range(3):
        assert refused(package=last, actor=employee, otp_value=issued_code(last)).code == "throttled"
    assert attempts(last)[-3:] == [(AuditOutcome.REFUSED, "throttled", False, "api")] * 3
    # Only the 20 wrong codes count: ten minutes after them the user is heard again, refusals or not.
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert refused(package=last, actor=employee, otp_value=issued_code(last)).code != "throttled"


def test_malformed_input_and_other_stores_are_not_recorded(make_package, employee, other_store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    foreign = make_package(PackageStatus.PACKED_ALL_ITEMS, at_store=other_store)
    assert refused(package=package, actor=employee, otp_value="12ab").code == "validation_error"
    assert refused(package=package, actor=employee).code == "validation_error"  # neither code nor manual
    assert refused(package=foreign, actor=employee, otp_value="123456").code == "not_found"
    assert attempts(package) == [] and attempts(foreign) == []


def test_order_level_verification_records_its_refusals_too(make_package, employee, store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=package.order, actor=employee, channel="api", manual=True)
    assert error.value.code == "permission_denied"
    assert attempts(package) == [(AuditOutcome.REFUSED, "permission_denied", True, "api")]


def test_the_package_page_shows_a_refused_attempt(as_employee, make_package, employee):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    refused(package=package, actor=employee, otp_value="123456")
    page = as_employee.get(reverse("staff:package-detail", args=[package.pk]), HTTP_ACCEPT_LANGUAGE="tr")
    assert "Doğrulama denemesi reddedildi" in page.content.decode()
