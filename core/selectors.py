"""Reads of core's own tables that are more than a one-line query."""

from datetime import datetime, timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.models import TaskHeartbeat
from core.schedules import EXPIRY_TASK

# /readyz reports beat ``stale`` when the no-show sweep has not run for this long (SPEC 11).
BEAT_STALE_AFTER = timedelta(minutes=5)


def beat_status(*, now: datetime | None = None) -> str:
    """Whether the no-show sweep runs on schedule (SPEC 11), from what its runs record (``TaskHeartbeat``).

    - ``ok``: it has finished a run within ``BEAT_STALE_AFTER`` (5 minutes), or within one run of its schedule plus
      a minute where an administrator made that longer (every 10 minutes, a nightly crontab).
    - ``stale``: it has not. Beat is down, no worker takes its tasks, or the sweep fails: either way no-shows
      are not expired.
    - ``disabled``: every periodic task that runs it is disabled (an administrator's decision, e.g. cron runs
      ``expire_unclaimed_packages`` instead).
    - ``missing``: no periodic task runs it (``manage.py setup_schedules`` creates it again).

    Grace: a fresh install (or the upgrade that brought this check) counts from when ``migrate`` created the
    sweep's heartbeat row, and a task created or enabled again but not yet sent by beat (django-celery-beat clears
    ``last_run_at`` on disabling) from that change, so a system that has just started is not reported stale.
    """
    now = now or timezone.now()
    tasks = list(
        PeriodicTask.objects.filter(task=EXPIRY_TASK).select_related("interval", "crontab", "solar", "clocked")
    )
    enabled = [task for task in tasks if task.enabled]
    if not enabled:
        return "disabled" if tasks else "missing"
    heartbeat = TaskHeartbeat.objects.filter(task=EXPIRY_TASK).first()
    last_run = (heartbeat.last_run_at or heartbeat.created_at) if heartbeat else None
    for task in enabled:
        changed = task.date_changed if task.last_run_at is None else None
        since = max((moment for moment in (last_run, changed) if moment is not None), default=None)
        if since is None or now - since > _allowed_silence(task, since=since):
            return "stale"
    return "ok"


def _allowed_silence(task: PeriodicTask, *, since: datetime) -> timedelta:
    """BEAT_STALE_AFTER, or the time from ``since`` to the schedule's next run after it plus a minute if longer."""
    try:
        schedule = task.schedule
        between_runs = schedule.now() + schedule.remaining_estimate(since) - since
    except Exception:  # noqa: BLE001 - an odd schedule row must not break the probe; the default holds
        between_runs = timedelta(0)
    return max(BEAT_STALE_AFTER, between_runs + timedelta(minutes=1))
