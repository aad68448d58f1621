"""The portal behind PgBouncer in transaction mode (issue 16), through a real PgBouncer (tests/pgbouncer.py).

In transaction mode each transaction may run on a different server connection, shared with
other clients, so nothing may outlive a transaction: Django's server-side cursors are off for a
pooled DATABASE_URL (``?pooled=true``), ``SET LOCAL`` ends with its transaction while a plain
``SET`` would stay on the server connection for the next client, row locks and ``SKIP LOCKED``
claims hold for their transaction, and backups (pg_dump's session settings, its shared snapshot)
go to PostgreSQL directly (DATABASE_DIRECT_URL). The pool has ``POOL_SIZE`` server connections;
more clients than that share them.
"""

import io
import os
import threading
import time

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone
from psycopg2.errors import InvalidCursorName

from accounts.models import User
from core import outbox
from core.models import OutboxMessage
from policyportal.env import env_database
from tests.pgbouncer import POOL_SIZE, orm_through

pytestmark = pytest.mark.django_db(transaction=True)  # every client of the pool sees what is committed

ROWS = 300
CHUNK = 50
CLIENTS = 4 * POOL_SIZE


@pytest.fixture
def pooled(pgbouncer) -> dict:
    """The test database through PgBouncer, as the settings make it of a ``?pooled=true`` URL."""
    return pgbouncer.database(pgbouncer.test_database)


@pytest.fixture
def people() -> list[int]:
    users = User.objects.bulk_create(
        User(email=f"person{n:04d}@school.example", first_name="P", last_name=str(n), password="!") for n in range(ROWS)
    )
    return sorted(user.pk for user in users)


def every_server(pgbouncer, sql: str) -> list[tuple]:
    """``sql`` on every server connection of the pool: one client each, all in a transaction at
    once, so that together they hold every server connection there is (at most POOL_SIZE)."""
    clients = [pgbouncer.connect(pgbouncer.test_database) for _ in range(POOL_SIZE)]
    try:
        rows = []
        for client in clients:
            client.autocommit = False  # BEGIN before the first statement: the server stays this client's
            with client.cursor() as cursor:
                cursor.execute(f"SELECT pg_backend_pid(), ({sql})")
                rows.append(cursor.fetchone())
        return rows
    finally:
        for client in clients:
            client.rollback()
            client.close()


def held_server_with_the_iterators_cursor(pgbouncer):
    """Another client, in a transaction on the server connection the iterator last used (PgBouncer
    gives out the last released one first, ``server_round_robin = 0``): the iterator's next
    statement must go to another one."""
    holder = pgbouncer.connect(pgbouncer.test_database)
    holder.autocommit = False
    with holder.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '\\_django\\_curs\\_%%'")
        (cursors,) = cursor.fetchone()
    return holder, cursors


# Server-side cursors
# ------------------------------------------------------------------------------
def test_an_iterator_over_many_rows_works_through_the_pooler_with_server_side_cursors_off(pgbouncer, pooled, people):
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    with orm_through(pooled):
        rows = User.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
        first = next(rows)
        holder, cursors = held_server_with_the_iterators_cursor(pgbouncer)
        try:
            assert cursors == 0  # the rows came in one result, with no cursor left on the server
            assert [first, *rows] == people
        finally:
            holder.rollback()
            holder.close()


def test_with_server_side_cursors_on_the_same_iterator_loses_its_cursor(pgbouncer, people):
    """Why they are off: Django declares a WITH HOLD cursor in one transaction and fetches each
    chunk in the next, which PgBouncer may give to another server connection."""
    with orm_through(pgbouncer.database(pgbouncer.test_database, server_side_cursors=True)) as wrapper:
        rows = User.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
        assert next(rows) == people[0]  # DECLARE and the first FETCH, on one server connection
        holder, cursors = held_server_with_the_iterators_cursor(pgbouncer)
        try:
            assert cursors == 1  # the holder has the iterator's server connection, cursor and all
            # Django's error for the FETCH, or psycopg2's for the CLOSE after it, which it meets first.
            with pytest.raises(
                (ProgrammingError, InvalidCursorName), match=r'cursor "_django_curs_\w+" does not exist'
            ):
                list(rows)  # the rest of the first chunk, then a FETCH on another server connection
        finally:
            with holder.cursor() as cursor:
                cursor.execute("CLOSE ALL")  # leave no cursor on a server connection of the pool
            holder.commit()
            holder.close()
            wrapper.close()


