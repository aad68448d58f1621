"""A legal hold blocks deletion in the database too (DESIGN.md "Records").

The ORM refuses first (``incidents.models.RecordUnderLegalHold``); these
triggers refuse the same DELETE sent as raw SQL. The SQL is written out here,
not imported from the app, so this migration stays what it was when applied.

The chronology, evidence, policy breaches and retention reviews need nothing
more: migration 0002 already refuses every UPDATE and DELETE on them. The people
named in a report are covered here: removing one would also open the case to them.
TRUNCATE fires no row triggers; it needs a role the web application does not have.
The legal hold is declared on the models with django-pgtrigger now; migration 0008
replaces these triggers with those.
"""

from django.db import migrations

FORWARDS = """
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

BACKWARDS = """
DROP TRIGGER IF EXISTS incidents_namedperson_legal_hold ON incidents_namedperson;
DROP FUNCTION IF EXISTS incidents_refuse_held_named_person_delete();
DROP TRIGGER IF EXISTS incidents_incident_legal_hold ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_refuse_held_incident_delete();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS, params=None)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_incident_official_account")]

    operations = [migrations.RunPython(forwards, backwards)]
