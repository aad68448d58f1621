"""The database backs the rules (issue 10): the application's role reads and writes rows but
cannot TRUNCATE, ALTER, drop or disable the triggers of a table, nor change the audit trail.

Roles are PostgreSQL's. On SQLite (the first look) there are none: each test then shows that
the grants and the command do nothing, or say why, rather than being skipped.
"""

import os
import secrets
from contextlib import contextmanager

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from core.db import RoleRefused, grant_app_role
from core.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRESQL = connection.vendor == "postgresql"
REFUSED = "42501"  # insufficient_privilege


def owner_sql(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def drop_role(name):
    owner_sql(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
    owner_sql(f'DROP OWNED BY "{name}"')  # its grants and default privileges in this database
    owner_sql(f'DROP ROLE "{name}"')


@pytest.fixture
def role_name():
    name = f"portal_app_test_{secrets.token_hex(4)}"
    yield name
    if POSTGRESQL and owner_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]):
        drop_role(name)


@pytest.fixture
def app_role(role_name):
    if POSTGRESQL:
        owner_sql(f'CREATE ROLE "{role_name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS')
    return role_name


@contextmanager
def connected_as(role):
    """A connection of the role's own to the test database (trust authentication on 127.0.0.1)."""
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"], user=role, host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, connect_timeout=10
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


def refused(cursor, sql) -> str:
    with pytest.raises(psycopg2.Error) as caught:
        cursor.execute(sql)
    assert caught.value.pgcode == REFUSED, (sql, caught.value.pgerror)
    message = caught.value.pgerror
    # Refused by the privileges, not merely by the audit trail's trigger.
    assert "permission denied" in message or "must be owner" in message, (sql, message)
    return message


AUDIT_ROW = """
    INSERT INTO core_auditentry (created_at, action, object_id, object_repr, from_state, to_state, details)
    VALUES (now(), 'test.by_app_role', '', '', '', '', '{}') RETURNING id
"""


def test_the_app_role_reads_and_writes_rows_and_adds_to_the_audit_trail(app_role):
    if not POSTGRESQL:
        assert grant_app_role(app_role) is False  # no roles to grant: nothing happens
        return
    assert grant_app_role(app_role) is True
    with connected_as(app_role) as cursor:
        cursor.execute("INSERT INTO auth_group (name) VALUES ('Governors') RETURNING id")
        group = cursor.fetchone()[0]
        cursor.execute("UPDATE auth_group SET name = 'Trustees' WHERE id = %s", [group])
        cursor.execute("SELECT name FROM auth_group WHERE id = %s", [group])
        assert cursor.fetchone() == ("Trustees",)
        cursor.execute("DELETE FROM auth_group WHERE id = %s", [group])
        assert cursor.rowcount == 1
        cursor.execute(AUDIT_ROW)
        entry = cursor.fetchone()[0]
        cursor.execute("SELECT action FROM core_auditentry WHERE id = %s", [entry])
        assert cursor.fetchone() == ("test.by_app_role",)


def test_the_app_role_cannot_truncate_alter_drop_or_disable_triggers_nor_rewrite_the_audit_trail(app_role):
    if not POSTGRESQL:
        assert grant_app_role(app_role) is False
        return
    grant_app_role(app_role)
    owner_sql(AUDIT_ROW)
    with connected_as(app_role) as cursor:
        assert "permission denied" in refused(cursor, "TRUNCATE core_auditentry")
        refused(cursor, "TRUNCATE auth_group")
        assert "permission denied" in refused(cursor, "UPDATE core_auditentry SET action = 'rewritten'")
        assert "permission denied" in refused(cursor, "DELETE FROM core_auditentry")
        assert "must be owner" in refused(cursor, "ALTER TABLE core_auditentry DISABLE TRIGGER ALL")
        assert "must be owner" in refused(
            cursor, f"ALTER TABLE core_auditentry DISABLE TRIGGER {AuditEntry._meta.triggers[0].get_pgid(AuditEntry)}"
        )
        assert "must be owner" in refused(cursor, "ALTER TABLE core_auditentry ADD COLUMN note text")
        assert "must be owner" in refused(cursor, "DROP TABLE auth_group")
        refused(cursor, "CREATE TABLE portal_intruder (id int)")
        refused(cursor, "INSERT INTO django_migrations (app, name, applied) VALUES ('core', 'fake', now())")
    assert owner_sql("SELECT count(*) FROM core_auditentry") == [(1,)]


