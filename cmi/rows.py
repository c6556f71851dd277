"""Set-based row writes whose cost grows with the rows, not with their square.

Django's ``bulk_update`` writes one ``CASE WHEN pk = … THEN …`` per row and column:
at a thousand rows the statement is hundreds of kilobytes and the database's work
grows with the square of the rows. On PostgreSQL, ``rows_update`` sends one
``UPDATE … FROM unnest(%s::type[], …)`` whatever the count; elsewhere (SQLite, the
embedded default) it keeps ``bulk_update``, which is fine at that scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def _array_type(field: models.Field) -> str:
    kind = field.db_type(connection)
    if kind is None:  # a foreign key's column type is its target's
        kind = field.target_field.db_type(connection)
    # "serial"-like and sized types become their plain array element types
    return {"serial": "integer", "bigserial": "bigint"}.get(kind, kind)


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: list[str]) -> int:
    """Write ``fields`` of ``objs`` (by primary key) in one statement; returns rows written."""
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    arrays = [[pk.get_db_prep_value(o.pk, connection) for o in objs]]
    for f in columns:
        arrays.append([f.get_db_prep_save(getattr(o, f.attname), connection) for o in objs])
    names = [pk.column, *(f.column for f in columns)]
    types = [_array_type(pk), *(_array_type(f) for f in columns)]
    qn = connection.ops.quote_name
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    sets = ", ".join(f"{qn(n)} = v.{qn(n)}" for n in names[1:])
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {sets} "  # noqa: S608 (names are quoted model columns)
        f"FROM unnest({unnest}) AS v({', '.join(qn(n) for n in names)}) "
        f"WHERE t.{qn(pk.column)} = v.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount
