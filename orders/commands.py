"""The package commands as data (SPEC 3.2): the API, the staff pages and the admin all read this table, and
``orders.services.package_run_command`` runs a command by its code with the service its entry names."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.models import PackageStatus, StaffRole

COMPLETE_PACKAGING = "COMPLETE_PACKAGING_WITHOUT_SHIPMENT"
READY_FOR_PICKUP = "READY_FOR_PICKUP"
DELIVER = "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND"
RESEND_CODE = "RESEND_PICKUP_CODE"
CANCEL = "CANCEL_PACKAGE"

_ROLE_RANK = {StaffRole.EMPLOYEE: 1, StaffRole.MANAGER: 2}


@dataclass(frozen=True)
class Command:
    """One package command: what it is called, from which states to which, who may run it, and its service.

    ``service``: the dotted path of the service that runs it, which ``orders.services.package_run_command`` calls
    with the package, the actor, the channel and the ``inputs`` it takes besides them. A path, not the function:
    the services read this table, so it cannot import them.
    """

    code: str
    name: Promise
    button: Promise  # the staff pages' button label
    sources: tuple[str, ...]
    target: str | None  # None: the state stays
    role: str
    service: str
    inputs: tuple[str, ...] = ()
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
            sources=(PackageStatus.WAITING,),
            target=PackageStatus.PACKED_ALL_ITEMS,
            role=StaffRole.EMPLOYEE,
            service="orders.services.transitions.package_complete_packaging",
        ),
        Command(
            READY_FOR_PICKUP,
            _("Ready For Customer Pickup"),
            _("Ready for Pickup"),
            sources=(PackageStatus.PACKED_ALL_ITEMS,),
            target=PackageStatus.READY_FOR_CUSTOMER_PICKUP,
            role=StaffRole.EMPLOYEE,
            service="orders.services.transitions.package_mark_ready",
        ),
        Command(
            DELIVER,
            _("Self Service Package Delivery"),
            _("Delivered"),
            sources=(PackageStatus.READY_FOR_CUSTOMER_PICKUP,),
            target=PackageStatus.DELIVERED,
            role=StaffRole.EMPLOYEE,
            service="orders.services.delivery.package_deliver",
            inputs=("otp_value", "manual", "collected_by"),
        ),
        Command(
            RESEND_CODE,
            _("Resend Pickup Code"),
            _("Resend Code"),
            sources=(PackageStatus.READY_FOR_CUSTOMER_PICKUP,),
            target=None,
            role=StaffRole.EMPLOYEE,
            service="orders.services.transitions.package_resend_code",
            needs_otp=True,
        ),
        Command(
            CANCEL,
            _("Cancel Package"),
            _("Cancel"),
            sources=(PackageStatus.WAITING, PackageStatus.PACKED_ALL_ITEMS, PackageStatus.READY_FOR_CUSTOMER_PICKUP),
            target=PackageStatus.CANCELLED,
            role=StaffRole.MANAGER,
            service="orders.services.transitions.package_cancel",
            inputs=("reason",),
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


def handover_message(*, order_number: str, item_count: int, code_required: bool, manual: bool) -> str:
    """The staff pages' message after a delivery (SPEC 12): how it was delivered, as ``delivery_message`` says,
    and what to hand over ("Package delivered: hand over DEMO-IST01-003, 2 items"). The API keeps answering
    ``delivery_message``: integrators match that text. In the active language; call it in the request."""
    if not code_required:
        text = ngettext(
            "Package delivered: hand over %(order)s, %(count)s item. No pickup code was required at this store.",
            "Package delivered: hand over %(order)s, %(count)s items. No pickup code was required at this store.",
            item_count,
        )
    elif manual:
        text = ngettext(
            "Package delivered after manual confirmation: hand over %(order)s, %(count)s item.",
            "Package delivered after manual confirmation: hand over %(order)s, %(count)s items.",
            item_count,
        )
    else:
        text = ngettext(
            "Package delivered: hand over %(order)s, %(count)s item.",
            "Package delivered: hand over %(order)s, %(count)s items.",
            item_count,
        )
    return text % {"order": order_number, "count": item_count}


# Reasons the system records (an audit record's ``reason``, a package's ``cancellation_reason``) are stable
# codes, shown in the reader's language by ``reason_label``; a person's reason (a manager's cancellation) is
# stored and shown as typed.
NO_SHOW = "no_show"
MANUAL_CONFIRMATION = "manual_confirmation"
REASON_LABELS = {
    NO_SHOW: _("No-show: not collected in time"),
    MANUAL_CONFIRMATION: _("manual confirmation"),
    # Stored as text in the request's language by earlier versions. Remove these two once no audit record has
    # them: AuditRecord.objects.filter(reason__in=["manual confirmation", "elle onay"]).exists() is False.
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
