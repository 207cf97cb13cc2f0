"""The command services (SPEC 3.2, ``orders.services.transitions``): every command from every state, allowed and refused,
with its audit and outbox effects, and the order's status derived from its packages'."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from notifications.models import Message, WebhookDelivery, WebhookEndpoint
from orders import commands as cmd
from orders import services
from orders.models import AuditKind, AuditRecord, OrderStatus, Package, PackageStatus
from orders.tests.factories import PackageFactory, UserFactory, employee_of
from otp.models import PickupCode

ALL_STATES = list(PackageStatus)


def run(package, command, actor, **kwargs):
    kwargs.setdefault("channel", "api")
    if command == cmd.CANCEL:
        kwargs.setdefault("reason", "customer called")
    if command == cmd.DELIVER:
        kwargs.setdefault("manual", True)
    if command == cmd.RESEND_CODE:
        # Past the resend cooldown that started when the package became ready.
        with time_machine.travel(timezone.now() + timedelta(seconds=61)):
            return services.package_run_command(package=package, command=command, actor=actor, **kwargs).package
    return services.package_run_command(package=package, command=command, actor=actor, **kwargs).package


@pytest.mark.django_db
@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("code", list(cmd.COMMANDS))
def test_each_command_from_each_state(state, code, make_package, manager):
    package = make_package(state)
    command = cmd.COMMANDS[code]
    before = Package.objects.values().get(pk=package.pk)
    audit_before = AuditRecord.objects.count()
    if state in command.sources:
        result = run(package, code, manager)
        result.refresh_from_db()
        assert result.status == (command.target or state)
        assert AuditRecord.objects.count() > audit_before
    else:
        with pytest.raises(ApplicationError) as error:
            run(package, code, manager)
        assert error.value.code == "invalid_state"
        assert Package.objects.values().get(pk=package.pk) == before
        # Only a delivery leaves a trace: the refused attempt is still a verification attempt (SPEC 3.4).
        added = AuditRecord.objects.count() - audit_before
        if code == cmd.DELIVER:
            assert added == 1
            record = AuditRecord.objects.latest("id")
            assert (record.kind, record.outcome, record.error_code) == ("verification", "refused", "invalid_state")
        else:
            assert added == 0


@pytest.mark.django_db
def test_employee_may_not_cancel_manager_may(make_package, employee, manager):
    package = make_package(PackageStatus.WAITING)
    with pytest.raises(ApplicationError) as error:
        services.package_cancel(package=package, actor=employee, channel="web", reason="no stock")
    assert error.value.code == "permission_denied"
    package.refresh_from_db()
    assert package.status == PackageStatus.WAITING
    services.package_cancel(package=package, actor=manager, channel="web", reason="no stock")
    package.refresh_from_db()
    assert (package.status, package.cancellation_reason) == (PackageStatus.CANCELLED, "no stock")


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 256])
def test_cancel_needs_a_reason(make_package, manager, reason):
    package = make_package(PackageStatus.WAITING)
    with pytest.raises(ApplicationError) as error:
        services.package_cancel(package=package, actor=manager, channel="web", reason=reason)
    assert error.value.code == "validation_error"
    package.refresh_from_db()
    assert package.status == PackageStatus.WAITING


@pytest.mark.django_db
def test_staff_of_another_store_get_not_found(make_package, other_store):
    package = make_package(PackageStatus.WAITING)
    stranger = employee_of(other_store)
    with pytest.raises(ApplicationError) as error:
        services.package_complete_packaging(package=package, actor=stranger, channel="api")
    assert error.value.code == "not_found"
    outsider = UserFactory()
    with pytest.raises(ApplicationError):
        services.package_complete_packaging(package=package, actor=outsider, channel="api")
    package.refresh_from_db()
    assert package.status == PackageStatus.WAITING


@pytest.mark.django_db
def test_ready_sets_hold_period_issues_code_and_writes_outbox(make_package, employee, store):
    WebhookEndpoint.objects.create(url="https://hooks.example.com/a", secret="whsec_dGVzdA==")
    app_setting_set(key="PICKUP_HOLD_HOURS", value=48, store=store)
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    services.package_mark_ready(package=package, actor=employee, channel="web")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert (package.ready_expires_at - package.ready_at).total_seconds() == 48 * 3600
    assert PickupCode.objects.filter(package=package, used_at=None, invalidated_at=None).count() == 1
    ready_messages = Message.objects.filter(package=package, event="ready_for_pickup")
    assert sorted(ready_messages.values_list("channel", flat=True)) == ["email", "push", "sms"]
    assert all(m.secret_encrypted and "******" in m.body for m in ready_messages)
    events = set(WebhookDelivery.objects.filter(package=package).values_list("event_type", flat=True))
    assert events == {"PackageReadyForCustomerPickupWhispererEvent", "PackageStatusChangedEvent"}
    assert package.order.status == OrderStatus.READY
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.CODE_ISSUED).count() == 1


@pytest.mark.django_db
def test_cancel_invalidates_code_and_notifies(make_package, manager, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    services.package_cancel(package=package, actor=manager, channel="web", reason="damaged")
    assert PickupCode.objects.get(package=package).invalidated_reason == "cancelled"
    assert Message.objects.filter(package=package, event="cancelled").exists()
    with pytest.raises(ApplicationError) as error:
        services.package_deliver(package=package, actor=manager, channel="api", otp_value=code)
    assert error.value.code == "invalid_state"


@pytest.mark.django_db
def test_transition_audit_has_who_what_where(make_package, employee):
    package = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=package, actor=employee, channel="web")
    record = AuditRecord.objects.filter(package=package, kind=AuditKind.TRANSITION).latest("id")
    assert (record.actor, record.channel, record.store_id) == (employee, "web", package.store_id)
    assert (record.from_status, record.to_status, record.command) == (
        PackageStatus.WAITING,
        PackageStatus.PACKED_ALL_ITEMS,
        cmd.COMPLETE_PACKAGING,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([PackageStatus.READY_FOR_CUSTOMER_PICKUP, PackageStatus.DELIVERED], OrderStatus.READY),
        ([PackageStatus.DELIVERED, PackageStatus.CANCELLED], OrderStatus.PICKED_UP),
        ([PackageStatus.DELIVERED, PackageStatus.DELIVERED], OrderStatus.PICKED_UP),
        ([PackageStatus.CANCELLED, PackageStatus.CANCELLED], OrderStatus.CANCELLED),
        ([PackageStatus.WAITING, PackageStatus.DELIVERED], OrderStatus.PROCESSING),
        ([PackageStatus.PACKED_ALL_ITEMS], OrderStatus.PROCESSING),
    ],
)
def test_order_status_is_derived_from_packages(statuses, expected):
    assert services.order_status_from(statuses) == expected


@pytest.mark.django_db
def test_order_status_is_stored_after_each_transition(make_package, employee, manager, store):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = PackageFactory(order=first.order, store=store)
    services.package_cancel(package=second, actor=manager, channel="web", reason="split")
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.READY
    services.package_deliver(package=first, actor=employee, channel="web", manual=True)
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.PICKED_UP
