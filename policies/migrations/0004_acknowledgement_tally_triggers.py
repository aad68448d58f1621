"""The triggers that keep the acknowledgement tallies, as this migration first installed them.

Frozen: the SQL is written out here, copied from what ``policies/tallies.py`` built when this
migration was made, so editing that module never changes what this migration does. The
triggers are declared with django-pgtrigger now (``policies/tallies.py``); migration 0009
replaces these with those.
"""

from django.db import migrations
from django.utils import timezone

INSTALL = [
    """
        CREATE OR REPLACE FUNCTION portal_tally_requests_inserted() RETURNS trigger AS $$
        BEGIN
            
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM new_rows r, accounts_membership m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active
    ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """,
    """
        CREATE OR REPLACE FUNCTION portal_tally_requests_deleted() RETURNS trigger AS $$
        BEGIN
            
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM old_rows r, accounts_membership m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active
    ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """,
    """
        CREATE OR REPLACE FUNCTION portal_tally_request_changed() RETURNS trigger AS $$
        BEGIN
            
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM (SELECT OLD.*) r, accounts_membership m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active
     UNION ALL 
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM (SELECT NEW.*) r, accounts_membership m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active
    ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """,
    """
        CREATE OR REPLACE FUNCTION portal_tally_membership_changed() RETURNS trigger AS $$
        BEGIN
            
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM policies_acknowledgementrequest r, (SELECT OLD.*) m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE r.membership_id = OLD.id AND u.id = OLD.user_id AND u.is_active
     UNION ALL 
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM policies_acknowledgementrequest r, (SELECT NEW.*) m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE r.membership_id = NEW.id AND u.id = NEW.user_id AND u.is_active
    ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """,
    """
        CREATE OR REPLACE FUNCTION portal_tally_user_changed() RETURNS trigger AS $$
        BEGIN
            
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               CASE WHEN NEW.is_active THEN 1 ELSE -1 END AS total, CASE WHEN NEW.is_active THEN 1 ELSE -1 END * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM policies_acknowledgementrequest r, accounts_membership m,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND m.user_id = NEW.id
    ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """,
    """
    DROP TRIGGER IF EXISTS tally_requests_inserted ON policies_acknowledgementrequest;
    CREATE TRIGGER tally_requests_inserted AFTER INSERT ON policies_acknowledgementrequest
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION portal_tally_requests_inserted();

    DROP TRIGGER IF EXISTS tally_requests_deleted ON policies_acknowledgementrequest;
    CREATE TRIGGER tally_requests_deleted AFTER DELETE ON policies_acknowledgementrequest
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION portal_tally_requests_deleted();

    DROP TRIGGER IF EXISTS tally_request_changed ON policies_acknowledgementrequest;
    CREATE TRIGGER tally_request_changed AFTER UPDATE ON policies_acknowledgementrequest
        FOR EACH ROW
        WHEN ((OLD.version_id, OLD.membership_id, OLD.due_date, OLD.acknowledgement_id IS NULL)
              IS DISTINCT FROM (NEW.version_id, NEW.membership_id, NEW.due_date, NEW.acknowledgement_id IS NULL))
        EXECUTE FUNCTION portal_tally_request_changed();

    DROP TRIGGER IF EXISTS tally_membership_changed ON accounts_membership;
    CREATE TRIGGER tally_membership_changed AFTER UPDATE ON accounts_membership
        FOR EACH ROW
        WHEN ((OLD.user_id, OLD.organisation_id, OLD.department, OLD.staff_type, OLD.leaving_date)
              IS DISTINCT FROM (NEW.user_id, NEW.organisation_id, NEW.department, NEW.staff_type, NEW.leaving_date))
        EXECUTE FUNCTION portal_tally_membership_changed();

    DROP TRIGGER IF EXISTS tally_user_changed ON accounts_user;
    CREATE TRIGGER tally_user_changed AFTER UPDATE ON accounts_user
        FOR EACH ROW
        WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
        EXECUTE FUNCTION portal_tally_user_changed();
    """,
]

UNINSTALL = """
    DROP TRIGGER IF EXISTS tally_requests_inserted ON policies_acknowledgementrequest;
    DROP TRIGGER IF EXISTS tally_requests_deleted ON policies_acknowledgementrequest;
    DROP TRIGGER IF EXISTS tally_request_changed ON policies_acknowledgementrequest;
    DROP TRIGGER IF EXISTS tally_membership_changed ON accounts_membership;
    DROP TRIGGER IF EXISTS tally_user_changed ON accounts_user;
    DROP FUNCTION IF EXISTS portal_tally_requests_inserted();
    DROP FUNCTION IF EXISTS portal_tally_requests_deleted();
    DROP FUNCTION IF EXISTS portal_tally_request_changed();
    DROP FUNCTION IF EXISTS portal_tally_membership_changed();
    DROP FUNCTION IF EXISTS portal_tally_user_changed();
"""

# Every tally counted afresh from the requests so far, then folded (policies.tallies.rebuild and fold then).
REBUILD = [
    "LOCK TABLE policies_acknowledgementtally IN EXCLUSIVE MODE",
    "DELETE FROM policies_acknowledgementtally",
    """INSERT INTO policies_acknowledgementtally (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count) 
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total) AS total, sum(acknowledged) AS acknowledged
    FROM (
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM policies_acknowledgementrequest r, accounts_membership m, accounts_user u,
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active
    ) AS rows
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date
 ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date""",
]
FOLD = [
    "DELETE FROM policies_acknowledgementtally WHERE leaving_date < %s OR (asked = 0 AND acknowledged_count = 0)",
    """WITH past_due AS (DELETE FROM policies_acknowledgementtally WHERE due_date < %s AND due_date <> DATE '1970-01-01' RETURNING *)
    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)
    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (
                SELECT version_id, organisation_id, breakdown, name, DATE '1970-01-01' AS due_date, leaving_date,
                       asked AS total, acknowledged_count AS acknowledged
                FROM past_due
            ) AS deltas
    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date
    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
""",
]


def install_triggers(apps, schema_editor):
    """On PostgreSQL: the triggers that keep the tallies, then the tallies counted from the requests so far."""
    if schema_editor.connection.vendor != "postgresql":
        return
    on = timezone.localdate()
    with schema_editor.connection.cursor() as cursor:
        for statement in INSTALL + REBUILD:
            cursor.execute(statement)
        for statement in FOLD:
            cursor.execute(statement, [on])


def uninstall_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(UNINSTALL)


class Migration(migrations.Migration):
    """Separate from 0003 so that the tallies' unique index (which the triggers' upserts need)
    exists: a migration creates its indexes only at its end."""

    dependencies = [("policies", "0003_acknowledgement_tally")]

    operations = [migrations.RunPython(install_triggers, uninstall_triggers)]
