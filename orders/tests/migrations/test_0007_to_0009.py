"""The orders migrations 0007-0009 as a release runs them: while the previous version serves the counters, possibly
interrupted and run again, backwards and forwards again, on PostgreSQL and SQLite (docs/operations.md, "Releasing a
new version")."""

import importlib
import io
import os

import pytest
from django.apps import apps as current_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext

from core import migration_operations
from core.text import search_fold
from orders.models import Customer
from orders.tests.factories import CustomerFactory, PackageFactory

migration_0007 = importlib.import_module("orders.migrations.0007_store_code_latin_name_folded_apostrophes")
migration_0009 = importlib.import_module("orders.migrations.0009_search_trigram_indexes")
BEFORE = ("orders", "0006_store_code_unique_by_its_constraint")
NAMES = ["Sean O’Neil", "D'Angelo Yılmaz", "O´Neil", "Oʼneil Kaya", "IŞIL ÇİÇEK", "Ayşe Demir"]
INDEXES_0008 = {
    "orders_package": {"package_store_created_idx", "package_created_idx"},
    "orders_order": {"order_created_idx", "order_number_upper_idx"},
}
STORE_INDEX = "orders_package_store_id_06cf6db0"  # the index ForeignKey(db_index=True) gave the package's store
postgres = connection.vendor == "postgresql"
requires_postgres = pytest.mark.skipif(
    not postgres, reason="needs PostgreSQL: concurrent index builds, invalid indexes and extensions are PostgreSQL's"
)


def migrate_orders(target=None):
    call_command("migrate", "orders", *([target] if target else []), verbosity=0, interactive=False)


def latest():
    migrate_orders()


def indexes(table):
    """{name: valid} of the table's indexes."""
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                "SELECT class.relname, index.indisvalid FROM pg_index index "
                "JOIN pg_class class ON class.oid = index.indexrelid WHERE index.indrelid = to_regclass(%s)",
                [table],
            )
            return dict(cursor.fetchall())
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: True for name, info in constraints.items() if info["index"]}


def index_definition(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(to_regclass(%s))", [name])
        return cursor.fetchone()[0]


def store_foreign_key():
    """The package's store constraint on PostgreSQL: its name and oid (a constraint added again has a new one).
    SQLite copies the whole table into a new one for any change of a column, constraints and all."""
    if not postgres:
        return None
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "orders_package")
        [name] = [n for n, info in constraints.items() if info["foreign_key"] and info["columns"] == ["store_id"]]
        cursor.execute("SELECT oid FROM pg_constraint WHERE conname = %s", [name])
        return name, cursor.fetchone()[0]


def folded_names():
    return dict(Customer.objects.values_list("name", "name_folded"))


@pytest.mark.django_db(transaction=True)
def test_0006_to_0009_and_back_twice_refolds_the_names_and_builds_and_drops_the_indexes():
    migrate_orders(BEFORE[1])
    try:
        # Customers as the released version stored them: names folded with the apostrophes kept.
        Customer0006 = MigrationExecutor(connection).loader.project_state(BEFORE).apps.get_model("orders", "Customer")
        for number, name in enumerate(NAMES):
            Customer0006.objects.create(
                name=name, name_folded=migration_0007.fold_before_0007(name), phone=f"+9053200000{number:02d}"
            )
        before = folded_names()
        assert before["Sean O’Neil"] == "sean o’neil"
        assert before["O´Neil"] == "o neil"
        foreign_key = store_foreign_key()

        for _ in range(2):
            latest()
            assert folded_names() == {name: search_fold(name) for name in NAMES}
            assert folded_names()["D'Angelo Yılmaz"] == "dangelo yilmaz"
            assert set(Customer.objects.filter(name_folded__contains="oneil").values_list("name", flat=True)) == {
                "Sean O’Neil",
                "O´Neil",
                "Oʼneil Kaya",
            }
            for table, names in INDEXES_0008.items():
                found = indexes(table)
                assert {name: found.get(name) for name in names} == dict.fromkeys(names, True)
            assert not any(name.startswith("orders_package_store_id") for name in indexes("orders_package"))
            if postgres:
                for name in migration_0009.INDEXES:
                    table = "orders_order" if name.startswith("order_") else "orders_customer"
                    assert indexes(table).get(name) is True, name
            # The constraint was left alone: not dropped and added again (a scan of every package).
            assert store_foreign_key() == foreign_key

            migrate_orders(BEFORE[1])
            assert folded_names() == before  # what the previous version's search expects
            for table, names in INDEXES_0008.items():
                assert not names & set(indexes(table))
            assert indexes("orders_package").get(STORE_INDEX) is True
            if postgres:
                assert not set(migration_0009.INDEXES) & (
                    set(indexes("orders_order")) | set(indexes("orders_customer"))
                )
            assert store_foreign_key() == foreign_key
    finally:
        latest()


