"""Migration operations for tables that hold a year of data (docs/performance.md, "A year of data")."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, a plain ``AddIndex`` elsewhere (SQLite in development and tests).

    A plain ``CREATE INDEX`` blocks every insert and update of the table until the index is built (seconds
    for a year of packages, while the counters verify); ``CONCURRENTLY`` lets them go on. Its migration must
    say ``atomic = False``. A build that failed half way leaves an invalid index of that name behind: drop
    it (``DROP INDEX CONCURRENTLY name``) before running the migration again (docs/operations.md).
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
