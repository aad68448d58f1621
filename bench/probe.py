"""The in-process measurements of a run, each in a fresh interpreter started by ``run.py``.

    probe.py prepare --load-users N   sessions for the pages' viewers and the load's users
    probe.py queries                  queries per page (the test client, counted)
    probe.py sweep [--reset] [--workers]
                                      one acknowledgement reminder sweep: time, queries, emails, memory;
                                      in this process, or queued to the running Celery worker
    probe.py check --since ISO        acknowledgements made by the load: duplicates and strays

Each prints one JSON object as its last line.
"""

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DOMAIN = "bench.example"
CSRF_TOKEN = "benchcsrftoken0123456789abcdefAB"  # a 32-character secret, sent as cookie and field


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def viewers() -> dict:
    """Who opens which page: the same people and pages at every size."""
    from accounts.models import Membership
    from approvals.models import OfficialAccount

    trust_lead = f"trust.lead@{DOMAIN}"
    school_members = Membership.objects.current().filter(organisation__slug="school-001").select_related("user")
    school_leader = school_members.filter(role_grants__role="lead").order_by("user__email").first().user.email
    # A member of staff: the school's last person still in post, with no role but "staff" where the school has one.
    plain = [m for m in school_members.prefetch_related("role_grants").order_by("-user__email") if m.roles == {"staff"}]
    staff = (plain[0] if plain else school_members.order_by("-user__email").first()).user.email
    # The trust's DSL: a designated safeguarding lead for every school of the trust, holding that role
    # alone at every size (a small school's own DSL also holds its other roles).
    dsl = f"trust.dsl@{DOMAIN}"
    account = OfficialAccount.objects.filter(status="active").order_by("pk").select_related("lead").first()
    return {
        "viewers": {
            "trust_lead": trust_lead,
            "school_leader": school_leader,
            "staff": staff,
            "dsl": dsl,
            "account_admin": account.lead.email,
        },
        "pages": [
            # name, viewer, path
            ("bare page (floor)", "staff", "/bench/"),
            # The same floor for the trust's lead: working out what a person may do in a hundred
            # organisations is part of every page they open.
            ("bare page (trust lead)", "trust_lead", "/bench/"),
            ("compliance: trust", "trust_lead", "/organisations/bench-trust/compliance/"),
            ("compliance: one school", "school_leader", "/organisations/school-001/compliance/"),
            ("my policies", "staff", "/policies/"),
            ("incidents dashboard", "trust_lead", "/organisations/bench-trust/incidents/dashboard/"),
            ("account register", "trust_lead", "/organisations/bench-trust/accounts/"),
            ("response log", "account_admin", f"/approvals/accounts/{account.pk}/log/"),
            ("home: staff", "staff", "/"),
            ("home: school lead", "school_leader", "/"),
            ("home: trust lead", "trust_lead", "/"),
            ("home: DSL", "dsl", "/"),
            ("incidents: one school (DSL)", "dsl", "/organisations/school-001/incidents/"),
        ],
    }


