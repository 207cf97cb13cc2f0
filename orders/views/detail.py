"""The package page: the package, its customer's tier and no-shows, its timeline and the messages sent."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from core.appsettings import StoreSettings
from core.errors import DEFAULT_MESSAGES
from notifications.models import Message, MessageChannel
from orders import commands as cmd
from orders import services
from orders.models import (
    AuditKind,
    AuditOutcome,
    AuditRecord,
    NoShowStrike,
    Package,
    PackageStatus,
    mask_email,
    mask_phone,
)
from orders.selectors import (
    customer_recent_no_shows,
    package_audit_timeline,
    package_messages_sent,
    staff_roles,
    user_may_forgive_no_shows,
)
from orders.views.common import _get_package
from orders.views.rows import Trust, _with_actions
from otp import services as otp_services

VERIFIED = _("Pickup code verified")
VERIFIED_MANUAL = _("Pickup code confirmed on the customer's phone")
VERIFY_FAILED = _("Pickup code refused")
VERIFY_REFUSED = _("Verification attempt refused")


def _recipient_masked(message: Message) -> str:
    if message.channel == MessageChannel.SMS:
        return mask_phone(message.recipient)
    if message.channel == MessageChannel.EMAIL:
        return mask_email(message.recipient)
    return message.recipient[:6] + "…" if message.recipient else ""


def _describe(record: AuditRecord) -> None:
    """What the timeline shows for one audit record; never a code (none is ever recorded)."""
    command = cmd.COMMANDS.get(record.command)
    if record.kind == AuditKind.TRANSITION:
        record.title = command.name if command else record.get_kind_display()
        if record.from_status:
            record.from_label = cmd.status_label(record.from_status)
            record.to_label = cmd.status_label(record.to_status)
    elif record.kind == AuditKind.VERIFICATION:
        if record.outcome == AuditOutcome.SUCCESS:
            record.title = VERIFIED_MANUAL if record.manual else VERIFIED
        elif record.outcome == AuditOutcome.REFUSED:
            record.title = VERIFY_REFUSED
        else:
            record.title = VERIFY_FAILED
    else:
        record.title = record.get_kind_display()
    if record.error_code:
        record.error_text = DEFAULT_MESSAGES.get(record.error_code, record.error_code)
    record.reason = cmd.reason_label(record.reason)


def _strikes_for(user: Any, customer: Any) -> list[NoShowStrike]:
    """The customer's latest no-shows (SPEC 6: staff see the history), each with its order number only where the
    reader may see that order: a no-show in another store shows that store's code instead."""
    strikes = customer_recent_no_shows(customer=customer, limit=20)
    own_stores = set(staff_roles(user=user))
    for strike in strikes:
        package = strike.package
        own = package.store_id in own_stores
        strike.label = package.order.order_number if own else package.store.code
        strike.package_url = reverse("staff:package-detail", args=[package.pk]) if own else ""
    return strikes


def _may_forgive(user: Any) -> bool:
    """Whether the user may forgive no-shows in admin from the customer's page, where the link leads:
    services.no_show_strike_forgive's own check, and the view or change permission on customers the page needs."""
    return user_may_forgive_no_shows(user=user) and (
        user.has_perm("orders.view_customer") or user.has_perm("orders.change_customer")
    )


def detail_context(request: HttpRequest, package: Package) -> dict[str, Any]:
    """What the package page shows of ``package`` (one the user reaches)."""
    package = _with_actions(package, request.user)
    customer = package.order.customer
    codes_used = (
        package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP and StoreSettings(package.store_id).IS_OTP_ENABLED
    )
    code = otp_services.pickup_code_current(package=package) if codes_used else None
    code_refusal = otp_services.pickup_code_refusal(code=code, now=timezone.now()) if codes_used else None
    timeline = package_audit_timeline(package=package)
    for record in timeline:
        _describe(record)
    # Who collected a delivered package (SPEC 13): as the staff chose it in the dialog, from the delivery's audit
    # record ("" where not said: a pickup person's order delivered without a choice, or by the API without one).
    delivery = next(
        (r for r in reversed(timeline) if r.kind == AuditKind.TRANSITION and r.to_status == PackageStatus.DELIVERED),
        None,
    )
    sent = package_messages_sent(package=package)
    for message in sent:
        message.recipient_masked = _recipient_masked(message)
    tier, restricted_until = services.customers_trust_at_store(customers=[customer], store=package.store_id)[
        customer.pk
    ]
    return {
        "package": package,
        "customer": customer,
        # As this store judges the customer (its own NO_SHOW_* settings, if it has them).
        "trust": Trust(tier, restricted_until),
        # Forgiving is an administrator's (docs/no-shows.md): the page leads there, or says whom to ask.
        "may_forgive": _may_forgive(request.user),
        "items": list(package.items.all()),
        "timeline": timeline,
        "cancellation_reason": cmd.reason_label(package.cancellation_reason),
        "sent_messages": sent,
        "strikes": _strikes_for(request.user, customer),
        "collected_by": delivery.collected_by if delivery is not None else None,
        "codes_used": codes_used,
        "code": code,
        "code_refusal": code_refusal,
        # The page's forms and dialogs come back to the page itself.
        "next": reverse("staff:package-detail", args=[package.pk]),
        "scan_store": package.store.code,
        "page_store": package.store,
    }


def detail_updates(request: HttpRequest, package: Package) -> str:
    """After a command on ``package`` from its page: the page as it is now, as an out-of-band swap of ``#main``."""
    context = detail_context(request, package)
    return render_to_string("orders/_package_updates.html", context, request=request)


@login_required
@require_GET
def package_detail(request: HttpRequest, package_id: Any) -> HttpResponse:
    package = _get_package(request, package_id)
    return render(request, "orders/package_detail.html", detail_context(request, package))
