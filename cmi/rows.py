"""Set-based row writes: one statement per call, whose cost grows with the rows.

Django's ``bulk_update`` writes one ``CASE WHEN pk = … THEN …`` per row and column: at
a thousand rows the statement is hundreds of kilobytes and the database's work grows
with the square of the rows. ``bulk_create`` compiles every value through its field
and, at a thousand rows of fifteen columns, splits a statement of 15,000 parameters.

Here the rows travel as one JSON document, a list of rows, each a list of values:
``INSERT … SELECT … FROM jsonb_array_elements(%s)`` (PostgreSQL) or ``json_each(%s)``
(SQLite), and ``UPDATE … FROM`` the same. The statement's text does not depend on the
number of rows, Python turns the values into JSON in one ``json.dumps`` (C code), and
each column is cast once by the database. Values are turned into what the field
would store (UTC text for SQLite datetimes, the hex of a UUID, …) without the per-value
field machinery. A model with a column type this does not know (JSON, binary, …) keeps
``bulk_create``/``bulk_update``, as does SQLite before 3.38 (no ``->>``).

``rows_insert_values``/``rows_update_values`` take plain tuples, for callers that
would otherwise build model instances only to have their values read back.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, models
from django.utils import timezone

# Column types whose Python values go into JSON as they are.
_PLAIN = {
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
    "IntegerField", "PositiveBigIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "SlugField", "SmallIntegerField", "TextField",
    "FloatField",
}  # fmt: skip
_CONVERTED = {"DateTimeField", "DateField", "DecimalField", "UUIDField"}
_SQLITE_JSON_ARROWS = sqlite3.sqlite_version_info >= (3, 38)


def _internal_type(f: models.Field) -> str:
    kind = f.get_internal_type()
    if kind in ("ForeignKey", "OneToOneField"):
        return _internal_type(f.target_field)
    return kind


def _supported(fields: Sequence[models.Field]) -> bool:
    if connection.vendor == "sqlite":
        if not _SQLITE_JSON_ARROWS:
            return False
    elif connection.vendor != "postgresql":
        return False
    return all(_internal_type(f) in _PLAIN | _CONVERTED for f in fields)


def _pg_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if timezone.is_naive(value):  # as DateTimeField.get_prep_value does (it warns)
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.isoformat()


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _uuid_text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value if isinstance(value, UUID) else UUID(str(value)))


def _uuid_hex(value: UUID | str | None) -> str | None:
    return None if value is None else (value if isinstance(value, UUID) else UUID(str(value))).hex


def _converter(f: models.Field) -> Callable[[Any], Any] | None:
    """What turns the field's Python value into the JSON value the statement casts."""
    kind = _internal_type(f)
    sqlite = connection.vendor == "sqlite"
    if kind == "DateTimeField":
        return _sqlite_datetime if sqlite else _pg_datetime
    if kind == "DateField":
        return _iso
    if kind == "DecimalField":
        return _text
    if kind == "UUIDField":
        return _uuid_hex if sqlite and not connection.features.has_native_uuid_field else _uuid_text
    return None


def _cast(f: models.Field) -> str:
    """The PostgreSQL type a JSON value is cast to; the column's own length and
    precision are applied by the assignment (an explicit varchar(n) cast would
    truncate silently where an insert fails)."""
    kind = f.db_type(connection)
    if kind is None:  # a foreign key's column type is its target's
        kind = f.target_field.db_type(connection)
    kind = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(kind, kind)
    if kind.startswith(("varchar", "char")):
        return "text"
    return kind


def _document(fields: Sequence[models.Field], rows: Sequence[Sequence]) -> str:
    converted = [(i, c) for i, c in enumerate(map(_converter, fields)) if c is not None]
    if converted:
        rows = [list(row) for row in rows]
        for i, convert in converted:
            for row in rows:
                row[i] = convert(row[i])
    return json.dumps(rows, separators=(",", ":"))


def _selects(fields: Sequence[models.Field]) -> list[str]:
    """The select list reading value i of each JSON row as field i's column."""
    if connection.vendor == "sqlite":
        return [f"r.value ->> {i}" for i in range(len(fields))]
    return [f"(r ->> {i})::{_cast(f)}" for i, f in enumerate(fields)]


# Statement texts by (vendor, model, kind, columns): they depend on nothing else, and
# building one (each column's db_type) cost about as much as a one-row write itself.
_STATEMENTS: dict[tuple, str] = {}


def _statement(key: tuple, build: Callable[[], str]) -> str:
    full = (connection.vendor, *key)
    sql = _STATEMENTS.get(full)
    if sql is None:
        sql = _STATEMENTS[full] = build()
    return sql


def _rows_source() -> str:
    if connection.vendor == "sqlite":
        return "json_each(%s) AS r"
    return "jsonb_array_elements(%s::jsonb) AS r"


def rows_converted(rows: Sequence[Sequence], fields: Sequence[models.Field]) -> list[tuple]:
    """Rows a written-out SELECT fetched, column i read as ``fields[i]``, with the
    converters the ORM applies to that column (none for most columns on PostgreSQL;
    text datetimes and decimals on SQLite). Rows come back as tuples."""
    steps = []
    for i, f in enumerate(fields):
        col = f.get_col(f.model._meta.db_table)
        found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        if found:
            steps.append((i, col, found))
    if not steps:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        row = list(row)
        for i, col, found in steps:
            for convert in found:
                row[i] = convert(row[i], col, connection)
        out.append(tuple(row))
    return out


