"""Fill the customers' folded names again (Customer.name_folded, what the name search compares)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from core import migration_operations
from core.text import search_fold
from orders.models import Customer


class Command(BaseCommand):
    help = (
        "Fold every customer's name again with the running version's search_fold and store it where it differs, "
        "a batch per transaction; safe while the counters work. Run it once after a release whose migration "
        "refolded the names, when the last process of the previous version has stopped: names those processes "
        "wrote during the rollout were folded their way (docs/operations.md, 'Releasing a new version')."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=migration_operations.BATCH_SIZE,
            help=f"Customers read per batch (default {migration_operations.BATCH_SIZE}).",
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = migration_operations.refill_in_batches(
            Customer,
            using=DEFAULT_DB_ALIAS,
            source="name",
            target="name_folded",
            compute=search_fold,
            batch_size=options["batch_size"],
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.examined} customer(s) read in {result.batches} batch(es), {result.changed} folded name(s) "
                "written."
            )
        )
