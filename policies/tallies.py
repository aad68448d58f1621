"""The acknowledgement tallies (``AcknowledgementTally``): kept right by PostgreSQL triggers.

Every write that moves a request between tallies is caught in the database, in
the same transaction, whatever made it (a service, a bulk insert, the staff
import, the admin, a ``QuerySet.update``):

- requests inserted (publication, new starters) or deleted: one grouped upsert
  per statement, in key order;
- a request acknowledged, or its version, membership or due date changed;
- a membership's organisation, department, staff type, leaving date or person
  changed;
- a person deactivated or reactivated.

Updates that move nothing (the reminder sweep's stages) do not run a trigger at
all: each row trigger has a ``WHEN`` condition on the columns in the key.

Other databases (the SQLite first look) have no triggers; there the dashboards
count the requests themselves (``kept()`` says which).
"""

from django.db import connection, transaction

from policies.models import AcknowledgementTally

TALLY = AcknowledgementTally._meta.db_table
KEY = "version_id, organisation_id, department, staff_type, due_date, leaving_date"

# Rows of (key..., total, acknowledged) deltas from ``{source}``, added into the tallies.
_UPSERT = f"""
    INSERT INTO {TALLY} AS t ({KEY}, asked, acknowledged_count)
    SELECT {KEY}, sum(total), sum(acknowledged) FROM ({{source}}) AS deltas
    GROUP BY {KEY} ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
"""


def _contribution(requests: str, sign: str) -> str:
    """What the rows of ``requests`` (a table, or a row as a subquery) add to the tallies, as a SELECT."""
    return f"""
        SELECT r.version_id, m.organisation_id, m.department, m.staff_type, r.due_date, m.leaving_date,
               {sign} * 1 AS total, {sign} * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM {requests} r
        JOIN accounts_membership m ON m.id = r.membership_id
        JOIN accounts_user u ON u.id = m.user_id
        WHERE u.is_active
    """


def _function(name: str, body: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN
            {body};
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
    """


INSTALL = [
    # Requests inserted or deleted: a statement at a time, from its transition table.
    _function("portal_tally_requests_inserted", _UPSERT.format(source=_contribution("new_rows", "1"))),
    _function("portal_tally_requests_deleted", _UPSERT.format(source=_contribution("old_rows", "-1"))),
    # One request acknowledged, or moved to another version, membership or due date.
    _function(
        "portal_tally_request_changed",
        _UPSERT.format(
            source=_contribution("(SELECT OLD.*) AS", "-1")
            + " UNION ALL "
            + _contribution("(SELECT NEW.*) AS", "1")
        ),
    ),
    # A membership's key columns changed: all of its requests move from the old group to the new.
    _function(
        "portal_tally_membership_changed",
        _UPSERT.format(
            source=f"""
                SELECT r.version_id, o.organisation_id, o.department, o.staff_type, r.due_date, o.leaving_date,
                       -1 AS total, -(r.acknowledgement_id IS NOT NULL)::int AS acknowledged
                FROM policies_acknowledgementrequest r, (SELECT OLD.*) AS o, accounts_user u
                WHERE r.membership_id = OLD.id AND u.id = OLD.user_id AND u.is_active
                UNION ALL
                SELECT r.version_id, n.organisation_id, n.department, n.staff_type, r.due_date, n.leaving_date,
                       1, (r.acknowledgement_id IS NOT NULL)::int
                FROM policies_acknowledgementrequest r, (SELECT NEW.*) AS n, accounts_user u
                WHERE r.membership_id = NEW.id AND u.id = NEW.user_id AND u.is_active
            """
        ),
    ),
    # A person deactivated (their requests leave the figures) or reactivated (they come back).
    _function(
        "portal_tally_user_changed",
        _UPSERT.format(
            source=f"""
                SELECT r.version_id, m.organisation_id, m.department, m.staff_type, r.due_date, m.leaving_date,
                       CASE WHEN NEW.is_active THEN 1 ELSE -1 END AS total,
                       CASE WHEN NEW.is_active THEN 1 ELSE -1 END * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
                FROM policies_acknowledgementrequest r JOIN accounts_membership m ON m.id = r.membership_id
                WHERE m.user_id = NEW.id
            """
        ),
    ),
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

# Every tally, counted afresh from the requests.
_LIVE = f"""
    SELECT {KEY}, sum(total) AS total, sum(acknowledged) AS acknowledged
    FROM ({_contribution("policies_acknowledgementrequest", "1")}) AS rows
    GROUP BY {KEY}
"""


def kept(using=None) -> bool:
    """True where the triggers keep the tallies (PostgreSQL)."""
    return (connection if using is None else using).vendor == "postgresql"


def install(cursor) -> None:
    for statement in INSTALL:
        cursor.execute(statement)


def uninstall(cursor) -> None:
    cursor.execute(UNINSTALL)


def rebuild(cursor=None) -> int:
    """Count every tally afresh (after a bulk load with triggers off, or a repair). Returns the rows."""
    if cursor is None:
        with transaction.atomic(), connection.cursor() as cursor:
            return rebuild(cursor)
    # Stop writers moving requests while the counts are taken.
    cursor.execute(f"LOCK TABLE {TALLY} IN EXCLUSIVE MODE")
    cursor.execute(f"DELETE FROM {TALLY}")
    cursor.execute(f"INSERT INTO {TALLY} ({KEY}, asked, acknowledged_count) {_LIVE} ORDER BY {KEY}")
    return cursor.rowcount


def differences() -> list[tuple]:
    """Where the tallies differ from a fresh count: ("kept", key..., total, acknowledged) rows that
    the count lacks and ("counted", ...) rows that the tallies lack. Empty when they agree; a group
    that has come to nothing compares as absent."""
    kept_rows = f"SELECT {KEY}, asked, acknowledged_count FROM {TALLY} WHERE asked <> 0 OR acknowledged_count <> 0"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            (SELECT 'kept', * FROM ({kept_rows} EXCEPT {_LIVE}) AS extra)
            UNION ALL
            (SELECT 'counted', * FROM ({_LIVE} EXCEPT {kept_rows}) AS missing)
            ORDER BY 2, 3, 4, 5, 6, 1
            """
        )
        return cursor.fetchall()
