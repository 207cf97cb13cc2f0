# Store codes in Latin letters (a validator: existing codes are left as they are, admin asks for a valid one at the
# next edit; nothing changes in the database), and the customers' folded names filled again: search_fold now drops
# apostrophes.
#
# Not atomic: migrate runs while the counters take orders (docs/operations.md, "Releasing a new version"), and one
# transaction over every customer held each row's lock until the last was written (115 s at 300,000 customers,
# every order intake for a returning customer waiting). The refold reads the customers a batch at a time and writes
# only the names whose folded form changes (those with an apostrophe), each batch its own short transaction
# (core.migration_operations.refill_in_batches); a run stopped half way is finished by running it again.

import unicodedata

import django.core.validators
from django.db import migrations, models

from core.migration_operations import refill_in_batches
from core.text import search_fold


def fold_before_0007(text: str) -> str:
    """search_fold as it was before this migration, apostrophes kept: what backwards restores, for the
    previous version's search, which folds the typed term so."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().replace("ı", "i").split())


def fill_name_folded(apps, schema_editor):
    refill_in_batches(
        apps.get_model("orders", "Customer"),
        using=schema_editor.connection.alias,
        source="name",
        target="name_folded",
        compute=search_fold,
    )


def unfold_names(apps, schema_editor):
    refill_in_batches(
        apps.get_model("orders", "Customer"),
        using=schema_editor.connection.alias,
        source="name",
        target="name_folded",
        compute=fold_before_0007,
    )


class Migration(migrations.Migration):
    atomic = False  # the refold commits a batch at a time

    dependencies = [
        ("orders", "0006_store_code_unique_by_its_constraint"),
    ]

    operations = [
        migrations.AlterField(
            model_name="store",
            name="code",
            field=models.CharField(
                help_text="For example IST01.",
                max_length=16,
                validators=[
                    django.core.validators.RegexValidator(
                        "\\A[A-Za-z0-9_-]+\\Z",
                        "Use only the letters A–Z (I, not İ or ı; no Ç, Ğ, Ö, Ş, Ü), digits, hyphens and underscores.",
                    )
                ],
                verbose_name="code",
            ),
        ),
        migrations.RunPython(fill_name_folded, unfold_names, elidable=True),
    ]
