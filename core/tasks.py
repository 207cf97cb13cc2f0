"""Periodic housekeeping of core on Celery beat (schedules: ``core.schedules``). Thin: each task calls one service."""

from celery import shared_task

from core.idempotency import idempotency_records_purge


@shared_task(name="core.idempotency_records_purge", ignore_result=True)
def purge_idempotency_records() -> int:
    """Delete the Idempotency-Key answers older than 24 hours (SPEC 14). Idempotent: a second run finds none."""
    return idempotency_records_purge()