# More clients than server connections
# ------------------------------------------------------------------------------
def test_more_clients_than_the_pool_holds_all_get_their_transactions(pgbouncer, pooled):
    ready = threading.Barrier(CLIENTS + 1)
    pids, errors = [], []

    def client(n: int) -> None:
        try:
            with orm_through(pooled):
                connection.ensure_connection()  # every client connected before any transaction starts
                ready.wait(timeout=30)
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.2)")
                    pids.append(cursor.fetchone()[0])
                    User.objects.create(email=f"client{n:02d}@school.example", password="!")
        except BaseException as exc:  # noqa: BLE001 - reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=30)
    waiting = active = 0
    while any(thread.is_alive() for thread in threads):
        (pool,) = [row for row in pgbouncer.show("POOLS") if row["database"] == pgbouncer.test_database]
        waiting, active = max(waiting, pool["cl_waiting"]), max(active, pool["sv_active"])
        time.sleep(0.02)
    for thread in threads:
        thread.join()

    assert errors == []
    assert User.objects.filter(email__startswith="client").count() == CLIENTS
    assert len(set(pids)) <= POOL_SIZE  # twelve clients, three server connections
    assert active <= POOL_SIZE and waiting >= 1  # some clients waited for a server connection, none failed


# Session state
# ------------------------------------------------------------------------------
def test_set_local_and_the_outbox_mark_end_with_their_transaction(pgbouncer, pooled):
    row = OutboxMessage.objects.create(
        key="k", topic="t", recipient="a@school.example", template="x", subject="s", text="t"
    )
    with orm_through(pooled):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '4321ms'")
            cursor.execute("SELECT current_setting('statement_timeout')")
            assert cursor.fetchone()[0] == "4321ms"
        outbox._mark_sent(row)  # BEGIN; SET LOCAL synchronous_commit TO OFF; UPDATE ...; COMMIT
    row.refresh_from_db()
    assert row.sent_at is not None
    settings_left = every_server(
        pgbouncer, "current_setting('statement_timeout') || ' ' || current_setting('synchronous_commit')"
    )
    assert {value for _, value in settings_left} == {"0 on"}


def test_a_plain_set_would_stay_on_the_server_connection_for_the_next_client(pgbouncer):
    """Why the portal has none: in transaction mode a SET without LOCAL outlives its client's turn."""
    client = pgbouncer.connect(pgbouncer.test_database)
    try:
        with client.cursor() as cursor:
            cursor.execute("SET statement_timeout = '4321ms'")
        client.close()
        left = [value for _, value in every_server(pgbouncer, "current_setting('statement_timeout')")]
        assert left.count("4321ms") == 1  # a server connection other clients get now carries it
    finally:
        client.close()
        pgbouncer.command(f"RECONNECT {pgbouncer.test_database}")  # new server connections, once released


def test_the_time_zone_django_sets_on_connecting_stays_with_its_client(pgbouncer, pooled):
    """Django sets the session's time zone to UTC as it connects, unless the server's already is.
    PgBouncer keeps TimeZone per client (one of the few settings it tracks), so the portal sees UTC
    on whichever server connection it gets, and other clients keep their own."""
    with orm_through(pooled):
        for _ in range(3):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('TimeZone')")
                assert cursor.fetchone()[0] == "UTC"
        others = every_server(
            pgbouncer, "SELECT current_setting('TimeZone') = reset_val FROM pg_settings WHERE name = 'TimeZone'"
        )
    assert {same for _, same in others} == {True}


# Row locks and SKIP LOCKED claims
# ------------------------------------------------------------------------------
def due_messages(count: int) -> None:
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            key=f"pgbouncer|person{n}@school.example",
            topic="pgbouncer",
            recipient=f"person{n}@school.example",
            template="x",
            subject=f"Message {n}",
            text="Hello",
        )
        for n in range(count)
    )


