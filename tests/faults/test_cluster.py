"""The portal as a cluster on one machine (issue 16): two gunicorn nodes on different loopback
ports, each with a VAR_DIR of its own (nothing is shared through a node's disk), sharing
PostgreSQL, Redis and the object store (a real S3 server, SeaweedFS: tests/s3server.py); and two
Celery workers in separate processes sharing the daily sweep. Every node and worker reaches
PostgreSQL through a real PgBouncer in transaction mode, with fewer server connections than they
are (tests/pgbouncer.py), and through nothing else.

- A person signs in on node A and carries on on node B; signing out on B ends the session on A.
- Evidence uploaded through A downloads through B, and neither node keeps a copy on its disk.
- Sign-in rate limits count across both nodes: failures on A and on B add up.
- The sweep's batches are shared by both workers, and every digest is written once.
"""

import hashlib
import io
import secrets
import time

import pytest
from django.db import connection
from PIL import Image

from accounts.models import Membership, Role, RoleGrant, User, today
from core.models import OutboxMessage
from incidents.models import Evidence, Incident
from policies import reminders, services
from policies.models import Acknowledgement
from tests.factories import PASSWORD, member
from tests.faults.conftest import CeleryWorker, PortalServer, Visitor
from tests.faults.test_redis_down import staff_report
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP_STAFF = 300
SWEEP_BATCH = 10  # 31 batches of people: enough for both workers to take some
DUTY = "policies.tasks.send_acknowledgement_reminders"


@pytest.fixture
def bucket_env(s3_server) -> dict:
    """Every node and worker keeps private files in one folder of the bucket (PRIVATE_STORAGE=s3)."""
    return {
        "PRIVATE_STORAGE": "s3",
        "S3_BUCKET": s3_server.bucket,
        "S3_ENDPOINT_URL": s3_server.endpoint_url,
        "S3_REGION": s3_server.region,
        "S3_ACCESS_KEY_ID": s3_server.access_key,
        "S3_SECRET_ACCESS_KEY": s3_server.secret_key,
        "S3_PREFIX": f"cluster-{secrets.token_hex(6)}",
    }


@pytest.fixture
def cluster_env(bucket_env, pgbouncer) -> dict:
    """What every process of the cluster shares beyond the test's Redis: the bucket, and the suite's
    database through a real PgBouncer in transaction mode (tests/pgbouncer.py), as a deployment
    gives it (DATABASE_URL ending in ?pooled=true), its pool smaller than the cluster's clients."""
    return {**bucket_env, "DATABASE_URL": pgbouncer.url(pgbouncer.test_database)}


def bypassing(pgbouncer) -> list[tuple]:
    """Connections to the test database that are neither PgBouncer's server connections nor this
    test's own: a node or worker reaching PostgreSQL around the pooler."""
    through = {row["remote_pid"] for row in pgbouncer.show("SERVERS")}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row for row in cursor.fetchall() if row[0] not in through]


@pytest.fixture
def nodes(transactional_db, redis_server, cluster_env, tmp_path):
    started = []
    try:
        for name in ("a", "b"):
            var_dir = tmp_path / f"node-{name}"
            var_dir.mkdir()
            started.append(PortalServer(redis_url=redis_server.url, var_dir=var_dir, workers=1, env=cluster_env))
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def no_mfa(school):
    school.require_mfa = False
    school.save(update_fields=["require_mfa"])
    return school


def on(node: PortalServer, visitor: Visitor) -> Visitor:
    """The same browser (its cookies) sent to another node, as a load balancer would."""
    moved = Visitor(node.url)
    moved.session.cookies = visitor.session.cookies
    return moved


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def data_shown_at() -> str:
    return staff_report()["occurred_at"]


def files_on_disk(node: PortalServer) -> list[str]:
    private = node.log_path.parent / "private"
    return sorted(str(path) for path in private.rglob("*") if path.is_file()) if private.exists() else []


def test_a_person_signs_in_on_one_node_and_carries_on_on_the_other(nodes, no_mfa, staff, pgbouncer):
    a, b = nodes
    before = pgbouncer.stats(pgbouncer.test_database)["total_xact_count"]
    owner = member(no_mfa, Role.POLICY_OWNER, email="owner@school.example")
    version = publish(
        services.create_policy(organisation=no_mfa, actor=owner, title="Social Media Policy", owner=owner), owner
    )
    browser = Visitor(a.url)
    browser.sign_in(staff.email, PASSWORD)

    on_b = on(b, browser)
    assert on_b.get("/policies/").status_code == 200  # the session, kept in the database, is B's too
    response = on_b.post(f"/policies/versions/{version.pk}/acknowledge/", {"confirm": "on"})
    assert response.status_code == 302 and response.headers["Location"] == "/policies/"
    assert Acknowledgement.objects.filter(user=staff, version=version).count() == 1
    # Both nodes reached PostgreSQL through PgBouncer, and only through it: its console counts
    # their transactions and clients, and every other connection to the database is its own.
    stats = pgbouncer.wait_for_stats(pgbouncer.test_database, above=before + 20)
    assert stats["total_xact_count"] > before + 20, stats
    clients = [row for row in pgbouncer.show("CLIENTS") if row["database"] == pgbouncer.test_database]
    assert len(clients) >= 2, clients  # a node's worker keeps its client connection (CONN_MAX_AGE)
    assert bypassing(pgbouncer) == []

    assert on_b.post("/accounts/logout/", {}).status_code == 302
    after = browser.get("/policies/")  # A no longer knows the session either
    assert after.status_code == 302 and after.headers["Location"].startswith("/accounts/login/")
    for node in nodes:
        node.assert_no_errors()


