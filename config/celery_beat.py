"""django-celery-beat's database scheduler, kept ticking through a database outage (SPEC 11).

Settings: ``CELERY_BEAT_SCHEDULER = "config.celery_beat:DatabaseScheduler"``.

django-celery-beat 2.9 catches database errors where beat looks for schedule changes (every tick) and where it saves
the run counts, but not where it reads the whole schedule again: at start, after a change, and every 5 minutes
(``SCHEDULE_SYNC_MAX_INTERVAL``) in any case. A database that is down at that moment (any outage longer than 5
minutes reaches it) raised ``OperationalError`` out of ``Scheduler.tick()``, and ``celery beat`` exited.

Here a failed read keeps the periodic tasks read before (none yet, at start) and beat tries again on the next tick
(at most ``beat_max_loop_interval``, 5 s, later), logging one warning per try. Due tasks are still sent meanwhile:
they need the broker, not the database. When the database is back, the next read takes in any edits made meanwhile.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)


class DatabaseScheduler(schedulers.DatabaseScheduler):
    def all_as_schedule(self) -> dict:
        try:
            return super().all_as_schedule()
        except (DatabaseError, InterfaceError) as error:
            kept = self._schedule or {}
            logger.warning(
                "beat: cannot read the periodic tasks, the database is unavailable (%s); running the %d read "
                "before and trying again on the next tick",
                type(error).__name__,
                len(kept),
            )
            # The next tick reads the whole schedule again (as at start) instead of in the 5 minutes of a forced sync.
            self._initial_read = True
            return kept
