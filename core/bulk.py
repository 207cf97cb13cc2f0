"""Bulk inserts for the batch paths (the no-show sweep, reminders) without building model instances.

A no-show batch writes five or more rows per package (audit record, strike, three messages, webhook
deliveries); building a model instance per row and sending every value as a parameter cost more than
everything else in the batch. ``insert_rows`` takes plain rows and, on PostgreSQL, streams them with
``COPY ... FROM STDIN``; elsewhere it falls back to ``bulk_create``. Values are those a model would
save: missing fields get their defaults, JSON fields are adapted by the field itself.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by field attname, e.g. ``package_id``) into ``model``'s table.

    An auto-increment primary key left out is assigned by the database. No signals are sent and
    ``save()`` is not called, as with ``bulk_create``.
    """
    if not rows:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField) and field.attname not in rows[0])
    ]
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(model(**row) for row in rows)
        return
    constant_defaults = {
        field.attname: field.get_default()
        for field in fields
        if field.attname not in rows[0] and not callable(field.default)
    }
    by_attname = {field.attname: field for field in fields}
    json_fields = {field.attname: field for field in fields if isinstance(field, models.JSONField)}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    attnames = [field.attname for field in fields]
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = []
            for attname in attnames:
                if attname in row:
                    value = row[attname]
                elif attname in constant_defaults:
                    value = constant_defaults[attname]
                else:
                    value = by_attname[attname].get_default()  # a callable default, per row
                if attname in json_fields:
                    value = json_fields[attname].get_db_prep_save(value, connection)
                values.append(value)
            copy.write_row(values)