# --- 0007's refold: a batch per transaction, only the rows that change -----------------------------------------


@pytest.fixture
def stale_customers():
    """Ten customers, seven of them with a name folded the old way (as stored before 0007)."""
    customers = [CustomerFactory(name=f"Ayşe Demir {index}") for index in range(10)]
    for index, customer in enumerate(customers[:7]):
        name = f"Ayşe O’Neil {index}"
        Customer.objects.filter(pk=customer.pk).update(name=name, name_folded=migration_0007.fold_before_0007(name))
    return customers


def writes(queries):
    return [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]


def row_versions():
    """{customer id: the transaction that wrote its row last} on PostgreSQL: a row written again has a new one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM orders_customer")
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_refold_reads_in_batches_and_writes_only_the_names_that_change(stale_customers, monkeypatch):
    monkeypatch.setattr(migration_operations, "BATCH_SIZE", 3)
    right = {customer.pk for customer in stale_customers[7:]}
    versions = row_versions() if postgres else None
    with CaptureQueriesContext(connection) as queries:
        result = migration_operations.refill_in_batches(
            Customer, using="default", source="name", target="name_folded", compute=search_fold
        )
    assert result == migration_operations.RefillResult(examined=10, changed=7, batches=4)
    reads = [query["sql"] for query in queries if query["sql"].startswith("SELECT")]
    assert len(reads) == 5 and all("LIMIT 3" in sql for sql in reads)  # four batches and the empty end
    if postgres:
        ordered = sorted(customer.pk for customer in stale_customers)
        batches_with_stale = sum(1 for start in range(0, 10, 3) if set(ordered[start : start + 3]) - right)
        assert len(writes(queries)) == batches_with_stale  # one statement a batch that has a name to write
        after = row_versions()
        assert {pk for pk in after if after[pk] == versions[pk]} == right  # the three already right: not written
    else:
        assert len(writes(queries)) == 7  # one a row, the three already right not written
    assert folded_names() == {customer.name: search_fold(customer.name) for customer in Customer.objects.all()}

    with CaptureQueriesContext(connection) as queries:  # run again (after an interruption, say): nothing to write
        migration_0007.fill_name_folded(current_apps, connection.schema_editor(atomic=False))
    assert writes(queries) == []


@pytest.mark.django_db(transaction=True)
def test_refold_commits_each_batch_so_a_failed_run_keeps_its_work_and_a_second_run_finishes(
    stale_customers, monkeypatch
):
    monkeypatch.setattr(migration_operations, "BATCH_SIZE", 3)
    ordered = list(Customer.objects.order_by("pk").values_list("name", flat=True))

    def fold_failing_in_the_third_batch(name):
        if name == ordered[6]:
            raise RuntimeError("interrupted")
        return search_fold(name)

    with pytest.raises(RuntimeError):
        migration_operations.refill_in_batches(
            Customer, using="default", source="name", target="name_folded", compute=fold_failing_in_the_third_batch
        )
    stored = folded_names()
    assert all(stored[name] == search_fold(name) for name in ordered[:6])  # two batches committed
    assert any(stored[name] != search_fold(name) for name in ordered[6:])

    migration_0007.fill_name_folded(current_apps, connection.schema_editor(atomic=False))
    assert folded_names() == {name: search_fold(name) for name in ordered}


@pytest.mark.django_db(transaction=True)
def test_refold_leaves_a_name_renamed_meanwhile_to_its_writer(stale_customers, monkeypatch):
    # The previous version keeps saving customers during the release: a name changed between the batch's read
    # and its write keeps the folded form its writer stored, not the fold of the name read before.
    monkeypatch.setattr(migration_operations, "BATCH_SIZE", 3)
    renamed = Customer.objects.get(pk=stale_customers[0].pk)  # named the old way, folded the old way

    def fold_while_intake_renames(name):
        if name == renamed.name:
            Customer.objects.filter(pk=renamed.pk).update(name="Zeynep Kaya", name_folded="as its writer folded it")
        return search_fold(name)

    migration_operations.refill_in_batches(
        Customer, using="default", source="name", target="name_folded", compute=fold_while_intake_renames
    )
    assert Customer.objects.values_list("name", "name_folded").get(pk=renamed.pk) == (
        "Zeynep Kaya",
        "as its writer folded it",
    )


@pytest.mark.django_db(transaction=True)
def test_refold_command_folds_what_the_previous_version_wrote_during_the_rollout(stale_customers):
    out = io.StringIO()
    call_command("refold_customer_names", batch_size=4, stdout=out)
    assert "10 customer(s) read in 3 batch(es), 7 folded name(s) written." in out.getvalue()
    assert folded_names() == {customer.name: search_fold(customer.name) for customer in Customer.objects.all()}
    with pytest.raises(CommandError, match="at least 1"):
        call_command("refold_customer_names", batch_size=0)


# --- PostgreSQL: an interrupted run, and a user who may not create pg_trgm ---------------------------------------


def leave_invalid_index(name, table, column):
    """What a CREATE INDEX CONCURRENTLY that failed half way leaves: an index of that name marked invalid (a unique
    build over duplicate values fails after the index was created)."""
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute(f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON {table} ({column})')
    assert indexes(table)[name] is False


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_interrupted_half_way_keeps_the_built_indexes_and_builds_the_invalid_ones_again():
    PackageFactory.create_batch(2)  # two orders, customers and packages: duplicates for the failing builds
    migrate_orders("0007")
    try:
        # Interrupted in 0008 after its first index and during its third, then in 0009 during its second.
        with connection.cursor() as cursor:
            cursor.execute(
                'CREATE INDEX CONCURRENTLY "package_store_created_idx" ON orders_package '
                "(store_id, created_at DESC, id DESC)"
            )
        leave_invalid_index("order_created_idx", "orders_order", "delivery_type")
        migrate_orders("0008")
        leave_invalid_index("customer_name_folded_trgm_idx", "orders_customer", "language")

        latest()
        for table, names in INDEXES_0008.items():
            assert {name: indexes(table).get(name) for name in names} == dict.fromkeys(names, True)
        assert "created_at DESC, id DESC" in index_definition("order_created_idx")
        assert "UNIQUE" not in index_definition("order_created_idx")
        assert indexes("orders_customer")["customer_name_folded_trgm_idx"] is True
        assert "gin (name_folded gin_trgm_ops)" in index_definition("customer_name_folded_trgm_idx")

        # Backwards too: 0008's store index, left invalid by an interrupted unapply, is built again.
        migrate_orders("0008")
        leave_invalid_index(STORE_INDEX, "orders_package", "status")
        migrate_orders("0007")
        assert indexes("orders_package")[STORE_INDEX] is True
        assert index_definition(STORE_INDEX).endswith("btree (store_id)")
    finally:
        latest()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_user_who_may_not_create_pg_trgm_is_told_what_to_do_and_nothing_is_built():
    role = f"cc_migrate_no_extension_{os.getpid()}"
    migrate_orders("0008")
    try:
        with connection.cursor() as cursor:
            cursor.execute("DROP EXTENSION IF EXISTS pg_trgm")
            cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
            # Enough to run migrate (its bookkeeping), not to create an extension: not the database's owner.
            cursor.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
            cursor.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
            cursor.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
            cursor.execute(f'SET ROLE "{role}"')
        try:
            with pytest.raises(CommandError) as refused:
                migrate_orders()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
                cursor.execute(f'DROP OWNED BY "{role}"')
                cursor.execute(f'DROP ROLE "{role}"')
        message = str(refused.value)
        database = connection.settings_dict["NAME"]
        assert "orders migration 0009 needs the PostgreSQL extension pg_trgm" in message
        assert f'the user "{role}" could not create it (permission denied' in message
        assert f'run "CREATE EXTENSION pg_trgm;" in the database "{database}"' in message
        assert "then run migrate again" in message
        assert "docs/operations.md" in message
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            assert cursor.fetchone()[0] == 0
        assert not set(migration_0009.INDEXES) & (set(indexes("orders_order")) | set(indexes("orders_customer")))
        applied = MigrationRecorder(connection).applied_migrations()
        assert ("orders", "0008_package_order_list_indexes") in applied
        assert ("orders", "0009_search_trigram_indexes") not in applied
    finally:
        latest()  # as a superuser: the extension and every index
    for name in migration_0009.INDEXES:
        table = "orders_order" if name.startswith("order_") else "orders_customer"
        assert indexes(table).get(name) is True
