"""History is append-only: ledger entries, scan events, order events, level and setting
changes are written once and never updated or deleted.

The code never updates or deletes them, their foreign keys PROTECT (so deleting a bin,
an order, an item or a customer with history is refused: deactivate or cancel it), the
admin shows them read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE on
their tables (the migrations install it through `append_only_install`).

A table may name columns that are state rather than history (the scan event's
`kanban_pending`, cleared when its card is ordered): an UPDATE that changes only those
passes; any other change is refused. TRUNCATE is not refused: it is how test databases
are emptied, and no code path of the platform issues it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

FUNCTION = "cmi_history_append_only"
REWRITE_SETTING = "cmi.history_rewrite"

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    IF current_setting('{REWRITE_SETTING}', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_NARGS > 0
       AND (to_jsonb(OLD) - TG_ARGV) = (to_jsonb(NEW) - TG_ARGV) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
"""


def _is_postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def function_install(apps, schema_editor) -> None:
    """Migration step: the trigger function (PostgreSQL only; nothing elsewhere)."""
    if _is_postgres(schema_editor):
        schema_editor.execute(_FUNCTION_SQL, params=None)


def function_remove(apps, schema_editor) -> None:
    if _is_postgres(schema_editor):
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE")


def append_only_install(table: str, *, mutable: tuple[str, ...] = ()):
    """A migration step (for RunPython) that puts the trigger on `table`."""

    def forward(apps, schema_editor) -> None:
        if not _is_postgres(schema_editor):
            return
        args = ", ".join(f"'{name}'" for name in mutable)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({args})"
        )

    return forward


def append_only_remove(table: str):
    def backward(apps, schema_editor) -> None:
        if _is_postgres(schema_editor):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")

    return backward


@contextmanager
def history_rewrite_for_tests_and_benchmarks() -> Iterator[None]:
    """Lets the current transaction rewrite history rows (PostgreSQL's trigger passes
    them). For test set-up and benchmark data only: no code path of the platform calls
    it. The block is one transaction (the setting is local to it)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [REWRITE_SETTING])
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, 'off', true)", [REWRITE_SETTING])
