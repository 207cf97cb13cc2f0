"""The package commands as data (SPEC 3.2): the API, the staff pages and the admin all read this table."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from orders.models import PackageStatus, StaffRole

S = PackageStatus

COMPLETE_PACKAGING = "COMPLETE_PACKAGING_WITHOUT_SHIPMENT"
READY_FOR_PICKUP = "READY_FOR_PICKUP"
DELIVER = "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND"
RESEND_CODE = "RESEND_PICKUP_CODE"
CANCEL = "CANCEL_PACKAGE"

_ROLE_RANK = {StaffRole.EMPLOYEE: 1, StaffRole.MANAGER: 2}


@dataclass(frozen=True)
class Command:
    code: str
    name: Promise
    button: Promise  # the staff pages' button label
    sources: tuple[str, ...]
    target: str | None  # None: the state stays
    role: str
    needs_otp: bool = False  # only ever offered while pickup codes are on for the store

    def role_allows(self, role: str | None) -> bool:
        return role is not None and _ROLE_RANK[role] >= _ROLE_RANK[self.role]

    def allows(self, *, status: str, role: str | None) -> bool:
        return status in self.sources and self.role_allows(role)


COMMANDS: dict[str, Command] = {
    command.code: command
    for command in (
        Command(
            COMPLETE_PACKAGING,
            _("Complete Packaging Without Shipment"),
            _("Complete Packaging"),
            (S.WAITING,),
            S.PACKED_ALL_ITEMS,
            StaffRole.EMPLOYEE,
        ),
        Command(
            READY_FOR_PICKUP,
            _("Ready For Customer Pickup"),
            _("Ready for Pickup"),
            (S.PACKED_ALL_ITEMS,),
            S.READY_FOR_CUSTOMER_PICKUP,
            StaffRole.EMPLOYEE,
        ),
        Command(
            DELIVER,
            _("Self Service Package Delivery"),
            _("Delivered"),
            (S.READY_FOR_CUSTOMER_PICKUP,),
            S.DELIVERED,
            StaffRole.EMPLOYEE,
        ),
        Command(
            RESEND_CODE,
            _("Resend Pickup Code"),
            _("Resend Code"),
            (S.READY_FOR_CUSTOMER_PICKUP,),
            None,
            StaffRole.EMPLOYEE,
            needs_otp=True,
        ),
        Command(
            CANCEL,
            _("Cancel Package"),
            _("Cancel"),
            (S.WAITING, S.PACKED_ALL_ITEMS, S.READY_FOR_CUSTOMER_PICKUP),
            S.CANCELLED,
            StaffRole.MANAGER,
        ),
    )
}


def available_commands(*, status: str, role: str | None, otp_enabled: bool) -> list[str]:
    """Codes of the commands this role may run on a package in ``status``, in table order."""
    return [
        command.code
        for command in COMMANDS.values()
        if command.allows(status=status, role=role) and (otp_enabled or not command.needs_otp)
    ]


# What the caller is told after a command succeeded (the API's ``message``, the staff pages' notice).
DONE_MESSAGES = {
    COMPLETE_PACKAGING: _("Packaging completed."),
    READY_FOR_PICKUP: _("The package is ready for pickup."),
    DELIVER: _("Package delivered."),
    RESEND_CODE: _("A new pickup code was sent to the customer."),
    CANCEL: _("Package cancelled."),
}
DELIVERED_MANUAL = _("Package delivered after manual confirmation.")
DELIVERED_NO_CODE = _("Package delivered. No pickup code was required at this store.")


def delivery_message(*, code_required: bool, manual: bool) -> Promise:
    """The message of a delivery: with the code, after manual confirmation, or at a store without codes."""
    if not code_required:
        return DELIVERED_NO_CODE
    return DELIVERED_MANUAL if manual else DONE_MESSAGES[DELIVER]


# Reasons the system records (an audit record's ``reason``, a package's ``cancellation_reason``) are stable
# codes, shown in the reader's language by ``reason_label``; a person's reason (a manager's cancellation) is
# stored and shown as typed.
NO_SHOW = "no_show"
MANUAL_CONFIRMATION = "manual_confirmation"
REASON_LABELS = {
    NO_SHOW: _("No-show: not collected in time"),
    MANUAL_CONFIRMATION: _("manual confirmation"),
    # Written by earlier versions as text in the request's language.
    "manual confirmation": _("manual confirmation"),
    "elle onay": _("manual confirmation"),
}


def reason_label(reason: str) -> str:
    """A recorded reason as the reader should see it (see ``REASON_LABELS``)."""
    label = REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


def status_label(value: str) -> str:
    """A package status as the reader should see it; an unknown value (an old audit row) as stored."""
    return str(PackageStatus(value).label) if value in PackageStatus.values else value
