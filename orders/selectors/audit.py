"""Audit trail reads: a package's timeline and admin's search by user."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import AuditRecord, Package


def package_audit_timeline(*, package: Package) -> list[AuditRecord]:
    """The package's audit records, oldest first, each with its actor: the package page's timeline."""
    return list(AuditRecord.objects.filter(package=package).select_related("actor").order_by("created_at", "pk"))


def audit_records_by_actor_name(*, term: str) -> QuerySet[AuditRecord]:
    """The records of the users whose username contains ``term``, in any case (by the actor's index: the users
    are few)."""
    return AuditRecord.objects.filter(actor__username__icontains=term)
