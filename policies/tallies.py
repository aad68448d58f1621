"""The acknowledgement tallies (``AcknowledgementTally``): kept right by PostgreSQL triggers.

Every write that moves a request between tallies is caught in the database, in
the same transaction, whatever made it (a service, a bulk insert, the staff
import, the admin, a ``QuerySet.update``):

- requests inserted (publication, new starters) or deleted: one grouped upsert
  per statement, from its transition table, in key order;
- a request acknowledged, or its version, membership or due date changed;
- a membership's organisation, department, staff type, leaving date or person
  changed;
- a person deactivated or reactivated.

Updates that move nothing (the reminder sweep's stages) do not run a trigger at
all: each row trigger has a ``WHEN`` condition on the columns in the key.

Where the triggers are declared: here, as django-pgtrigger triggers, put on the models'
``Meta.triggers`` in ``policies/models.py``. ``makemigrations`` freezes their SQL into a
policies migration, so editing this module changes no applied migration: it makes a new one
(``makemigrations --check`` fails until it is made). The triggers on accounts' tables
(memberships, people) are declared on proxy models in policies (``TalliedMembership``,
``TalliedUser``), as django-pgtrigger's docs advise for another app's models: declared on
accounts' own models (``Meta.triggers`` or ``pgtrigger.register``), their migrations would be
accounts' and would name policies' tables, and accounts is the lower floor, knowing nothing of
policies. A proxy has no table; it only carries the triggers, and the migrations that install
them are policies'.

Other databases (the SQLite first look) have no triggers; there the dashboards
count the requests themselves (``kept()`` says which), the same count line managers'
figures use everywhere.
"""

import pgtrigger
from django.db import connection, transaction

from accounts.models import today

# AcknowledgementTally's table (named here, not read off the model, which is declared after these
# triggers; tests check that they agree).
TALLY = "policies_acknowledgementtally"
KEY = "version_id, organisation_id, breakdown, name, due_date, leaving_date"

# Rows of (key..., total, acknowledged) deltas from ``{source}``, added into the tallies.
_UPSERT = f"""
    INSERT INTO {TALLY} AS t ({KEY}, asked, acknowledged_count)
    SELECT {KEY}, sum(total), sum(acknowledged) FROM ({{source}}) AS deltas
    GROUP BY {KEY} ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE
        SET asked = t.asked + EXCLUDED.asked, acknowledged_count = t.acknowledged_count + EXCLUDED.acknowledged_count
"""


def _contribution(tables: str, sign: str, where: str) -> str:
    """What requests ``r`` of memberships ``m`` of people ``u`` (from ``tables``, where ``where``) add to
    the tallies, as a SELECT: each request counts once in each breakdown."""
    return f"""
        SELECT r.version_id, m.organisation_id, b.breakdown, b.name, r.due_date, m.leaving_date,
               {sign} AS total, {sign} * (r.acknowledgement_id IS NOT NULL)::int AS acknowledged
        FROM {tables},
             LATERAL (VALUES ('organisation', ''), ('department', m.department), ('staff_type', m.staff_type))
                 AS b (breakdown, name)
        WHERE {where}
    """


def _of_requests(requests: str, sign: str) -> str:
    """The contribution of the requests in ``requests`` (a table, or one row as a subquery)."""
    return _contribution(
        f"{requests} r, accounts_membership m, accounts_user u",
        sign,
        "m.id = r.membership_id AND u.id = m.user_id AND u.is_active",
    )


def _of_membership(row: str, sign: str) -> str:
    """The contribution of every request of the membership ``row`` (OLD or NEW)."""
    return _contribution(
        f"policies_acknowledgementrequest r, (SELECT {row}.*) m, accounts_user u",
        sign,
        f"r.membership_id = {row}.id AND u.id = {row}.user_id AND u.is_active",
    )


def _upsert(source: str) -> str:
    """A trigger function's body: the upsert, then RETURN NULL (an AFTER trigger's result is not used)."""
    return _UPSERT.format(source=source) + ";\nRETURN NULL;"


def _after(name: str, operation, func: str, **options) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(name=name, when=pgtrigger.After, operation=operation, func=func, **options)


# On AcknowledgementRequest (policies/models.py).
REQUEST_TRIGGERS = [
    # Requests inserted or deleted: a statement at a time, from its transition table.
    _after(
        "tally_requests_inserted",
        pgtrigger.Insert,
        _upsert(_of_requests("new_rows", "1")),
        level=pgtrigger.Statement,
        referencing=pgtrigger.Referencing(new="new_rows"),
    ),
    _after(
        "tally_requests_deleted",
        pgtrigger.Delete,
        _upsert(_of_requests("old_rows", "-1")),
        level=pgtrigger.Statement,
        referencing=pgtrigger.Referencing(old="old_rows"),
    ),
    # One request acknowledged, or moved to another version, membership or due date.
    _after(
        "tally_request_changed",
        pgtrigger.Update,
        _upsert(_of_requests("(SELECT OLD.*)", "-1") + " UNION ALL " + _of_requests("(SELECT NEW.*)", "1")),
        condition=pgtrigger.Condition(
            "((OLD.version_id, OLD.membership_id, OLD.due_date, OLD.acknowledgement_id IS NULL)"
            " IS DISTINCT FROM (NEW.version_id, NEW.membership_id, NEW.due_date, NEW.acknowledgement_id IS NULL))"
        ),
    ),
]

