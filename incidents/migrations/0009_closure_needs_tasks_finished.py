"""A case closes only when each of its tasks is done or set aside with a reason (DESIGN.md "Incident reporting").

``services.close_incident`` refuses first, with a message; these triggers refuse the same
change from any other path (the admin, a shell, raw SQL): closing an incident while a task of
it is open, and opening or adding a task on a closed incident. The SQL is written out here, not
imported from the app, so this migration stays what it was when applied.
"""

from django.db import migrations

FORWARDS = """
CREATE OR REPLACE FUNCTION incidents_refuse_close_with_open_tasks() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM incidents_incidenttask WHERE incident_id = NEW.id AND status = 'open') THEN
        RAISE EXCEPTION 'incident % has open tasks: closing it is refused', NEW.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS incidents_incident_close_needs_tasks ON incidents_incident;
CREATE TRIGGER incidents_incident_close_needs_tasks
    BEFORE UPDATE OF status ON incidents_incident
    FOR EACH ROW WHEN (NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed')
    EXECUTE FUNCTION incidents_refuse_close_with_open_tasks();

CREATE OR REPLACE FUNCTION incidents_refuse_open_task_on_closed() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM incidents_incident WHERE id = NEW.incident_id AND status = 'closed') THEN
        RAISE EXCEPTION 'incident % is closed: an open task is refused', NEW.incident_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS incidents_incidenttask_open_on_closed ON incidents_incidenttask;
CREATE TRIGGER incidents_incidenttask_open_on_closed
    BEFORE INSERT OR UPDATE OF status ON incidents_incidenttask
    FOR EACH ROW WHEN (NEW.status = 'open')
    EXECUTE FUNCTION incidents_refuse_open_task_on_closed();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS incidents_incidenttask_open_on_closed ON incidents_incidenttask;
DROP FUNCTION IF EXISTS incidents_refuse_open_task_on_closed();
DROP TRIGGER IF EXISTS incidents_incident_close_needs_tasks ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_refuse_close_with_open_tasks();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS, params=None)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0008_tasks_and_takedowns")]

    operations = [migrations.RunPython(forwards, backwards)]
