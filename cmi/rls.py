"""The second wall between tenants: PostgreSQL row-level security.

The first wall is `for_scope`: every query names its vendor. This one holds when a
query forgot to. Every tenant-owned table has a policy that shows and accepts only
rows of the vendor the current work runs for:

    vendor_id = current_setting('cmi.vendor_id')::bigint

or every row in system mode (`cmi.system = on`), which code that must span vendors
asks for by name: the sweep, the scheduled release, the overdue flags, the seed,
management commands, migrations. Nothing set means no rows: a forgotten scope fails
closed.

What the current work runs for is a context variable (so a thread or a request has
its own). The database backend (`cmi.dbbackends.postgresql`) copies it into the
connection before the first query that follows a change, so a connection reused by
another request or task never answers with the previous one's vendor. The app
connects as a role without BYPASSRLS (`DATABASE_APP_ROLE`); migrations switch back to
the owner (`owner()`). On SQLite all of this is inert.

A new tenant-owned table gets its policy with one operation in its migration:

    operations = [..., TenantTable("myapp_mymodel")]
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections
from django.db.migrations.operations.base import Operation

POLICY = "tenant_isolation"
# `true`: a setting never made reads as NULL (no rows), not as an error.
PREDICATE = (
    "coalesce(current_setting('cmi.system', true), '') = 'on' "
    "OR {column} = nullif(current_setting('cmi.vendor_id', true), '')::bigint"
)


@dataclass(frozen=True)
class Tenant:
    vendor_id: int | None = None
    system: bool = False

    def settings(self) -> tuple[str, str]:
        """(cmi.vendor_id, cmi.system) as the connection should hold them."""
        return (
            "" if self.vendor_id is None else str(int(self.vendor_id)),
            "on" if self.system else "off",
        )


NOBODY = Tenant()
SYSTEM = Tenant(system=True)

_current: contextvars.ContextVar[Tenant] = contextvars.ContextVar("cmi_tenant", default=NOBODY)
_owner_mode = False


def current() -> Tenant:
    return _current.get()


def activate(tenant: Tenant) -> contextvars.Token:
    """Set for the rest of this context; the caller resets with the token it gets back."""
    return _current.set(tenant)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def running_as(tenant: Tenant) -> Iterator[None]:
    token = _current.set(tenant)
    try:
        yield
    finally:
        _current.reset(token)


def vendor(vendor_id: int) -> contextlib.AbstractContextManager[None]:
    """Work for one vendor: every tenant table shows only its rows."""
    return running_as(Tenant(vendor_id=vendor_id))


def system() -> contextlib.AbstractContextManager[None]:
    """Work that spans vendors by design. Say why wherever it is used."""
    return running_as(SYSTEM)


def app_role() -> str:
    return os.environ.get("DATABASE_APP_ROLE", "").strip()


def owner_mode() -> bool:
    return _owner_mode


def _postgres_connections():
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "postgresql" and conn.connection is not None:
            yield conn


@contextlib.contextmanager
def owner() -> Iterator[None]:
    """Run as the database owner (migrations, flush, test database set-up).

    Open connections leave the app role now; new ones do not take it until the end.
    """
    global _owner_mode
    previous = _owner_mode
    _owner_mode = True
    try:
        for conn in _postgres_connections():
            conn.rls_role_apply()
        with system():
            yield
    finally:
        _owner_mode = previous
        for conn in _postgres_connections():
            conn.rls_role_apply()


def app_role_grant(connection) -> None:
    """Give the app role what it needs on this database's tables, now and later."""
    role = app_role()
    if connection.vendor != "postgresql" or not role:
        return
    name = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {name}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {name}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {name}",
        ):
            cursor.execute(statement)


def tenant_table_sql(connection, table: str, column: str = "vendor_id") -> list[str]:
    qn = connection.ops.quote_name
    predicate = PREDICATE.format(column=qn(column))
    return [
        f"ALTER TABLE {qn(table)} ENABLE ROW LEVEL SECURITY",
        # The owner is bound too, unless it is a superuser (migrations).
        f"ALTER TABLE {qn(table)} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {qn(table)}",
        f"CREATE POLICY {POLICY} ON {qn(table)} USING ({predicate}) WITH CHECK ({predicate})",
    ]


class TenantTable(Operation):
    """Migration operation: row-level security by `vendor_id` on one table (PostgreSQL only)."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, column: str = "vendor_id") -> None:
        self.table = table
        self.column = column

    def deconstruct(self):
        kwargs = {} if self.column == "vendor_id" else {"column": self.column}
        return (self.__class__.__qualname__, [self.table], kwargs)

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in tenant_table_sql(schema_editor.connection, self.table, self.column):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        qn = schema_editor.connection.ops.quote_name
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {qn(self.table)}")
        schema_editor.execute(f"ALTER TABLE {qn(self.table)} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {qn(self.table)} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Row-level security by {self.column} on {self.table}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.table}"
