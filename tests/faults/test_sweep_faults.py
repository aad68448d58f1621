"""The acknowledgement sweep loses and repeats no digest when its worker dies or its database
connections drop (issue 11).

A real Celery worker (two pool processes, the production settings) runs the daily duty for a
school of 2,500 staff against the test's database and a redis-server of the test's own, and sends
through a real SMTP server in the test's process, which counts what it accepted by recipient and
Message-ID (one per outbox key). Every due digest must arrive, each once; the one repeat allowed
is the message a dispatcher was sending when it died, accepted by the server before its row was
marked sent (``core.outbox``), so repeats are bounded by the dispatchers interrupted mid-send.

Two waits of production are shortened, not skipped: tasks a dead worker held come back after the
broker's visibility timeout (an hour; ``RedisServer.let_the_visibility_timeout_pass``), and rows a
dead dispatcher held go again once their lease ends (``outbox.LEASE``; the test's own dispatcher
sends them with the clock moved on). The worker itself runs in real time: the test polls it.
"""

import datetime as dt
import os
import signal
import sqlite3
import time
from collections import Counter

import psycopg2
import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Role, RoleGrant, User, today
from core import outbox
from core.models import OutboxMessage
from policies import reminders, services
from policies.models import AcknowledgementRequest
from tests.factories import member
from tests.faults.conftest import CeleryWorker, shared_database_url
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db(transaction=True)

STAFF = 2500
POLICIES = ("Social Media Policy", "Acceptable Use Policy", "Staff Code of Conduct")
BATCH_SIZE = 100  # 26 batches: a kill or a dropped connection lands among them
DUTY = "policies.tasks.send_acknowledgement_reminders"
DISPATCHER = "core.tasks.dispatch_outbox"
WORKER = "sweep-fault-worker"  # the worker's application_name in pg_stat_activity (PGAPPNAME)
# For each step of a test: far above what one takes here (the whole sweep, 2,500 digests written
# and sent through SMTP, in 25-45 s on two busy cores), and still seconds, where a batch left
# to the next daily duty waits a day.
DELIVERED_WITHIN_SECONDS = 90


@pytest.fixture
def due(school) -> dict[int, str]:
    """2,500 staff asked to acknowledge three policies today, so each is due one digest listing
    all three; returns each due person's id and address."""
    owner = member(school, Role.POLICY_OWNER, email="owner@school.example")
    users = User.objects.bulk_create(
        User(email=f"person{n:04d}@school.example", first_name=f"P{n}", last_name="Staff", password="!")
        for n in range(STAFF)
    )
    memberships = Membership.objects.bulk_create(Membership(user=user, organisation=school) for user in users)
    RoleGrant.objects.bulk_create(RoleGrant(membership=membership, role=Role.STAFF) for membership in memberships)
    for title in POLICIES:
        publish(services.create_policy(organisation=school, actor=owner, title=title, owner=owner), owner)
    people = [user_id for batch in reminders.people_batches(today()) for user_id in batch]
    assert len(people) == STAFF + 1
    return dict(User.objects.filter(pk__in=people).values_list("pk", "email"))


@pytest.fixture
def sweep_worker(transactional_db, redis_server, mail_server, var_dir):
    worker = CeleryWorker(
        redis_url=redis_server.url,
        var_dir=var_dir,
        concurrency=2,
        env={**mail_server.env(), "PGAPPNAME": WORKER},
    )
    worker.start()
    yield worker
    worker.kill()


def digests():
    return OutboxMessage.objects.filter(topic__startswith="policies.digest:")


def to_send(rows, held: dict):
    """Unsent rows but those the dead dispatchers ``held``."""
    return rows.filter(sent_at=None).exclude(pk__in=held)


def held_by_the_dead() -> dict[int, dt.datetime]:
    """Rows claimed and not marked sent, with the end of their claim's lease, once the worker is
    dead: its dispatchers' batches (each claim has its own lease end), left to the lease."""
    return dict(
        OutboxMessage.objects.filter(sent_at=None, claimed_until__gt=timezone.now()).values_list("pk", "claimed_until")
    )


