"""manage.py create_app_role: the PostgreSQL role the web server, worker and beat connect as.

Run as the tables' owner (DATABASE_URL=$DATABASE_OWNER_URL), which needs CREATEROLE. It
creates the role, or brings an existing one back to these attributes, and grants it the rows
of the tables already there (core.db.grant_app_role); every later migrate grants it the rest.
"""

import getpass
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg2.extensions import encrypt_password

from core.db import RoleRefused, grant_app_role

# A login role with no powers beyond the grants it is given.
POWERS = {
    "rolsuper": "NOSUPERUSER",
    "rolcreatedb": "NOCREATEDB",
    "rolcreaterole": "NOCREATEROLE",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
}


def _hashed(raw_connection, password: str, name: str) -> str:
    """The password as the server stores it (SCRAM), so the clear text never reaches its logs."""
    if hasattr(raw_connection, "pgconn"):  # psycopg 3
        return raw_connection.pgconn.encrypt_password(password.encode(), name.encode()).decode()

    return encrypt_password(password, name, raw_connection)


class Command(BaseCommand):
    help = "Create or update the application's database role (PostgreSQL) and grant it the portal's rows."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="the role's name (default: DATABASE_APP_ROLE)")
        parser.add_argument(
            "--password-env",
            default="DATABASE_APP_PASSWORD",
            help="the environment variable holding its password (default: DATABASE_APP_PASSWORD)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, name=None, password_env, database, **options):
        name = name or settings.DATABASE_APP_ROLE
        if not name:
            raise CommandError("Name the role, or set DATABASE_APP_ROLE.")
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(f"Database roles need PostgreSQL; this database is {connection.vendor}.")
        password = os.environ.get(password_env) or None
        quoted = connection.ops.quote_name(name)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(POWERS)} FROM pg_roles WHERE rolname = %s", [name])
            powers = cursor.fetchone()
            if powers is None:
                password = password or self._ask_password(name, password_env)
                statement = f"CREATE ROLE {quoted} LOGIN {' '.join(POWERS.values())}"
            else:
                # Only the attributes to take away: setting some of them at all needs a superuser.
                taken = [attribute for held, attribute in zip(powers, POWERS.values(), strict=True) if held]
                statement = f"ALTER ROLE {quoted} LOGIN {' '.join(taken)}".rstrip()
            params = []
            if password is not None:
                statement += " PASSWORD %s"
                params.append(_hashed(connection.connection, password, name))
            cursor.execute(statement, params)
        try:
            grant_app_role(name, using=database)
        except RoleRefused as exc:
            raise CommandError(str(exc)) from None
        verb = "Created" if powers is None else "Updated"
        self.stdout.write(f"{verb} the application role {name!r} and granted it the portal's rows.")

    def _ask_password(self, name, password_env):
        if not sys.stdin.isatty():
            raise CommandError(f"Set {password_env} to the new role's password (the one in DATABASE_URL).")
        password = getpass.getpass(f"Password for {name}: ")
        if not password or password != getpass.getpass("Again: "):
            raise CommandError("The passwords were empty or did not match.")
        return password