def test_tables_the_owner_creates_later_are_granted_too(app_role):
    if not POSTGRESQL:
        assert grant_app_role(app_role) is False
        return
    grant_app_role(app_role)
    owner_sql("CREATE TABLE portal_later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n int)")
    try:
        with connected_as(app_role) as cursor:
            cursor.execute("INSERT INTO portal_later (n) VALUES (1)")
            cursor.execute("SELECT n FROM portal_later")
            assert cursor.fetchall() == [(1,)]
            refused(cursor, "TRUNCATE portal_later")
    finally:
        owner_sql("DROP TABLE portal_later")


def test_every_migrate_grants_the_role_named_in_the_settings(app_role):
    with override_settings(DATABASE_APP_ROLE=app_role):
        call_command("migrate", interactive=False, verbosity=0)
    if not POSTGRESQL:
        return  # migrate ran, and its grants were a no-op
    with connected_as(app_role) as cursor:
        cursor.execute("SELECT count(*) FROM accounts_membership")
        refused(cursor, "TRUNCATE accounts_membership")


def test_it_refuses_a_role_the_grants_could_not_hold(role_name):
    if not POSTGRESQL:
        assert grant_app_role(role_name) is False
        return
    with pytest.raises(RoleRefused, match="no database role"):
        grant_app_role(role_name)
    [(owner,)] = owner_sql("SELECT current_user")
    with pytest.raises(RoleRefused, match="running the migrations"):
        grant_app_role(owner)
    owner_sql(f'CREATE ROLE "{role_name}" LOGIN SUPERUSER')
    with pytest.raises(RoleRefused, match="superuser"):
        grant_app_role(role_name)
    owner_sql(f'ALTER ROLE "{role_name}" NOSUPERUSER')
    owner_sql("CREATE TABLE portal_owned (id int)")
    try:
        owner_sql(f'ALTER TABLE portal_owned OWNER TO "{role_name}"')
        with pytest.raises(RoleRefused, match="owns tables"):
            grant_app_role(role_name)
    finally:
        owner_sql("DROP TABLE portal_owned")


def test_create_app_role_makes_a_login_role_with_no_powers_and_takes_powers_away(role_name, monkeypatch):
    monkeypatch.setenv("DATABASE_APP_PASSWORD", "app-role-password-for-tests")
    if not POSTGRESQL:
        with pytest.raises(CommandError, match="need PostgreSQL"):
            call_command("create_app_role", role_name)
        return
    call_command("create_app_role", role_name, stdout=open(os.devnull, "w"))
    powers = "rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
    assert owner_sql(f"SELECT {powers} FROM pg_roles WHERE rolname = %s", [role_name]) == [
        (True, False, False, False, False, False)
    ]
    [(stored,)] = owner_sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role_name])
    assert stored.startswith("SCRAM-SHA-256$")  # hashed before it was sent
    owner_sql(f'ALTER ROLE "{role_name}" CREATEDB CREATEROLE')
    monkeypatch.delenv("DATABASE_APP_PASSWORD")
    call_command("create_app_role", role_name, stdout=open(os.devnull, "w"))  # again: powers go, password stays
    assert owner_sql(f"SELECT {powers} FROM pg_roles WHERE rolname = %s", [role_name]) == [
        (True, False, False, False, False, False)
    ]
    assert owner_sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role_name]) == [(stored,)]
    with connected_as(role_name) as cursor:
        cursor.execute("SELECT count(*) FROM core_auditentry")
        refused(cursor, "DELETE FROM core_auditentry")


def test_the_app_role_cannot_skip_a_trigger_it_cannot_disable(app_role, school):
    """pgtrigger's "ignore" setting is any session's to set; core.db.refuse_trigger_skipping makes it do nothing."""
    from accounts.models import Role
    from policies import services
    from policies.models import Acknowledgement
    from tests.factories import member
    from tests.policies.conftest import publish

    owner = member(school, Role.POLICY_OWNER, email="owner@school.example")
    policy = services.create_policy(organisation=school, actor=owner, title="Code of Conduct", owner=owner)
    services.acknowledge(user=owner, version=publish(policy, owner))
    guard = Acknowledgement._meta.triggers[0]
    grant_app_role(app_role)
    with connected_as(app_role) as cursor:
        cursor.execute("SET pgtrigger.ignore = %s", ["{" + guard.get_pgid(Acknowledgement) + "}"])
        for statement in (
            "UPDATE policies_acknowledgement SET user_agent = 'forged'",
            "DELETE FROM policies_acknowledgement",
        ):
            with pytest.raises(psycopg2.Error, match="append-only") as caught:
                cursor.execute(statement)
            assert caught.value.pgcode == REFUSED
    assert Acknowledgement.objects.get().user_agent != "forged"