def test_a_claim_skips_rows_another_clients_transaction_holds(pgbouncer, pooled):
    due_messages(20)
    holding, release = threading.Event(), threading.Event()
    held = []

    def first_dispatcher():
        with orm_through(pooled), transaction.atomic():
            held.extend(
                outbox._due(timezone.now()).select_for_update(skip_locked=True).values_list("pk", flat=True)[:10]
            )
            holding.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=first_dispatcher)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        with orm_through(pooled):
            claimed = [row.pk for row in outbox._claim(10)]  # does not wait for the first
    finally:
        release.set()
        thread.join()
    assert len(held) == 10 and len(claimed) == 10
    assert set(held).isdisjoint(claimed)


def test_two_dispatchers_through_the_pooler_send_every_message_once(pgbouncer, pooled):
    due_messages(60)
    start = threading.Barrier(2)
    errors = []

    def dispatcher():
        try:
            with orm_through(pooled):
                start.wait(timeout=30)
                outbox.dispatch(batch_size=5, seconds=30)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    recipients = [message.to[0] for message in mail.outbox]
    assert sorted(recipients) == sorted(f"person{n}@school.example" for n in range(60))


# Backups go around the pooler
# ------------------------------------------------------------------------------
def test_a_backup_goes_to_postgresql_directly_never_through_the_pooler(pgbouncer, pooled, settings, tmp_path):
    """With the portal's database pooled, backup connects to DATABASE_DIRECT_URL: it succeeds while
    PgBouncer refuses every new client of the database (DISABLE), and without a direct URL it is refused."""
    settings.PRIVATE_MEDIA_ROOT = settings.MEDIA_ROOT = tmp_path / "private"
    db = connection.settings_dict
    direct_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    with orm_through(pooled):
        settings.DATABASE_DIRECT = None
        with pytest.raises(CommandError, match=r"goes through PgBouncer .*set DATABASE_DIRECT_URL"):
            call_command("backup", str(tmp_path / "refused"), stdout=io.StringIO())
        assert not (tmp_path / "refused").exists()

        pgbouncer.command(f"DISABLE {pgbouncer.test_database}")
        try:
            # The pooler's own address as the "direct" one is refused now: DISABLE holds.
            settings.DATABASE_DIRECT = direct_database(pgbouncer.url(pgbouncer.test_database, pooled=False))
            with pytest.raises(CommandError, match="is disabled"):
                call_command("backup", str(tmp_path / "through-the-pooler"), stdout=io.StringIO())
            settings.DATABASE_DIRECT = direct_database(direct_url)
            out = io.StringIO()
            call_command("backup", str(tmp_path / "backups"), stdout=out)
        finally:
            pgbouncer.command(f"ENABLE {pgbouncer.test_database}")
    assert "Backup written to" in out.getvalue()
    (folder,) = (tmp_path / "backups").iterdir()
    assert (folder / "database.dump").stat().st_size > 0


def test_a_direct_database_url_is_used_as_it_is_whatever_the_direct_url_names(pgbouncer, settings, tmp_path):
    """A restore run as the owner (DATABASE_URL=$DATABASE_OWNER_URL, direct) stays the owner's:
    DATABASE_DIRECT_URL, here the pooler with the database disabled, counts only beside a pooled URL."""
    settings.PRIVATE_MEDIA_ROOT = settings.MEDIA_ROOT = tmp_path / "private"
    settings.DATABASE_DIRECT = direct_database(pgbouncer.url(pgbouncer.test_database, pooled=False))
    pgbouncer.command(f"DISABLE {pgbouncer.test_database}")
    try:
        call_command("backup", str(tmp_path / "backups"), stdout=io.StringIO())
    finally:
        pgbouncer.command(f"ENABLE {pgbouncer.test_database}")
    assert len(list((tmp_path / "backups").iterdir())) == 1


def direct_database(url: str) -> dict:
    """DATABASE_DIRECT as the settings read it from DATABASE_DIRECT_URL."""
    os.environ["PORTAL_TEST_DIRECT_URL"] = url
    try:
        return env_database("PORTAL_TEST_DIRECT_URL", allow_pooled=False)
    finally:
        del os.environ["PORTAL_TEST_DIRECT_URL"]
