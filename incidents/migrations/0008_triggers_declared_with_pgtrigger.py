"""The append-only guards (core.db.AppendOnly) and the legal hold, declared on the models with django-pgtrigger, replace
the hand-written ones of migrations 0002 and 0004: same conditions, messages and SQLSTATEs."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# The hand-written append-only guard (migration 0002), frozen: dropped going forwards, put back
# going backwards.
APPEND_ONLY_TABLES = [
    "incidents_incidentaction",
    "incidents_evidence",
    "incidents_policybreach",
    "incidents_retentionreview",
]
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

# The hand-written legal-hold triggers (migration 0004), frozen.
LEGAL_HOLD = """
CREATE OR REPLACE FUNCTION incidents_refuse_held_incident_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'incident % is under a legal hold: DELETE refused', OLD.reference
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS incidents_incident_legal_hold ON incidents_incident;
CREATE TRIGGER incidents_incident_legal_hold
    BEFORE DELETE ON incidents_incident
    FOR EACH ROW WHEN (OLD.legal_hold)
    EXECUTE FUNCTION incidents_refuse_held_incident_delete();

CREATE OR REPLACE FUNCTION incidents_refuse_held_named_person_delete() RETURNS trigger AS $$
DECLARE
    held_reference text;
BEGIN
    SELECT reference INTO held_reference FROM incidents_incident WHERE id = OLD.incident_id AND legal_hold;
    IF FOUND THEN
        RAISE EXCEPTION 'incident % is under a legal hold: DELETE of a named person refused', held_reference
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS incidents_namedperson_legal_hold ON incidents_namedperson;
CREATE TRIGGER incidents_namedperson_legal_hold
    BEFORE DELETE ON incidents_namedperson
    FOR EACH ROW
    EXECUTE FUNCTION incidents_refuse_held_named_person_delete();
"""
DROP_LEGAL_HOLD = """
DROP TRIGGER IF EXISTS incidents_namedperson_legal_hold ON incidents_namedperson;
DROP FUNCTION IF EXISTS incidents_refuse_held_named_person_delete();
DROP TRIGGER IF EXISTS incidents_incident_legal_hold ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_refuse_held_incident_delete();
"""


def drop_hand_written_triggers(apps, schema_editor):
    """Before pgtrigger's triggers go in: the hand-written ones they replace go (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(DROP_APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES), DROP_LEGAL_HOLD, DROP_UNUSED_FUNCTION]:
        schema_editor.execute(statement, params=None)


def restore_hand_written_triggers(apps, schema_editor):
    """Going backwards, after pgtrigger's triggers have gone: the hand-written ones, as they were."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES), LEGAL_HOLD]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0007_date_ranges'),
    ]

    operations = [
        migrations.RunPython(drop_hand_written_triggers, restore_hand_written_triggers),
        pgtrigger.migrations.AddTrigger(
            model_name='evidence',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='03c5e0a87fda103d7ec2936d4b9fbbc4083f0d84', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_937ae', table='incidents_evidence', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incident',
            trigger=pgtrigger.compiler.Trigger(name='legal_hold', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.legal_hold)', func="RAISE EXCEPTION 'incident % is under a legal hold: DELETE refused', OLD.reference USING ERRCODE = 'restrict_violation';", hash='a96ef34fa51593c8f6dceb9e2cc4fc7fe4073acb', operation='DELETE', pgid='pgtrigger_legal_hold_45a0d', table='incidents_incident', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incidentaction',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='5e683b1361d6eaea4d2b0c661e1f63672e2440ba', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_d8bc2', table='incidents_incidentaction', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='namedperson',
            trigger=pgtrigger.compiler.Trigger(name='legal_hold', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE held_reference text;', func="SELECT reference INTO held_reference FROM incidents_incident WHERE id = OLD.incident_id AND legal_hold; IF FOUND THEN RAISE EXCEPTION 'incident % is under a legal hold: DELETE of a named person refused', held_reference USING ERRCODE = 'restrict_violation'; END IF; RETURN OLD;", hash='2084f4f8046d45b58adfa4bef9d48207cd352e1e', operation='DELETE', pgid='pgtrigger_legal_hold_2b6e2', table='incidents_namedperson', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='policybreach',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='ecd72bdd496195c04df292d1846d9f68ad817dd9', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_5c624', table='incidents_policybreach', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='retentionreview',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='4c8a51b9f651204649b1e656644673907bcc26f1', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_9b2cf', table='incidents_retentionreview', when='BEFORE')),
        ),
    ]
