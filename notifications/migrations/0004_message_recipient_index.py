# Admin's message search by what a message was sent to, exactly (a number the customer has since changed):
# a B-tree on the recipient. Built CONCURRENTLY on PostgreSQL, as migrate runs while the counters verify and the
# outbox writes messages (docs/operations.md, "Releasing a new version"); run again after an interruption, it keeps
# the index if it was built and builds it again if a failed build left it invalid.

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("notifications", "0003_message_language_choices"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="message",
            index=models.Index(fields=["recipient"], name="message_recipient_idx"),
        ),
    ]