def wait_until(condition, what: str, worker: CeleryWorker, seconds: float = DELIVERED_WITHIN_SECONDS) -> float:
    """Poll a condition on the worker's progress; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"after {seconds} s, still not {what}\n{worker.log()[-4000:]}")
        time.sleep(0.05)
    return time.monotonic() - started


def settle(rows, worker: CeleryWorker, quiet_seconds: float = 1.5) -> None:
    """Wait until live dispatchers have sent all they can: nothing unclaimed is left, and for
    ``quiet_seconds`` nothing more is marked sent (a live dispatcher's batch shrinks as it sends;
    a dead one's stays as it was)."""
    unsent = rows.filter(sent_at=None)
    wait_until(lambda: not unsent.filter(claimed_until=None).exists(), "all claimed", worker)
    last, since = unsent.count(), time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        time.sleep(0.1)
        if (now := unsent.count()) != last:
            last, since = now, time.monotonic()


def send_what_the_dead_held(mail_server, settings, time_machine) -> int:
    """The next dispatcher after the lease ends: the test's own, sending to the same server."""
    mail_server.use_in_this_process(settings)
    time_machine.move_to(timezone.now() + outbox.LEASE + dt.timedelta(seconds=1), tick=True)
    return outbox.dispatch()["sent"]


def assert_each_received_once(rows, mail_server, *, repeats_allowed: int) -> int:
    """Every row sent and received, nothing else received; returns the repeats (at most ``repeats_allowed``)."""
    rows = list(rows)
    assert all(row.sent_at for row in rows) and not any(row.failed_at for row in rows)
    received = Counter(mail_server.received)
    assert set(received) == {(row.recipient, outbox.message_id(row)) for row in rows}
    repeats = sum(received.values()) - len(received)
    assert repeats <= repeats_allowed, f"{repeats} repeats, {repeats_allowed} allowed: {received.most_common(5)}"
    return repeats


def assert_one_digest_each(due: dict[int, str]) -> None:
    on = today().isoformat()
    rows = list(digests().values_list("topic", "recipient"))
    assert sorted(rows) == sorted((f"policies.digest:{user_id}:{on}", email) for user_id, email in due.items())
    assert not AcknowledgementRequest.objects.filter(next_reminder_on__lte=today()).exists()  # all moved on


def retries(worker: CeleryWorker, task: str) -> int:
    return sum(1 for line in worker.log().splitlines() if f"{task}[" in line and " retry: Retry in " in line)


def report(figures: dict) -> None:
    print("\n" + ", ".join(f"{name} {value}" for name, value in figures.items()))


# The worker killed
# ------------------------------------------------------------------------------


def test_a_worker_killed_mid_sweep_and_restarted_sends_every_digest_once(
    due, sweep_worker, redis_server, mail_server, settings, time_machine
):
    """Killed twice: while batches write digests, then while dispatchers send them."""
    started = time.monotonic()
    sweep_worker.queue(DUTY, batch_size=BATCH_SIZE)
    held, kills = {}, []
    for moment, reached in (
        ("writing", lambda: digests().count() >= len(due) // 3),
        ("sending", lambda: digests().exclude(sent_at=None).count() >= len(due) // 3),
    ):
        wait_until(reached, f"a third {moment}", sweep_worker)
        sweep_worker.kill()  # SIGKILL of the worker and both pool processes: nothing is acknowledged
        held |= held_by_the_dead()
        kills.append(
            {
                "written": digests().count(),
                "sent": digests().exclude(sent_at=None).count(),
                "tasks held": redis_server.let_the_visibility_timeout_pass(),  # they come back
            }
        )
        sweep_worker.start()
    assert kills[0]["written"] < len(due), "the sweep ended before the kill"
    wait_until(
        lambda: digests().count() == len(due) and not to_send(digests(), held).exists(),
        "every digest written and sent, but those the dead held",
        sweep_worker,
    )
    seconds = round(time.monotonic() - started, 1)
    sweep_worker.stop()
    left_to_the_lease = digests().filter(sent_at=None).count()
    assert send_what_the_dead_held(mail_server, settings, time_machine) == left_to_the_lease

    assert_one_digest_each(due)
    killed_dispatchers = len(set(held.values()))  # those that died holding a batch
    repeats = assert_each_received_once(digests(), mail_server, repeats_allowed=killed_dispatchers)
    report(
        {
            "digests": len(due),
            "at each kill": kills,
            "dispatchers killed holding a batch": killed_dispatchers,
            "rows left to the lease": left_to_the_lease,
            "repeats": repeats,
            "seconds to all sent but those": seconds,
        }
    )


def test_dispatchers_killed_mid_send_repeat_at_most_the_message_each_was_sending(
    school, sweep_worker, mail_server, settings, time_machine
):
    """Pool processes SIGKILLed one after another while two dispatchers send; the worker replaces
    each and, acks being late, runs its dispatcher again at once (REJECT_ON_WORKER_LOST)."""
    messages, kills = 2000, 8
    outbox.send(
        "approvals/notice",
        to=[f"person{n:04d}@school.example" for n in range(messages)],
        context={"subject": "A notice", "lines": ["Something happened."], "path": "/"},
        topic="faults:notice",
    )
    rows = OutboxMessage.objects.filter(topic="faults:notice")
    sweep_worker.queue(DISPATCHER)
    sweep_worker.queue(DISPATCHER)
    for killed in range(kills):
        # One kill each time another tenth is taken (sent, or claimed by a dispatcher: the rows a
        # killed one held wait for the lease and cannot count), however fast the machine sends.
        taken = (killed + 1) * messages // 10
        wait_until(
            lambda taken=taken: (
                rows.filter(Q(sent_at__isnull=False) | Q(claimed_until__gt=timezone.now())).count() >= taken
            ),
            f"{taken} taken",
            sweep_worker,
        )
        wait_until(
            lambda: len(sweep_worker.pool_processes()) == sweep_worker.concurrency, "the pool replaced", sweep_worker
        )
        os.kill(sweep_worker.pool_processes()[killed % sweep_worker.concurrency], signal.SIGKILL)
    assert rows.filter(sent_at=None).exists(), "everything was sent before the last kill"
    settle(rows, sweep_worker)
    held = held_by_the_dead()
    sweep_worker.stop()
    assert send_what_the_dead_held(mail_server, settings, time_machine) == len(held)

    repeats = assert_each_received_once(rows, mail_server, repeats_allowed=kills)
    assert sweep_worker.log().count("WorkerLostError") >= kills
    report(
        {
            "messages": messages,
            "pool processes killed": kills,
            "killed holding a batch": len(set(held.values())),
            "rows left to the lease": len(held),
            "repeats": repeats,
        }
    )


# The database connections dropped
# ------------------------------------------------------------------------------


class PostgresFaults:
    """The worker's connections terminated (pg_terminate_backend).

    ``cut_off`` first holds a lock on the acknowledgement requests, so that exactly the tasks that
    need them (the duty, the batches) are waiting when their connections drop, and dispatchers,
    which never touch that table, go on sending; ``drop_all`` drops every connection of the
    worker, whatever each is doing.
    """

    batch_rounds = (4, 2)  # when a quarter, then half the digests are written
    can_drop_anywhere = True

    def __init__(self):
        self.dropped = 0

    def worker_backends(self, *, waiting_for_a_lock: bool = False) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = %s" + (" AND wait_event_type = 'Lock'" if waiting_for_a_lock else ""),
                [WORKER],
            )
            return [pid for (pid,) in cursor.fetchall()]

    def terminate(self, pids: list[int]) -> int:
        if not pids:  # the worker may hold no connection at that instant (between tasks)
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest(%s::int[]) AS pid", [pids]
            )
            dropped = cursor.fetchone()[0]
        self.dropped += dropped
        return dropped

    def drop_all(self) -> int:
        deadline = time.monotonic() + 2
        while not (backends := self.worker_backends()) and time.monotonic() < deadline:
            time.sleep(0.02)  # between tasks the worker may hold no connection for a moment
        return self.terminate(backends)

    def cut_off(self, worker: CeleryWorker, start=lambda: None) -> int:
        table = AcknowledgementRequest._meta.db_table
        locker = psycopg2.connect(shared_database_url())
        try:
            with locker.cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
            start()
            wait_until(lambda: self.worker_backends(waiting_for_a_lock=True), f"waiting on {table}", worker)
            time.sleep(0.3)  # the other pool process may be on its way to the same lock
            return self.terminate(self.worker_backends(waiting_for_a_lock=True))
        finally:
            locker.rollback()
            locker.close()


class SQLiteFaults:
    """SQLite has no server whose connections could drop. Its database error of the same kind
    (OperationalError, in the middle of a task) is the file locked for longer than a process
    waits for it: ``cut_off`` holds it that long, so every task of the worker that touches the
    database in that time fails, dispatchers included."""

    batch_rounds = (2,)  # each round takes the busy timeout, 20 s
    can_drop_anywhere = False

    def __init__(self):
        self.dropped = 0

    def cut_off(self, worker: CeleryWorker, start=lambda: None) -> int:
        busy_timeout = connection.settings_dict["OPTIONS"]["timeout"]  # the worker's too (base settings)
        holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # once the transaction in progress, if any, has committed
            start()
            time.sleep(busy_timeout + 2)  # real time: the worker waits on its own clock
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.dropped += worker.concurrency  # at most: one task in each pool process
        return worker.concurrency


@pytest.fixture
def database_faults():
    return PostgresFaults() if connection.vendor == "postgresql" else SQLiteFaults()


def test_batches_whose_database_fails_them_retry_and_send_every_digest_once(
    due, sweep_worker, database_faults, mail_server, settings, time_machine
):
    """The duty, then batches, cut off from the database while they run: each is retried within
    seconds, not left to tomorrow's duty."""
    faults = database_faults
    started = time.monotonic()
    faults.cut_off(sweep_worker, start=lambda: sweep_worker.queue(DUTY, batch_size=BATCH_SIZE))
    for share in faults.batch_rounds:
        wait_until(lambda share=share: digests().count() >= len(due) // share, f"1/{share} written", sweep_worker)
        faults.cut_off(sweep_worker)
    anywhere = 0
    if faults.can_drop_anywhere:
        wait_until(lambda: digests().count() >= len(due) * 3 // 4, "3/4 written", sweep_worker)
        anywhere = faults.drop_all()
    wait_until(lambda: digests().count() == len(due), "every digest written", sweep_worker)
    settle(digests(), sweep_worker)
    seconds = round(time.monotonic() - started, 1)
    held = held_by_the_dead()  # by dispatchers whose connection failed between claim and send
    sweep_worker.stop()
    assert send_what_the_dead_held(mail_server, settings, time_machine) == len(held)

    duty, batches = retries(sweep_worker, DUTY), retries(sweep_worker, "policies.tasks.remind_people")
    assert duty >= 1 and batches >= len(faults.batch_rounds)
    assert_one_digest_each(due)
    # On PostgreSQL only the connections dropped anywhere can have cut a dispatcher off between
    # the server's accept and its commit; on SQLite, any task the lock caught.
    allowed = anywhere if faults.can_drop_anywhere else faults.dropped
    repeats = assert_each_received_once(digests(), mail_server, repeats_allowed=allowed)
    report(
        {
            "digests": len(due),
            "database": connection.vendor,
            "cut off": faults.dropped,
            "retries (duty / batches / dispatcher)": f"{duty} / {batches} / {retries(sweep_worker, DISPATCHER)}",
            "rows left to the lease": len(held),
            "repeats": repeats,
            "seconds to all sent but those": seconds,
        }
    )
