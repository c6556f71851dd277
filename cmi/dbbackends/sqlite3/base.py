"""SQLite, tuned for the embedded default.

Django assumes SQLite's old limit of 999 bound variables, which splits a batch of
500 scans into many INSERTs. The library on this Python allows far more, so the
limit is read from the connection. WAL lets the web process and the worker read
while the other writes.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    @property
    def max_query_params(self) -> int:  # type: ignore[override]
        conn = self.connection.connection
        if conn is None:
            self.connection.ensure_connection()
            conn = self.connection.connection
        return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