def mint_sessions(users) -> dict:
    """Signed-in sessions written straight to the session table (sign-in itself is not measured)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    keys, rows = {}, []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        keys[user.pk] = key
    Session.objects.bulk_create(rows, batch_size=2000)
    return keys


def prepare(load_users: int) -> dict:

    from accounts.models import User
    from policies.models import AcknowledgementRequest

    shape = viewers()
    by_email = {u.email: u for u in User.objects.filter(email__in=shape["viewers"].values())}
    page_users = {name: by_email[email] for name, email in shape["viewers"].items()}
    # The load's people: staff with no other role, in post, with acknowledgements outstanding.
    open_requests = (
        AcknowledgementRequest.objects.current()
        .counting()
        .outstanding()
        .filter(membership__role_grants__role="staff")
        .exclude(
            membership__role_grants__role__in=[
                "lead",
                "slt",
                "dsl",
                "deputy_dsl",
                "admin",
                "line_manager",
                "policy_owner",
                "online_safety",
            ]
        )
        .exclude(user__email__in=shape["viewers"].values())
        .order_by("user_id", "version_id")
        .values_list("user_id", "version_id")
    )
    versions: dict[int, list[int]] = {}
    for user_id, version_id in open_requests.iterator(chunk_size=5000):
        if user_id not in versions and len(versions) >= load_users:
            break
        versions.setdefault(user_id, []).append(version_id)
    users = list(User.objects.filter(pk__in=versions)) + list(page_users.values())
    keys = mint_sessions(users)
    return {
        "csrf": CSRF_TOKEN,
        "pages": [(name, keys[page_users[viewer].pk], path) for name, viewer, path in shape["pages"]],
        "load": [{"session": keys[user_id], "versions": v} for user_id, v in versions.items()],
    }


def queries() -> dict:
    """Queries each page makes, counted on its second request (the first fills per-process caches),
    and the median time of ten more, in this process: the same measure at every size."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    shape = viewers()
    result, medians = {}, {}
    for name, viewer, path in shape["pages"]:
        client = Client()
        client.force_login(User.objects.get(email=shape["viewers"][viewer]))
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {response.status_code}")
        result[name] = len(captured)
        times = []
        for _ in range(10):
            started = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - started)
        medians[name] = round(sorted(times)[5] * 1000, 1)
    return {"queries": result, "median_ms": medians, "viewers": {name: viewer for name, viewer, _ in shape["pages"]}}


def reset_reminders() -> None:
    """A reused database: every open request due a reminder again, as when it was built."""
    from django.utils import timezone

    from core.models import OutboxMessage
    from policies.models import AcknowledgementRequest

    AcknowledgementRequest.objects.filter(acknowledgement__isnull=True).update(
        reminder_stage=0, next_reminder_on=timezone.localdate(), manager_told_at=None
    )
    OutboxMessage.objects.all().delete()  # today's digests again, not "already written"
    vacuum(AcknowledgementRequest._meta.db_table)
    vacuum(OutboxMessage._meta.db_table)


def vacuum(table: str) -> None:
    """What autovacuum does after a mass update, done now (``table`` empty: every table): the next
    phase meets the tables as a day's work leaves them, not with a dead copy of every row updated."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    raw = connection.connection
    autocommit, raw.autocommit = raw.autocommit, True
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}".strip())
    finally:
        raw.autocommit = autocommit


def sweep(reset: bool) -> dict:
    """The sweep in this process (``policies.reminders.send_acknowledgement_reminders``)."""
    from django.db import connection

    from bench.mail import CountingBackend
    from policies.models import AcknowledgementRequest
    from policies.reminders import send_acknowledgement_reminders

    if reset:
        reset_reminders()
    outstanding = AcknowledgementRequest.objects.outstanding().count()
    baseline = rss_mb()
    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    from core import outbox

    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        sent = send_acknowledgement_reminders()
        written = time.perf_counter()
        while outbox.dispatch()["more"]:
            pass
    drained = time.perf_counter()
    return {
        "mode": "in one process",
        "outstanding": outstanding,
        "seconds": round(drained - started, 2),
        "written_seconds": round(written - started, 2),
        "send_rate_per_second": round(CountingBackend.sent / (drained - written), 1) if drained > written else None,
        "backlog_after": outbox.backlog()["unsent"],
        "queries": count[0],
        "emails": CountingBackend.sent,
        "digests": sent["staff"] + sent["managers"],
        "baseline_rss_mb": baseline,
        "peak_rss_mb": rss_mb(),
    }


def broker_idle() -> bool:
    """No task waiting in the worker's queue and none delivered but unfinished (Redis)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)
    try:
        return client.llen("celery") == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


