"""Cron-style no-show expiry (SPEC 6): the same service as the beat task."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.schedules import EXPIRY_TASK
from core.services import task_heartbeat_record
from core.text import iso_utc
from orders import selectors, services


class Command(BaseCommand):
    help = (
        "Cancel every package still ready after its readyExpiresAt as a no-show (one transaction per batch). "
        "Safe to run while beat runs the same sweep."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the packages that would expire; change nothing."
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Packages per transaction (default 500).")

    def handle(self, *args, **options):
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        if options["dry_run"]:
            due = selectors.packages_due_for_expiry(now=now)
            count = 0
            # iterator(): the listing stays flat in memory however many packages are due.
            for package in due.iterator(chunk_size=2000):
                count += 1
                self.stdout.write(
                    f"{package.pk}  {package.order.order_number}  {package.store.code}  "
                    f"expired {iso_utc(package.ready_expires_at)}"
                )
            self.stdout.write(f"dry run: {count} package(s) would expire; nothing was changed.")
            return
        expired = services.packages_expire_unclaimed(now=now, batch_size=batch_size)
        # A sweep from cron counts as the beat task's run for /readyz (cron instead of beat, docs/no-shows.md).
        task_heartbeat_record(task=EXPIRY_TASK)
        self.stdout.write(self.style.SUCCESS(f"{expired} package(s) expired as no-shows."))
