"""Audit records (SPEC 3.4): the append-only history of every command, verification and forgiveness.

Records are written in the transaction of the change they describe; nothing here opens one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orders.models import AuditOutcome, AuditRecord, Package
from orders.services.actors import Actor


def audit_record_save(**fields: Any) -> AuditRecord:
    """Save and return one audit record; the arguments are ``audit_record``'s."""
    record = audit_record(**fields)
    record.save(force_insert=True)
    return record


def audit_record(
    *,
    package: Package,
    kind: str,
    actor: Actor | None,
    channel: str,
    now: datetime,
    outcome: str = AuditOutcome.SUCCESS,
    command: str = "",
    from_status: str = "",
    to_status: str = "",
    error_code: str = "",
    manual: bool = False,
    reason: str = "",
) -> AuditRecord:
    """An unsaved audit record (``audit_record_save`` saves one; ``package_move`` inserts several at once)."""
    return AuditRecord(
        created_at=now,
        kind=kind,
        outcome=outcome,
        error_code=error_code,
        command=command,
        from_status=from_status,
        to_status=to_status,
        manual=manual,
        actor=actor,
        channel=channel,
        store_id=package.store_id,
        package=package,
        reason=reason[:255],
    )