def sweep_through_workers(reset: bool, timeout: float = 1800) -> dict:
    """The daily duty queued as beat queues it, run by the Celery worker ``run.py`` started
    (``bench/worker.py``); timed from queuing until every task it queued has finished."""
    from bench.worker import STATS_DIR
    from policies.models import AcknowledgementRequest
    from policies.tasks import send_acknowledgement_reminders

    if reset:
        reset_reminders()
    outstanding = AcknowledgementRequest.objects.outstanding().count()
    from core import outbox

    keys = ("tasks", "duties", "queued", "batches", "dispatches", "queries", "emails", "digests", "failed")

    def read() -> tuple[dict, list]:
        """The worker processes' counters so far (each process counts from its start)."""
        figures = []
        for path in STATS_DIR.glob("*.json"):
            try:
                figures.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                pass  # being replaced: read it next time
        return {key: sum(f[key] for f in figures) for key in keys}, figures

    before, _ = read()
    started = time.perf_counter()
    send_acknowledgement_reminders.delay()
    totals: dict = {}
    written = None
    peak_backlog = 0
    while time.perf_counter() - started < timeout:
        now, figures = read()
        totals = {key: now[key] - before[key] for key in keys}
        # The unsent rows alone, from their own index: the watch must not load the database it
        # measures (the full backlog reads every failed row, too).
        backlog = outbox.unsent()
        peak_backlog = max(peak_backlog, backlog)
        # Written when the duty has queued its batches and every one of them has run; done when
        # the outbox has sent every message they wrote.
        # A duty published twice (a publish retried after a reply slower than REDIS_TIMEOUT_MS, on a
        # loaded machine) queues its batches again, and those claim nothing: the broker holding no
        # task, delivered or waiting, says the same without counting on one duty.
        if written is None and totals["duties"] and (totals["batches"] >= totals["queued"] or broker_idle()):
            written = time.perf_counter()
        if written is not None and backlog == 0:
            drained = time.perf_counter()
            return {
                "mode": f"through {len(figures)} worker processes",
                "outstanding": outstanding,
                "seconds": round(drained - started, 2),
                "written_seconds": round(written - started, 2),
                "send_rate_per_second": round(totals["emails"] / (drained - started), 1),
                "peak_backlog": peak_backlog,
                "backlog_after": backlog,
                "dispatches": totals["dispatches"],
                "duties": totals["duties"],
                "tasks": totals["tasks"],
                "failed_tasks": totals["failed"],
                "queries": totals["queries"],
                "emails": totals["emails"],
                "digests": totals["digests"],
                "baseline_rss_mb": None,
                "peak_rss_mb": max(f["peak_rss_mb"] for f in figures),
                "cpu_seconds": round(sum(f.get("cpu_seconds", 0) for f in figures), 1),
            }
        time.sleep(0.05)
    raise SystemExit(f"the sweep's tasks did not finish within {timeout:.0f} s: {totals}")


def vacuum_all() -> dict:
    """VACUUM ANALYZE the database, as autovacuum would after the morning's sweep (the figures
    say whether this server runs autovacuum at all)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"vacuumed": False}
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    started = time.perf_counter()
    vacuum("")
    return {"vacuumed": True, "seconds": round(time.perf_counter() - started, 1), "server_autovacuum": autovacuum}


def check(since: str) -> dict:
    """The load's acknowledgements: none twice for one person and version, each answering its request."""
    from django.db.models import Count

    from policies.models import Acknowledgement, AcknowledgementRequest

    made = Acknowledgement.objects.filter(acknowledged_at__gte=dt.datetime.fromisoformat(since))
    duplicates = Acknowledgement.objects.values("user_id", "version_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    linked = AcknowledgementRequest.objects.filter(acknowledgement__in=made).count()
    return {"acknowledgements": made.count(), "duplicates": duplicates, "not_linked_to_request": made.count() - linked}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["prepare", "queries", "sweep", "check", "vacuum"])
    parser.add_argument("--load-users", type=int, default=2000)
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--workers", action="store_true", help="sweep: through the running Celery worker")
    parser.add_argument("--since", default="")
    args = parser.parse_args()
    setup_django()
    if args.command == "prepare":
        result = prepare(args.load_users)
    elif args.command == "queries":
        result = queries()
    elif args.command == "sweep":
        result = sweep_through_workers(args.reset) if args.workers else sweep(args.reset)
    elif args.command == "vacuum":
        result = vacuum_all()
    else:
        result = check(args.since)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
