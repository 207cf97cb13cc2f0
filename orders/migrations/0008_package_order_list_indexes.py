# The lists at a year's volume (docs/performance.md, "A year of data"): a store's packages newest first, every
# package and every order newest first, and the scanner's exact order number; then the package's store index,
# which the two new ones starting with the store make redundant, is dropped. Built and dropped CONCURRENTLY on
# PostgreSQL: migrate runs while the counters verify (docs/operations.md, "Releasing a new version"). Run again after
# an interruption, it keeps the indexes already built and builds again one a failed build left invalid. The previous
# version's code needs none of the dropped index: its lookups by store are answered by the new ones.

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres, DropFieldIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("orders", "0007_store_code_latin_name_folded_apostrophes"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="package",
            index=models.Index(fields=["store", "-created_at", "-id"], name="package_store_created_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="package",
            index=models.Index(fields=["-created_at", "-id"], name="package_created_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(django.db.models.functions.text.Upper("order_number"), name="order_number_upper_idx"),
        ),
        # Not a plain AlterField: on a foreign key it drops and adds the constraint again (a scan of every package
        # that holds off their writes) and drops the index with an ACCESS EXCLUSIVE lock.
        DropFieldIndexConcurrentlyOnPostgres(
            model_name="package",
            name="store",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="packages",
                to="orders.store",
                verbose_name="store",
            ),
        ),
    ]
