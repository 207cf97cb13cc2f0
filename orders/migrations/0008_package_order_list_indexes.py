# The lists at a year's volume (docs/performance.md, "A year of data"): a store's packages newest first, every
# package and every order newest first, and the scanner's exact order number; then the package's store index,
# which the two new ones starting with the store make redundant, is dropped. Built CONCURRENTLY on PostgreSQL.

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


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
        migrations.AlterField(
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
