"""Audit trail reads: a package's timeline, admin's search by user, and a user's recent failed verifications
(the guess-spraying limit's input)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Subquery

from orders.models import AuditKind, AuditOutcome, AuditRecord, Package
from otp import conf as otp_conf
from otp import services as otp


def package_audit_timeline(*, package: Package) -> list[AuditRecord]:
    """The package's audit records, oldest first, each with its actor: the package page's timeline."""
    return list(AuditRecord.objects.filter(package=package).select_related("actor").order_by("created_at", "pk"))


def audit_records_by_actor_name(*, term: str) -> QuerySet[AuditRecord]:
    """The records of the users whose username contains ``term``, in any case (by the actor's index: the users
    are few)."""
    return AuditRecord.objects.filter(actor__username__icontains=term)


def _failed_verifications(*, actor: Any, now: datetime) -> QuerySet[AuditRecord]:
    """The actor's failed verifications within the guess-spraying window (``otp.spray_window_start``), newest
    first; read on the audit table's ``audit_actor_failures_idx``."""
    return AuditRecord.objects.filter(
        actor=actor,
        kind=AuditKind.VERIFICATION,
        outcome=AuditOutcome.FAILURE,
        created_at__gt=otp.spray_window_start(now=now),
    ).order_by("-created_at")


def failed_verification_limit_edge(*, actor: Any, now: datetime) -> Subquery:
    """A subquery: the time of the actor's SPRAY_MAX_FAILURES-th most recent failed verification within the window,
    NULL when there are fewer (the limit is not reached). For a query the caller makes anyway (the pickup code's),
    instead of one more round trip; its value is ``otp.verification_check_spray_limit``'s ``oldest_counted``."""
    edge = otp_conf.SPRAY_MAX_FAILURES - 1
    return Subquery(_failed_verifications(actor=actor, now=now).values("created_at")[edge : edge + 1])


def failed_verification_limit_reached_at(*, actor: Any, now: datetime) -> datetime | None:
    """``failed_verification_limit_edge`` read on its own (one query)."""
    failures = list(
        _failed_verifications(actor=actor, now=now).values_list("created_at", flat=True)[: otp_conf.SPRAY_MAX_FAILURES]
    )
    return failures[-1] if len(failures) >= otp_conf.SPRAY_MAX_FAILURES else None
