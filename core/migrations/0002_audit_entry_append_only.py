"""On PostgreSQL, the audit trail refuses UPDATE and DELETE, whoever sends them.

Frozen: the SQL is written out here, as ``core.db.append_only`` built it when this migration
was made, so no later edit to the app changes what it does. The guard is declared on the
models with django-pgtrigger now (``core.db.AppendOnly``); migration 0006 replaces it.
TRUNCATE is left alone: the test suite empties tables with it, and it needs table ownership,
which the web application's role need not have.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION portal_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
TABLES = ["core_auditentry"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(CREATE.format(table=table), params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in reversed(TABLES):
            schema_editor.execute(DROP.format(table=table), params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