# On accounts_membership, through the proxy TalliedMembership. A membership's key columns changed:
# all of its requests move from the old groups to the new.
MEMBERSHIP_TRIGGERS = [
    _after(
        "tally_membership_changed",
        pgtrigger.Update,
        _upsert(_of_membership("OLD", "-1") + " UNION ALL " + _of_membership("NEW", "1")),
        condition=pgtrigger.Condition(
            "((OLD.user_id, OLD.organisation_id, OLD.department, OLD.staff_type, OLD.leaving_date)"
            " IS DISTINCT FROM (NEW.user_id, NEW.organisation_id, NEW.department, NEW.staff_type, NEW.leaving_date))"
        ),
    ),
]

# On accounts_user, through the proxy TalliedUser. A person deactivated (their requests leave the
# figures) or reactivated (they come back).
USER_TRIGGERS = [
    _after(
        "tally_user_changed",
        pgtrigger.Update,
        _upsert(
            _contribution(
                "policies_acknowledgementrequest r, accounts_membership m",
                "CASE WHEN NEW.is_active THEN 1 ELSE -1 END",
                "m.id = r.membership_id AND m.user_id = NEW.id",
            )
        ),
        condition=pgtrigger.Condition("(OLD.is_active IS DISTINCT FROM NEW.is_active)"),
    ),
]

# Every tally, counted afresh from the requests.
_LIVE = f"""
    SELECT {KEY}, sum(total) AS total, sum(acknowledged) AS acknowledged
    FROM ({_of_requests("policies_acknowledgementrequest", "1")}) AS rows
    GROUP BY {KEY}
"""


def kept(using=None) -> bool:
    """True where the triggers keep the tallies (PostgreSQL).

    Only a matter of speed: elsewhere the figures are counted from the requests, the path line
    managers' figures take on every database, and the suite checks on PostgreSQL that both give
    the same figures for every breakdown (``tests/policies/test_tallies.py``)."""
    return (connection if using is None else using).vendor == "postgresql"


def rebuild(cursor=None) -> int:
    """Count every tally afresh (after a bulk load with triggers off, or a repair), then fold them.
    Returns the rows counted."""
    if cursor is None:
        with transaction.atomic(), connection.cursor() as cursor:
            return rebuild(cursor)
    # Stop writers moving requests while the counts are taken.
    cursor.execute(f"LOCK TABLE {TALLY} IN EXCLUSIVE MODE")
    cursor.execute(f"DELETE FROM {TALLY}")
    cursor.execute(f"INSERT INTO {TALLY} ({KEY}, asked, acknowledged_count) {_LIVE} ORDER BY {KEY}")
    counted = cursor.rowcount
    fold(cursor)
    return counted


# Every past due date means the same ("overdue"), so past-due groups fold into one row dated this.
FOLDED_DUE_DATE = "1970-01-01"


def fold(cursor=None, on=None) -> dict:
    """Keep the tallies few as the days pass; a daily duty. Figures for ``on`` or later do not change.

    - Groups of people who have left (leaving date before ``on``) never count again, whatever
      changes later (a corrected leaving date moves their requests by trigger into a group of its
      own), so their rows go.
    - Groups whose due date has passed differ only in that date: they fold into one row per group
      with ``FOLDED_DUE_DATE``.
    - Groups that have come to nothing go.
    """
    if cursor is None:
        with transaction.atomic(), connection.cursor() as cursor:
            return fold(cursor, on)
    on = on or today()
    cursor.execute(f"DELETE FROM {TALLY} WHERE leaving_date < %s OR (asked = 0 AND acknowledged_count = 0)", [on])
    left = cursor.rowcount
    cursor.execute(
        f"WITH past_due AS (DELETE FROM {TALLY} WHERE due_date < %s AND due_date <> DATE '{FOLDED_DUE_DATE}' RETURNING *)"
        + _UPSERT.format(
            source=f"""
                SELECT version_id, organisation_id, breakdown, name, DATE '{FOLDED_DUE_DATE}' AS due_date, leaving_date,
                       asked AS total, acknowledged_count AS acknowledged
                FROM past_due
            """
        ),
        [on],
    )
    return {"removed": left, "folded": cursor.rowcount}


def differences(on=None) -> list[tuple]:
    """Where the tallies differ from a fresh count, for the figures of ``on`` (today): ("kept", key...,
    total, acknowledged) rows that the count lacks and ("counted", ...) rows that the tallies lack.
    Empty when they agree. Both sides are compared as the figures read them: people who have left
    leave out, past due dates count as one, groups that have come to nothing are absent."""
    on = on or today()
    key = KEY.replace("due_date", f"CASE WHEN due_date < %(on)s THEN DATE '{FOLDED_DUE_DATE}' ELSE due_date END")

    def normalised(rows: str) -> str:
        return f"""
            SELECT {key}, sum(total), sum(acknowledged) FROM ({rows}) AS r
            WHERE leaving_date IS NULL OR leaving_date >= %(on)s
            GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(total) <> 0 OR sum(acknowledged) <> 0
        """

    kept_rows = normalised(f"SELECT {KEY}, asked AS total, acknowledged_count AS acknowledged FROM {TALLY}")
    live_rows = normalised(_LIVE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            (SELECT 'kept', * FROM ({kept_rows} EXCEPT {live_rows}) AS extra)
            UNION ALL
            (SELECT 'counted', * FROM ({live_rows} EXCEPT {kept_rows}) AS missing)
            ORDER BY 2, 3, 4, 5, 6, 1
            """,
            {"on": on},
        )
        return cursor.fetchall()
