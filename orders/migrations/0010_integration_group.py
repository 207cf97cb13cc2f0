"""The order system's group (``core.authentication.INTEGRATION_GROUP``) exists after ``migrate``: an
administrator adds the order system's user to it in admin, without creating a group whose name must be typed
exactly (a group named "Integration" or "integration " would leave the account a staff user with no store)."""

from django.db import migrations

INTEGRATION_GROUP = "integration"  # frozen here: a migration must not change when the constant does


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=INTEGRATION_GROUP)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("orders", "0009_search_trigram_indexes"),
    ]

    # Going back leaves the group: its members would otherwise lose it with no warning. Not elidable: a squash
    # must keep it, since a new database needs the group as much as this one.
    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
