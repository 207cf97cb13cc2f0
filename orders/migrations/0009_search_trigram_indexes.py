# The searches at a year's volume (docs/performance.md, "A year of data"), PostgreSQL only: trigram indexes
# (pg_trgm, a trusted extension: the database's owner may create it) answer "contains" (LIKE '%term%') on the
# order number, the customer's folded name, phone and e-mail, which B-tree indexes cannot; and admin's customer
# list sorts by name in Turkish order from an index. Not in the models' Meta: SQLite has no such indexes, and it
# rebuilds a table with every index of its model state when a later migration alters one. Built CONCURRENTLY,
# then the two tables analysed for the new expressions.

from django.db import migrations

INDEXES = {
    "order_number_trgm_idx": "orders_order USING gin (UPPER(order_number) gin_trgm_ops)",
    "customer_name_folded_trgm_idx": "orders_customer USING gin (name_folded gin_trgm_ops)",
    "customer_phone_trgm_idx": "orders_customer USING gin (phone gin_trgm_ops)",
    "customer_email_trgm_idx": "orders_customer USING gin (UPPER(email) gin_trgm_ops)",
    # core.text.TURKISH_COLLATION; the admin's ordering (orders.admin.CustomerAdmin.ordering).
    "customer_name_turkish_idx": 'orders_customer ((name COLLATE "tr-x-icu"), id)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, definition in INDEXES.items():
            # A build that failed half way left an invalid index of that name: build it again.
            cursor.execute(
                "SELECT index.indisvalid FROM pg_index index JOIN pg_class class ON class.oid = index.indexrelid "
                "WHERE class.relname = %s",
                [name],
            )
            found = cursor.fetchone()
            if found and found[0]:
                continue
            if found:
                cursor.execute(f'DROP INDEX CONCURRENTLY "{name}"')
            cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON {definition}')
        # Statistics for the new expressions (UPPER(order_number) of migration 0008, UPPER(email)), now rather than
        # at autovacuum's next analyze of the table, which may be days away: until then the planner guessed 0.5 %
        # of the orders for one order number and read a store's every package to find it.
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
