"""`flush` as the database owner: TRUNCATE passes row-level security by, so the app
role is not given it."""

from django.core.management.commands import flush

from cmi import rls


class Command(flush.Command):
    def handle(self, **options):
        with rls.owner():
            return super().handle(**options)
