"""PostgreSQL as the restricted app role, with the tenant of the current work applied.

On connect the session takes `DATABASE_APP_ROLE` (no superuser, no BYPASSRLS), unless
the process is in owner mode (migrations, flush, test database set-up). Before every
cursor, the connection is brought to the tenant the current context runs for
(`cmi.rls.current()`): one `set_config` round trip when it changed, none otherwise.
Because it is checked before every statement rather than set once per request, a
persistent connection reused by the next request, task or thread never answers with
the previous one's vendor. The settings are written on the raw connection, outside
Django's query log, so query-count assertions see only the application's queries.

A role or setting taken inside a transaction that rolls back is undone with it, so a
rollback forgets what was applied and the next cursor applies it again (a `SET ROLE`
undone by a rollback must never leave the session as the owner).
"""

from __future__ import annotations

from django.db.backends.postgresql import base, creation

from cmi import rls


class DatabaseCreation(creation.DatabaseCreation):
    """The test database is created, migrated and dropped by the owner."""

    def create_test_db(self, *args, **kwargs):
        with rls.owner():
            name = super().create_test_db(*args, **kwargs)
        return name

    def destroy_test_db(self, *args, **kwargs):
        with rls.owner():
            return super().destroy_test_db(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What the session holds: the role taken ("": the login role) and the tenant
        # settings. None: not known (a rollback may have undone it), so applied again.
        self._rls_role: str | None = None
        self._rls_applied: tuple[str, str] | None = None

    def init_connection_state(self):
        super().init_connection_state()
        self._rls_forget()
        self.rls_role_apply()

    def _rls_forget(self) -> None:
        self._rls_role = None
        self._rls_applied = None

    def rls_role_apply(self) -> None:
        """Take the app role, or leave it in owner mode. Idempotent."""
        if self.connection is None:
            return
        wanted = "" if rls.owner_mode() else rls.app_role()
        if wanted == self._rls_role:
            return
        with self.connection.cursor() as cursor:
            if wanted:
                cursor.execute(f"SET ROLE {self.ops.quote_name(wanted)}")
            else:
                cursor.execute("RESET ROLE")
        self._rls_role = wanted

    def _rls_sync(self) -> None:
        if self.connection is None:
            return
        self.rls_role_apply()
        wanted = rls.current().settings()
        if self._rls_applied == wanted:
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('cmi.vendor_id', %s, false), set_config('cmi.system', %s, false)",
                wanted,
            )
        self._rls_applied = wanted

    def _cursor(self, name=None):
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            self._rls_sync()
        return super()._cursor(name)

    def _rollback(self):
        self._rls_forget()
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        # The transaction may be aborted: nothing but the rollback may run first.
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(self.ops.savepoint_rollback_sql(sid))
        self._rls_forget()
