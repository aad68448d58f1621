"""The audit trail's append-only guard, declared on the model with django-pgtrigger (core.db.AppendOnly), replaces the hand-written one of migration 0002: same message, same SQLSTATE."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# The hand-written append-only guard (migration 0002), frozen: dropped going forwards, put back
# going backwards.
APPEND_ONLY_TABLES = ["core_auditentry"]
APPEND_ONLY = """
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
DROP_APPEND_ONLY = "DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
# The function is shared by core's, incidents' and policies' tables: the last of their migrations to
# drop its triggers drops it.
DROP_UNUSED_FUNCTION = """
DO $$
BEGIN
    IF to_regprocedure('portal_refuse_change()') IS NOT NULL
       AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgfoid = to_regprocedure('portal_refuse_change()')) THEN
        DROP FUNCTION portal_refuse_change();
    END IF;
END $$;
"""


def drop_hand_written_triggers(apps, schema_editor):
    """Before pgtrigger's triggers go in: the hand-written ones they replace go (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(DROP_APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES), DROP_UNUSED_FUNCTION]:
        schema_editor.execute(statement, params=None)


def restore_hand_written_triggers(apps, schema_editor):
    """Going backwards, after pgtrigger's triggers have gone: the hand-written ones, as they were."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_installed_duty'),
    ]

    operations = [
        migrations.RunPython(drop_hand_written_triggers, restore_hand_written_triggers),
        pgtrigger.migrations.AddTrigger(
            model_name='auditentry',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='627abd881ef843183d6ec147c3ce61fed03f2b3f', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_97da0', table='core_auditentry', when='BEFORE')),
        ),
    ]
