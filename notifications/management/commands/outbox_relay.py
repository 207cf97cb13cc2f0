"""Queue (or send) the outbox rows still pending: the relay that beat runs every minute, by hand or cron."""

from django.core.management.base import BaseCommand

from notifications import sending


class Command(BaseCommand):
    help = (
        "Queue again the customer messages and webhook deliveries still pending after NOTIFY_RELAY_AFTER_SECONDS "
        "(what beat's notifications-outbox-relay does). --inline sends them from this process, without a broker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Only rows pending at least this long (default: NOTIFY_RELAY_AFTER_SECONDS; 0 for all).",
        )
        parser.add_argument("--inline", action="store_true", help="Send here and now instead of queuing.")
        parser.add_argument("--batch-size", type=int, default=500, help="At most this many rows of each kind.")

    def handle(self, *args, older_than, inline, batch_size, **options):
        result = sending.outbox_relay(after_seconds=older_than, batch_size=batch_size, inline=inline)
        verb = "sent" if inline else "queued"
        self.stdout.write(f"{verb} {result.messages} message(s) and {result.webhooks} webhook delivery(ies)")
        if result.broker_down:
            self.stderr.write("the broker is unreachable: the remaining rows stay pending (try --inline)")
