"""Database-level guards shared by the apps' migrations."""

from django.db import migrations

_CREATE = """
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
_DROP = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"


def append_only(table: str) -> migrations.RunPython:
    """A migration operation: on PostgreSQL, refuse UPDATE and DELETE on ``table``.

    TRUNCATE is left alone: the test suite empties tables with it, and it needs
    table ownership, which the web application's role need not have.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_CREATE.format(table=table), params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_DROP.format(table=table), params=None)

    return migrations.RunPython(forwards, backwards)