def test_evidence_uploaded_through_one_node_downloads_through_the_other(
    nodes, no_mfa, staff, dsl, s3_server, cluster_env
):
    a, b = nodes
    reporter = Visitor(a.url)
    reporter.sign_in(staff.email, PASSWORD)
    picture = png()
    data = {
        **staff_report(),
        "evidence-TOTAL_FORMS": "1",
        "evidence-0-shown_at": data_shown_at(),
    }
    response = reporter.post("/incidents/report/", data, files={"evidence-0-file": ("post.png", picture, "image/png")})
    assert response.status_code == 302, response.text[response.text.find("There is a problem") :][:800]
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.headers["Location"] == f"/incidents/{incident.pk}/submitted/"
    evidence = Evidence.objects.get(incident=incident)
    assert evidence.sha256 == hashlib.sha256(picture).hexdigest()

    lead = Visitor(b.url)
    lead.sign_in(dsl.email, PASSWORD)
    original = lead.get(f"/incidents/evidence/{evidence.pk}/?original=1")
    assert original.status_code == 200 and original.content == picture
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    cleaned = lead.get(f"/incidents/evidence/{evidence.pk}/")
    assert cleaned.status_code == 200 and cleaned.content.startswith(b"\x89PNG")

    # The files are in the bucket, under the cluster's folder; neither node kept one on its disk.
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=cluster_env["S3_PREFIX"] + "/")
    assert len(listed.get("Contents", [])) >= 2  # the original and its clean copy
    assert files_on_disk(a) == [] and files_on_disk(b) == []
    for node in nodes:
        node.assert_no_errors()


def test_sign_in_rate_limits_count_across_both_nodes(nodes, no_mfa, staff):
    """allauth's limit on failed sign-ins for one address (5 in 5 minutes, settings) is kept in the
    shared cache: three failures on A and three on B reach it (either node alone would not), and
    then the right password is refused on both."""
    a, b = nodes
    pages = []
    for node in (a, b):
        visitor = Visitor(node.url)
        for _ in range(3):
            refused = visitor.post("/accounts/login/", {"login": staff.email, "password": "not-the-password"})
            assert refused.status_code in (200, 429)
            pages.append(refused.text)
    assert not any("Too many failed" in page for page in pages[:5])
    assert "Too many failed" in pages[5]  # the sixth, on B, counted after A's three
    for node in nodes:
        answer = Visitor(node.url).post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
        assert answer.status_code in (200, 429) and "Location" not in answer.headers, node.url
        node.assert_no_errors()


@pytest.fixture
def due(school) -> dict[int, str]:
    """Staff asked today to acknowledge a policy: each is due one digest."""
    owner = member(school, Role.POLICY_OWNER, email="owner@school.example")
    users = User.objects.bulk_create(
        User(email=f"person{n:04d}@school.example", first_name=f"P{n}", last_name="Staff", password="!")
        for n in range(SWEEP_STAFF)
    )
    memberships = Membership.objects.bulk_create(Membership(user=user, organisation=school) for user in users)
    RoleGrant.objects.bulk_create(RoleGrant(membership=m, role=Role.STAFF) for m in memberships)
    publish(services.create_policy(organisation=school, actor=owner, title="Social Media Policy", owner=owner), owner)
    people = [user_id for batch in reminders.people_batches(today()) for user_id in batch]
    return dict(User.objects.filter(pk__in=people).values_list("pk", "email"))


@pytest.fixture
def workers(transactional_db, redis_server, cluster_env, tmp_path):
    started = []
    try:
        for name in ("1", "2"):
            var_dir = tmp_path / f"worker-{name}"
            var_dir.mkdir()
            worker = CeleryWorker(redis_url=redis_server.url, var_dir=var_dir, concurrency=1, env=cluster_env)
            worker.start()
            started.append(worker)
        yield started
    finally:
        for worker in started:
            worker.kill()


def test_two_workers_in_separate_processes_share_the_sweep(due, workers, pgbouncer):
    first, second = workers
    first.queue(DUTY, batch_size=SWEEP_BATCH)
    digests = OutboxMessage.objects.filter(topic__startswith="policies.digest:")
    deadline = time.monotonic() + 120
    while digests.count() < len(due):
        if time.monotonic() > deadline:
            pytest.fail(f"{digests.count()} of {len(due)} digests\n{first.log()[-3000:]}\n{second.log()[-3000:]}")
        time.sleep(0.2)
    time.sleep(1)  # nothing more comes: every batch has run once
    on_day = today().isoformat()
    assert sorted(digests.values_list("topic", "recipient")) == sorted(
        (f"policies.digest:{user_id}:{on_day}", email) for user_id, email in due.items()
    )
    ran = [
        w.log().count("policies.tasks.remind_people[") and _succeeded(w, "policies.tasks.remind_people")
        for w in workers
    ]
    assert all(ran), f"batches run by each worker: {ran}"
    assert sum(ran) == -(-len(due) // SWEEP_BATCH)
    assert bypassing(pgbouncer) == []  # the workers' claims (SKIP LOCKED) went through the pooler


def _succeeded(worker: CeleryWorker, task: str) -> int:
    return sum(1 for line in worker.log().splitlines() if f"{task}[" in line and " succeeded in " in line)
