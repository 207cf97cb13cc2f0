"""Migration operations for tables that hold a year of data (docs/performance.md, "A year of data").

``migrate`` runs as the release step while the previous version's web and worker processes keep serving the
counters (docs/operations.md, "Releasing a new version"), so a migration of these tables must not hold a lock that
stops them: no ``ACCESS EXCLUSIVE`` lock for longer than an instant, no write lock on a table for the length of an
index build or a scan, and no transaction that locks many rows. Indexes are built and dropped ``CONCURRENTLY`` on
PostgreSQL (their migration says ``atomic = False``), rows are updated a batch per transaction
(``refill_in_batches``), and every step may be run again after an interruption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.postgres.operations import AddIndexConcurrently, NotInTransactionMixin
from django.db import connections, models, transaction
from django.db.migrations.operations import AddIndex, AlterField

if TYPE_CHECKING:
    from collections.abc import Callable

# Rows per transaction of refill_in_batches: each batch locks only the rows it changes, for a few milliseconds.
BATCH_SIZE = 2000


def index_state(schema_editor, name: str) -> str | None:
    """``"valid"``, ``"invalid"`` or ``None`` (no such index) for the PostgreSQL index ``name``.

    ``CREATE INDEX CONCURRENTLY`` that fails or is interrupted half way leaves an index of that name behind,
    marked invalid: queries do not use it, every write still maintains it, and creating it again fails with
    "relation already exists".
    """
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [schema_editor.quote_name(name)]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return "valid" if row[0] else "invalid"


def prepare_concurrent_index(schema_editor, name: str) -> bool:
    """Before ``CREATE INDEX CONCURRENTLY name``: ``False`` when a valid index of that name is already there
    (a run interrupted after building it: a non-atomic migration is recorded only at its end), so there is
    nothing to build; an invalid one is dropped first (``DROP INDEX CONCURRENTLY``) and ``True`` returned."""
    state = index_state(schema_editor, name)
    if state == "valid":
        return False
    if state == "invalid":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")
    return True


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, a plain ``AddIndex`` elsewhere (SQLite in development and tests).

    A plain ``CREATE INDEX`` blocks every insert and update of the table until the index is built (seconds
    for a year of packages, while the counters verify); ``CONCURRENTLY`` lets them go on. Its migration must
    say ``atomic = False``. Run again after an interruption, it keeps an index already built and builds again
    one a failed build left invalid (``prepare_concurrent_index``).
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self._ensure_not_in_transaction(schema_editor)
            if prepare_concurrent_index(schema_editor, self.index.name):
                super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)  # DROP ... IF EXISTS
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class DropFieldIndexConcurrentlyOnPostgres(NotInTransactionMixin, AlterField):
    """``AlterField`` from ``db_index=True`` to ``db_index=False`` (nothing else may change), whose index is
    dropped with ``DROP INDEX CONCURRENTLY`` on PostgreSQL; a plain ``AlterField`` elsewhere.

    Django's ``AlterField`` of a foreign key drops its constraint, drops the index with a plain ``DROP INDEX``
    (an ``ACCESS EXCLUSIVE`` lock: every read of the table waits for it, and it waits for every running
    transaction) and adds the constraint again, which checks every row while holding off every write of the table
    (seconds at a year of packages). The constraint needs no change, and the concurrent drop lets reads and writes
    go on. Backwards builds the index again ``CONCURRENTLY``, under the name Django gives it.
    """

    atomic = False

    def _field_index_names(self, schema_editor, model, column: str) -> list[str]:
        """The single-column, non-unique indexes on ``column`` that are not one of the model's named indexes."""
        named = {index.name for index in model._meta.indexes}
        with schema_editor.connection.cursor() as cursor:
            constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
        return sorted(
            name
            for name, info in constraints.items()
            if info["index"]
            and info["columns"] == [column]
            and not info["unique"]
            and not info["primary_key"]
            and name not in named
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        column = model._meta.get_field(self.name).column
        for name in self._field_index_names(schema_editor, model, column):
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")
        return None

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        field = model._meta.get_field(self.name)
        name = schema_editor._create_index_name(model._meta.db_table, [field.column])  # the name db_index gives
        if prepare_concurrent_index(schema_editor, name):
            schema_editor.add_index(model, models.Index(fields=[field.name], name=name), concurrently=True)
        return None

    def describe(self):
        return f"Alter field {self.name} on {self.model_name}: drop its index concurrently"


@dataclass(frozen=True)
class RefillResult:
    examined: int
    changed: int
    batches: int


def refill_in_batches(
    model,
    *,
    using: str,
    source: str,
    target: str,
    compute: Callable[[str], str],
    batch_size: int | None = None,
) -> RefillResult:
    """Set ``target = compute(source)`` on every row of ``model`` where the stored value differs (two text columns).

    For a column computed in Python (``Customer.name_folded``) on a table the counters use while it runs: the
    rows are read in primary-key order, ``batch_size`` (``BATCH_SIZE``) at a time without a transaction or a
    lock, and only the rows whose value changes are written, each batch in a transaction of its own, so memory
    stays flat, a row is locked for milliseconds, and a run stopped half way keeps what it did and is finished by
    running it again. A row whose ``source`` changed between the read and the write is left to the writer that
    changed it (it stored its own ``target``). Call it outside a transaction (``atomic = False`` on a migration).
    """
    batch_size = batch_size or BATCH_SIZE
    manager = model._base_manager.db_manager(using)
    rows = manager.order_by("pk").values_list("pk", source, target)
    last_pk = None
    examined = changed = batches = 0
    while True:
        batch = list((rows if last_pk is None else rows.filter(pk__gt=last_pk))[:batch_size])
        if not batch:
            return RefillResult(examined=examined, changed=changed, batches=batches)
        batches += 1
        examined += len(batch)
        last_pk = batch[-1][0]
        updates = [(pk, value, new) for pk, value, stored in batch if (new := compute(value)) != stored]
        if updates:
            with transaction.atomic(using=using):
                changed += _write(model, using, source, target, updates)


def _write(model, using: str, source: str, target: str, updates: list[tuple]) -> int:
    """``target = new`` where the primary key is ``pk`` and ``source`` is still ``value``, for each (pk, value, new):
    on PostgreSQL one statement a batch (300,000 changed names in 15 s, a customer's update waiting at most 19 ms, where a
    statement a row took 208 s and held a batch's first rows up to 0.8 s; docs/performance.md), elsewhere one a row."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        manager = model._base_manager.db_manager(using)
        return sum(manager.filter(pk=pk, **{source: value}).update(**{target: new}) for pk, value, new in updates)
    quote = connection.ops.quote_name
    meta = model._meta
    table, pk_column = quote(meta.db_table), quote(meta.pk.column)
    source_column, target_column = quote(meta.get_field(source).column), quote(meta.get_field(target).column)
    pks, values, news = (list(column) for column in zip(*updates, strict=True))
    # Only names from the model's options, quoted, go into the text; the rows' values are parameters.
    sql = (
        f"UPDATE {table} SET {target_column} = batch.new "  # noqa: S608
        f"FROM unnest(%s::{meta.pk.db_type(connection)}[], %s::text[], %s::text[]) AS batch(pk, value, new) "
        f"WHERE {table}.{pk_column} = batch.pk AND {table}.{source_column} = batch.value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pks, values, news])
        return cursor.rowcount
