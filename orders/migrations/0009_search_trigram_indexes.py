# The searches at a year's volume (docs/performance.md, "A year of data"), PostgreSQL only: trigram indexes
# (pg_trgm, a trusted extension: the database's owner may create it) answer "contains" (LIKE '%term%') on the
# order number, the customer's folded name, phone and e-mail, which B-tree indexes cannot; and admin's customer
# list sorts by name in Turkish order from an index. Not in the models' Meta: SQLite has no such indexes, and it
# rebuilds a table with every index of its model state when a later migration alters one. Built CONCURRENTLY (the
# counters go on meanwhile), then the two tables analysed for the new expressions. A database where the migration's
# user may not create pg_trgm stops it with what to do before anything is built (docs/operations.md, "Releasing a
# new version").

from django.core.management.base import CommandError
from django.db import DatabaseError, migrations

from core.migration_operations import prepare_concurrent_index

INDEXES = {
    "order_number_trgm_idx": "orders_order USING gin (UPPER(order_number) gin_trgm_ops)",
    "customer_name_folded_trgm_idx": "orders_customer USING gin (name_folded gin_trgm_ops)",
    "customer_phone_trgm_idx": "orders_customer USING gin (phone gin_trgm_ops)",
    "customer_email_trgm_idx": "orders_customer USING gin (UPPER(email) gin_trgm_ops)",
    # core.text.TURKISH_COLLATION; the admin's ordering (orders.admin.CustomerAdmin.ordering).
    "customer_name_turkish_idx": 'orders_customer ((name COLLATE "tr-x-icu"), id)',
}

HELP = 'docs/operations.md, "Releasing a new version"'


def ensure_prerequisites(cursor):
    """pg_trgm and the ICU collation, before anything is built: a database that lacks one stops the migration
    with what to do, and nothing changed (0007 and 0008 stay applied; migrate goes on from here next time)."""
    cursor.execute("SELECT current_user, current_database()")
    user, database = cursor.fetchone()
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone() is None:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as error:
            detail = " ".join(str(error).split())
            raise CommandError(
                f'orders migration 0009 needs the PostgreSQL extension pg_trgm in the database "{database}", '
                f'and the user "{user}" could not create it ({detail}). Have a superuser run '
                f'"CREATE EXTENSION pg_trgm;" in the database "{database}" (or grant "{user}" the CREATE privilege '
                f"on it: pg_trgm is a trusted extension from PostgreSQL 13 on), then run migrate again. Nothing of "
                f"this migration was done; the migrations before it are applied. See {HELP}."
            ) from error
    cursor.execute("SELECT 1 FROM pg_collation WHERE collname = 'tr-x-icu'")
    if cursor.fetchone() is None:
        raise CommandError(
            f'orders migration 0009 needs the ICU collation "tr-x-icu", which this PostgreSQL server lacks (a build '
            f"without ICU). Use a server built with ICU, then run migrate again. Nothing of this migration was done; "
            f"the migrations before it are applied. See {HELP}."
        )


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        ensure_prerequisites(cursor)
        for name, definition in INDEXES.items():
            # Run again after an interruption: an index built then is kept, one a failed build left invalid is
            # dropped and built again.
            if prepare_concurrent_index(schema_editor, name):
                cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON {definition}')
        # Statistics for the new expressions (UPPER(order_number) of migration 0008, UPPER(email)), now rather than
        # at autovacuum's next analyze of the table, which may be days away: until then the planner guessed 0.5 %
        # of the orders for one order number and read a store's every package to find it. ANALYZE blocks no
        # reads or writes.
        cursor.execute("ANALYZE orders_order")
        cursor.execute("ANALYZE orders_customer")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("orders", "0008_package_order_list_indexes"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
