"""Database-level guards: the append-only trigger the models declare, and the application's role.

Every trigger in the portal is declared on its model's ``Meta.triggers`` with django-pgtrigger
(``AppendOnly`` here; the legal hold and the closure rules in ``incidents/models/``; the tally triggers built in
``policies/tallies.py``). ``makemigrations`` writes each one's SQL, frozen, into the app's
migrations; ``tests/core/test_triggers.py`` checks that the database holds exactly the
declared set after ``migrate``. SQLite (the first look) gets no triggers: there the ORM's
guards (``core.models.AppendOnlyModel``, ``incidents.models.RecordUnderLegalHold``) are the rule.
"""

import pgtrigger
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from pgtrigger import features as pgtrigger_features


class AppendOnly(pgtrigger.Trigger):
    """On PostgreSQL: refuse every UPDATE and DELETE of the model's rows, however sent.

    The ORM refuses first, with a message for people (``core.models.RecordImmutable``); this
    refuses the same change sent as raw SQL. Not ``pgtrigger.Protect``: that raises a generic
    message with SQLSTATE P0001, and this keeps the portal's ("... rows are append-only: UPDATE
    refused", SQLSTATE 42501 insufficient_privilege, which Django raises as a ``DatabaseError``).
    TRUNCATE is left alone: the test suite empties tables with it, and it needs table ownership,
    which the web application's role does not have (``grant_app_role``).
    """

    name = "append_only"
    when = pgtrigger.Before
    operation = pgtrigger.Update | pgtrigger.Delete
    func = (
        "RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'insufficient_privilege';"
    )


# No skipping
# ------------------------------------------------------------------------------
# django-pgtrigger's trigger functions first ask "public"._pgtrigger_should_ignore(), which reads
# the session setting pgtrigger.ignore (what ``pgtrigger.ignore()`` sets). Any role may set a
# custom setting, so any session, the application role's included, could skip a guard that it
# cannot disable. Fixed to an empty list on the function itself, the setting is ignored: no
# trigger is ever skipped, as before pgtrigger. Every trigger install recreates the function
# (and so drops the fix), so this runs after every migrate; after ``manage.py pgtrigger install``
# run migrate again.
IGNORE_FUNCTION = "_pgtrigger_should_ignore(name)"


def refuse_trigger_skipping(*, using: str = "default") -> bool:
    """Make pgtrigger's "ignore this trigger" setting do nothing. False where there is nothing to fix."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    function = f"{connection.ops.quote_name(pgtrigger_features.schema())}.{IGNORE_FUNCTION}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [function])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(f"ALTER FUNCTION {function} SET pgtrigger.ignore TO '{{}}'")
    return True


def refuse_skipping_after_migrate(sender, using="default", **kwargs):
    """post_migrate: see ``refuse_trigger_skipping``."""
    refuse_trigger_skipping(using=using)


# The application's database role
# ------------------------------------------------------------------------------
# Tables whose rows the application role may add and read but never change or remove: the
# audit trail. (Its trigger refuses UPDATE and DELETE too; the grants also stop TRUNCATE.)
INSERT_ONLY_TABLES = ("core_auditentry",)
# Tables the application role only reads: migrations are the owner's.
READ_ONLY_TABLES = ("django_migrations",)


class RoleRefused(ImproperlyConfigured):
    """The named role cannot safely be the application's role."""


def grant_app_role(role: str, *, using: str = "default") -> bool:
    """Grant ``role`` the rows of every table in the schema, and nothing of the tables themselves.

    Run as the tables' owner (after every migrate). The role may SELECT, INSERT, UPDATE and
    DELETE rows and use sequences; the audit trail it may only read and add to; tables the
    owner creates later get the same grants (ALTER DEFAULT PRIVILEGES). It is never granted
    TRUNCATE, REFERENCES or TRIGGER, and, owning nothing, it cannot ALTER or DROP a table or
    disable its triggers. Returns False, doing nothing, where there are no roles (SQLite).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolbypassrls, rolname = current_user, current_schema() FROM pg_roles WHERE rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        if row is None:
            raise RoleRefused(f"There is no database role {role!r}: create it first (manage.py create_app_role).")
        unrestricted, is_owner, schema = row
        if is_owner:
            raise RoleRefused(
                f"{role!r} is the role running the migrations: the application needs a role of its own "
                "(DATABASE_APP_ROLE), and the migrations the owner's (DATABASE_OWNER_URL)."
            )
        if unrestricted:
            raise RoleRefused(f"{role!r} is a superuser or bypasses row security: no grant can restrict it.")
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tableowner = %s",
            [schema, role],
        )
        if cursor.fetchone()[0]:
            raise RoleRefused(
                f"{role!r} owns tables in schema {schema!r}, so it could truncate or alter them. As the owner, "
                f"run REASSIGN OWNED BY {role} TO <owner> in this database, then migrate again."
            )
        r, s = quote(role), quote(schema)
        statements = [
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {s} FROM {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        ]
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
            [schema, [*INSERT_ONLY_TABLES, *READ_ONLY_TABLES]],
        )
        present = {name for (name,) in cursor.fetchall()}
        statements += [f"REVOKE UPDATE, DELETE ON {s}.{quote(t)} FROM {r}" for t in INSERT_ONLY_TABLES if t in present]
        statements += [
            f"REVOKE INSERT, UPDATE, DELETE ON {s}.{quote(t)} FROM {r}" for t in READ_ONLY_TABLES if t in present
        ]
        for statement in statements:
            cursor.execute(statement)
    return True


def grant_after_migrate(sender, using="default", verbosity=1, stdout=None, **kwargs):
    """post_migrate: keep DATABASE_APP_ROLE's grants in step with the tables just migrated."""
    role = settings.DATABASE_APP_ROLE
    if not role:
        return
    if grant_app_role(role, using=using) and verbosity >= 1 and stdout is not None:
        stdout.write(f"  Granted the application role {role!r} its rows (core.db.grant_app_role).\n")
