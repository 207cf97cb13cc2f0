# Store codes in Latin letters (a validator: existing codes are left as they are, admin asks for a valid one at the
# next edit), and the customers' folded names filled again: search_fold now drops apostrophes.

import importlib

import django.core.validators
from django.db import migrations, models

fill_name_folded = importlib.import_module("orders.migrations.0004_customer_name_folded").fill_name_folded


class Migration(migrations.Migration):

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
        migrations.RunPython(fill_name_folded, migrations.RunPython.noop, elidable=True),
    ]
