"""`migrate` as the database owner, then the app role's grants on what it made."""

from django.core.management.commands import migrate
from django.db import connections

from cmi import rls


class Command(migrate.Command):
    def handle(self, *args, **options):
        with rls.owner():
            result = super().handle(*args, **options)
            rls.app_role_grant(connections[options["database"]])
        return result
