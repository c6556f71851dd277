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


# Column types whose Python values the database driver adapts as they are: no per-value
# preparation by the field (that costs more than the whole statement at a thousand rows).
_PLAIN = {
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "DateField",
    "DateTimeField", "DecimalField", "ForeignKey", "IntegerField", "OneToOneField",
    "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
    "SlugField", "SmallIntegerField", "TextField", "UUIDField",
}  # fmt: skip


def _column(f: models.Field, objs: Sequence[models.Model]) -> list:
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return [f.pre_save(o, add=True) for o in objs]
    if f.get_internal_type() in _PLAIN and not f.choices:
        name = f.attname
        return [getattr(o, name) for o in objs]
    return [f.get_db_prep_save(f.pre_save(o, add=True), connection) for o in objs]


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: list[str]) -> int:
    """Write ``fields`` of ``objs`` (by primary key) in one statement; returns rows written."""
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    arrays = [[o.pk for o in objs], *(_column(f, objs) for f in columns)]
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


def rows_insert(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """Insert ``objs`` and set their primary keys, as ``bulk_create`` does.

    On PostgreSQL one ``INSERT … SELECT … FROM unnest(…) RETURNING id`` per call: the
    rows travel as one array per column, so neither the statement's text nor Django's
    per-value compilation grows with the rows. Elsewhere it is ``bulk_create``.
    """
    if not objs:
        return list(objs)
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    pk = meta.pk
    columns = [f for f in meta.concrete_fields if f is not pk]
    arrays = [_column(f, objs) for f in columns]
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in columns)
    unnest = ", ".join(f"%s::{_array_type(f)}[]" for f in columns)
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({names}) "  # noqa: S608 (quoted model columns)
        f"SELECT * FROM unnest({unnest}) RETURNING {qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        for obj, (new_pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = new_pk
            obj._state.adding = False
            obj._state.db = connection.alias
    return list(objs)
