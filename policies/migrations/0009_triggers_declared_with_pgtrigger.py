"""The append-only guards (core.db.AppendOnly) and the tally triggers (policies/tallies.py), declared with
django-pgtrigger, replace the hand-written ones of migrations 0002 and 0004: the same SQL in the same places. The
tallies need no recount: the triggers keeping them are swapped inside this migration's transaction. The triggers on
accounts' tables are declared on the proxies TalliedMembership and TalliedUser, so that they are migrated here."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# The hand-written append-only guard (migration 0002), frozen: dropped going forwards, put back
# going backwards.
APPEND_ONLY_TABLES = ["policies_acknowledgement", "policies_quizattempt", "policies_policyreview"]
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

# The hand-written tally triggers and their functions (migration 0004), frozen.
TALLY_TRIGGERS = [
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
DROP_TALLY_TRIGGERS = """
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


def drop_hand_written_triggers(apps, schema_editor):
    """Before pgtrigger's triggers go in: the hand-written ones they replace go (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(DROP_APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES), DROP_TALLY_TRIGGERS, DROP_UNUSED_FUNCTION]:
        schema_editor.execute(statement, params=None)


def restore_hand_written_triggers(apps, schema_editor):
    """Going backwards, after pgtrigger's triggers have gone: the hand-written ones, as they were."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*(APPEND_ONLY.format(table=table) for table in APPEND_ONLY_TABLES), *TALLY_TRIGGERS]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_date_ranges'),
        ('policies', '0008_date_ranges'),
    ]

    operations = [
        migrations.RunPython(drop_hand_written_triggers, restore_hand_written_triggers),
        migrations.CreateModel(
            name='TalliedMembership',
            fields=[
            ],
            options={
                'proxy': True,
                'default_permissions': (),
                'indexes': [],
                'constraints': [],
            },
            bases=('accounts.membership',),
        ),
        migrations.CreateModel(
            name='TalliedUser',
            fields=[
            ],
            options={
                'proxy': True,
                'default_permissions': (),
                'indexes': [],
                'constraints': [],
            },
            bases=('accounts.user',),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='acknowledgement',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='12b900c952091693bb6db823b368f44d58355e9d', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_78566', table='policies_acknowledgement', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='acknowledgementrequest',
            trigger=pgtrigger.compiler.Trigger(name='tally_requests_inserted', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)\n    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (\n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM new_rows r, accounts_membership m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active\n    ) AS deltas\n    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date\n    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE\n        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count\n;\nRETURN NULL;", hash='b9c5eed7a975c1edcc86b842a4796894d7b58c59', level='STATEMENT', operation='INSERT', pgid='pgtrigger_tally_requests_inserted_f2757', referencing='REFERENCING NEW TABLE AS new_rows ', table='policies_acknowledgementrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='acknowledgementrequest',
            trigger=pgtrigger.compiler.Trigger(name='tally_requests_deleted', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)\n    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (\n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM old_rows r, accounts_membership m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active\n    ) AS deltas\n    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date\n    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE\n        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count\n;\nRETURN NULL;", hash='e854416bf5224a13239c3feac7d6d831b0fd3a33', level='STATEMENT', operation='DELETE', pgid='pgtrigger_tally_requests_deleted_f1b4d', referencing='REFERENCING OLD TABLE AS old_rows ', table='policies_acknowledgementrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='acknowledgementrequest',
            trigger=pgtrigger.compiler.Trigger(name='tally_request_changed', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN ((OLD.version_id, OLD.membership_id, OLD.due_date, OLD.acknowledgement_id IS NULL) IS DISTINCT FROM (NEW.version_id, NEW.membership_id, NEW.due_date, NEW.acknowledgement_id IS NULL))', func="\n    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)\n    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (\n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM (SELECT OLD.*) r, accounts_membership m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active\n     UNION ALL \n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM (SELECT NEW.*) r, accounts_membership m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE m.id = r.membership_id AND u.id = m.user_id AND u.is_active\n    ) AS deltas\n    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date\n    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE\n        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count\n;\nRETURN NULL;", hash='88ea016d1b815594ab194f5a793b823256e72cf9', operation='UPDATE', pgid='pgtrigger_tally_request_changed_c5408', table='policies_acknowledgementrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='policyreview',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='77407d67e6f7102bcd80a08431e408f60f22a672', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_19062', table='policies_policyreview', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='quizattempt',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';", hash='e4aedd3104a4d45b7fe489de55bb1ba91479c674', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_8de4a', table='policies_quizattempt', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='talliedmembership',
            trigger=pgtrigger.compiler.Trigger(name='tally_membership_changed', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN ((OLD.user_id, OLD.organisation_id, OLD.department, OLD.staff_type, OLD.leaving_date) IS DISTINCT FROM (NEW.user_id, NEW.organisation_id, NEW.department, NEW.staff_type, NEW.leaving_date))', func="\n    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)\n    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (\n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               -1 AS total, -1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM policies_acknowledgementrequest r, (SELECT OLD.*) m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE r.membership_id = OLD.id AND u.id = OLD.user_id AND u.is_active\n     UNION ALL \n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               1 AS total, 1 * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM policies_acknowledgementrequest r, (SELECT NEW.*) m, accounts_user u,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE r.membership_id = NEW.id AND u.id = NEW.user_id AND u.is_active\n    ) AS deltas\n    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date\n    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE\n        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count\n;\nRETURN NULL;", hash='dae4fd7646ad6226ac33f9bac02b156ab72b26cd', operation='UPDATE', pgid='pgtrigger_tally_membership_changed_4e20c', table='accounts_membership', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='tallieduser',
            trigger=pgtrigger.compiler.Trigger(name='tally_user_changed', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)', func="\n    INSERT INTO policies_acknowledgementtally AS t (version_id, organisation_id, breakdown, name, due_date, leaving_date, asked, acknowledged_count)\n    SELECT version_id, organisation_id, breakdown, name, due_date, leaving_date, sum(total), sum(acknowledged) FROM (\n        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,\n               CASE WHEN NEW.is_active THEN 1 ELSE -1 END AS total, CASE WHEN NEW.is_active THEN 1 ELSE -1 END * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged\n        FROM policies_acknowledgementrequest r, accounts_membership m,\n             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))\n                 AS b (breakdown, name)\n        WHERE m.id = r.membership_id AND m.user_id = NEW.id\n    ) AS deltas\n    GROUP BY version_id, organisation_id, breakdown, name, due_date, leaving_date ORDER BY version_id, organisation_id, breakdown, name, due_date, leaving_date\n    ON CONFLICT (version_id, organisation_id, breakdown, name, due_date, leaving_date) DO UPDATE\n        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count\n;\nRETURN NULL;", hash='6ce6dc133f60af77de824792c304efb5c0c9a194', operation='UPDATE', pgid='pgtrigger_tally_user_changed_ccae2', table='accounts_user', when='AFTER')),
        ),
    ]