def rows_insert_values(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> list:
    """Insert ``rows`` (tuples of Python values, one per name in ``fields``, as the
    model's attributes hold them: ``bin_id`` for a foreign key) in one statement.

    Returns the new primary keys in the order of ``rows``. Defaults and ``auto_now``
    are the caller's: only the columns named are written.
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if not _supported(columns):
        objs = [model(**dict(zip((f.attname for f in columns), row, strict=True))) for row in rows]
        return [o.pk for o in model.objects.bulk_create(objs)]
    qn = connection.ops.quote_name
    pk = meta.pk.column
    sql = _statement(
        (model, "insert", tuple(fields)),
        lambda: (
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in columns)}) "  # noqa: S608 (quoted model columns)
            f"SELECT {', '.join(_selects(columns))} FROM {_rows_source()} RETURNING {qn(pk)}"
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_document(columns, rows)])
        # Keys are drawn in the order the rows are read, which is the document's:
        # sorted, they line up with the rows whatever order RETURNING gave them in.
        return sorted(new_pk for (new_pk,) in cursor.fetchall())


def rows_update_values(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> int:
    """Write ``fields`` of the rows given as ``(pk, value, …)`` tuples in one statement;
    returns the number of rows written."""
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    if not _supported(columns):
        objs = [model(**dict(zip((f.attname for f in columns), row, strict=True))) for row in rows]
        return model.objects.bulk_update(objs, list(fields))
    sql = _statement((model, "update", tuple(fields)), lambda: _update_sql(meta, columns))
    with connection.cursor() as cursor:
        cursor.execute(sql, [_document(columns, rows)])
        return cursor.rowcount


def _update_sql(meta, columns: Sequence[models.Field]) -> str:
    qn = connection.ops.quote_name
    names = [qn(f.column) for f in columns]
    reads = ", ".join(f"{s} AS {n}" for s, n in zip(_selects(columns), names, strict=True))
    sets = ", ".join(f"{n} = v.{n}" for n in names[1:])
    return (
        f"UPDATE {qn(meta.db_table)} AS t SET {sets} "  # noqa: S608 (quoted model columns)
        f"FROM (SELECT {reads} FROM {_rows_source()}) AS v WHERE t.{names[0]} = v.{names[0]}"
    )


def _values(f: models.Field, objs: Sequence[models.Model]) -> list:
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return [f.pre_save(o, add=True) for o in objs]
    name = f.attname
    return [getattr(o, name) for o in objs]


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: list[str]) -> int:
    """Write ``fields`` of ``objs`` (by primary key) in one statement; returns rows written."""
    if not objs:
        return 0
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if not _supported([meta.pk, *columns]):
        return model.objects.bulk_update(objs, fields)
    rows = list(zip([o.pk for o in objs], *(_values(f, objs) for f in columns), strict=True))
    return rows_update_values(model, fields, rows)


def rows_insert(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """Insert ``objs`` and set their primary keys, as ``bulk_create`` does, in one
    statement (rows_insert_values)."""
    if not objs:
        return list(objs)
    meta = model._meta
    columns = [f for f in meta.concrete_fields if f is not meta.pk]
    if not _supported(columns):
        return model.objects.bulk_create(objs)
    rows = list(zip(*(_values(f, objs) for f in columns), strict=True))
    new_pks = rows_insert_values(model, [f.name for f in columns], rows)
    for obj, new_pk in zip(objs, new_pks, strict=True):
        obj.pk = new_pk
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


def rows_insert_new(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence],
    *,
    returning: Sequence[str],
) -> list[tuple]:
    """Insert the rows no unique constraint already holds, in one statement
    (``ON CONFLICT DO NOTHING``); returns the ``returning`` fields of the rows inserted,
    in no particular order.

    A row whose key another transaction has inserted and not yet committed waits for
    it, and is skipped when it commits: the database decides a race, no retry needed.
    A later row of ``rows`` with the key of an earlier one is skipped too.
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    wanted = [meta.get_field(name) for name in returning]
    if not _supported(columns):
        return _insert_new_one_by_one(model, columns, rows, wanted)
    qn = connection.ops.quote_name
    # SQLite needs the WHERE to tell the upsert clause from a join's ON.
    sql = _statement(
        (model, "insert_new", tuple(fields), tuple(returning)),
        lambda: (
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in columns)}) "  # noqa: S608 (quoted model columns)
            f"SELECT {', '.join(_selects(columns))} FROM {_rows_source()} WHERE true "
            f"ON CONFLICT DO NOTHING RETURNING {', '.join(qn(f.column) for f in wanted)}"
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_document(columns, rows)])
        return [
            tuple(f.to_python(v) for f, v in zip(wanted, row, strict=True))
            for row in cursor.fetchall()
        ]


def _insert_new_one_by_one(model, columns, rows, wanted) -> list[tuple]:
    """Where one statement cannot (an old SQLite, a column type rows.py does not know)."""
    from django.db import IntegrityError, transaction

    out = []
    for row in rows:
        obj = model(**dict(zip((f.attname for f in columns), row, strict=True)))
        try:
            with transaction.atomic():
                obj.save(force_insert=True)
        except IntegrityError:
            continue
        out.append(tuple(getattr(obj, f.attname) for f in wanted))
    return out


def array_literal(values: Iterable[int | Decimal]) -> str:
    """The PostgreSQL array literal of numbers (``{1,2,3}``), to pass as one text
    parameter cast in the statement (``%s::bigint[]``).

    psycopg's client-side binding (Django's default) renders a list parameter element
    by element in Python: ~20 ms for 10,000 ids, and the sweep sends several such
    arrays per chunk. One join is a tenth of that. Numbers only: their text needs no
    quoting inside the literal, and ``None`` (which would need ``NULL``) is refused.
    """
    text = ",".join(map(str, values))
    if "None" in text:
        raise ValueError("array_literal takes numbers, not None")
    return "{" + text + "}"
