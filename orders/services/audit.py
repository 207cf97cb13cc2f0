"""Audit records (SPEC 3.4): the append-only history of every command, verification and forgiveness.

Every record is built by ``audit_row`` and written by ``audit_records_write``, in the transaction of the change it
describes (nothing here opens one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from core.bulk import insert_rows
from orders.models import AuditOutcome, AuditRecord, Package
from orders.services.actors import Actor

# An audit record's values by field attname (``package_id``, ``actor_id``), ready to insert.
AuditRow: TypeAlias = dict[str, Any]


def audit_row(
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
    collected_by: str = "",
) -> AuditRow:
    """One record about ``package`` (and its store) at ``now``; ``actor`` None is the system."""
    return {
        "created_at": now,
        "kind": kind,
        "outcome": outcome,
        "error_code": error_code,
        "command": command,
        "from_status": from_status,
        "to_status": to_status,
        "manual": manual,
        "actor_id": actor.pk if actor is not None else None,
        "channel": channel,
        "store_id": package.store_id,
        "package_id": package.pk,
        "reason": reason[:255],
        "collected_by": collected_by,
    }


def audit_records_write(rows: list[AuditRow], *, batch: bool = False) -> None:
    """Insert ``rows`` in one statement. ``batch``: the rows of a batch job (the no-show sweep), streamed with COPY
    on PostgreSQL (``core.bulk.insert_rows``) without a model instance per row; a command's few rows go in with
    one INSERT."""
    if batch:
        insert_rows(AuditRecord, rows)
    else:
        AuditRecord.objects.bulk_create(AuditRecord(**row) for row in rows)
