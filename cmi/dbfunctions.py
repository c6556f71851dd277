"""Small database functions that Django lacks, written for PostgreSQL and SQLite both."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Cast


class EpochSeconds(models.Func):
    """A timestamp as whole seconds since 1970 (UTC), truncated.

    For exports: an integer crosses the driver at C speed, where a timestamptz goes
    through Django's Python loader (about 15 µs a row); the caller turns it back into
    a local time with `datetime.fromtimestamp(seconds, zone)`.
    """

    output_field = models.BigIntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores an aware datetime as UTC text, which strftime reads. The format
        # goes as a parameter: a literal %s would be taken for a placeholder.
        epoch = models.Func(models.Value("%s"), *self.get_source_expressions(), function="strftime")
        return compiler.compile(Cast(epoch, models.BigIntegerField()))
