import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Nation, OrganisationKind, Role
from policyportal.celery import app as celery_app
from tests.factories import OrganisationFactory, member

# The slowest tests, each a minute or so of real servers, a benchmark or a browser: run first, so
# that under pytest-xdist (scripts/test) no worker is left with one of them while the others are
# done. Otherwise the order is pytest-django's (and each test's own, independent of the others).
SLOW_FIRST = ("tests/bench/", "tests/faults/", "tests/e2e/", "tests/test_run_command.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the same order on every worker


@pytest.fixture(scope="session", autouse=True)
def _require_real_services(django_db_setup, django_db_blocker):
    """The suite runs on PostgreSQL and Redis, always: scripts/test gives it both (a private copy
    of each when DATABASE_URL and REDIS_URL are not set). Without them it fails; nothing skips."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", f"PostgreSQL required (run scripts/test), got {connection.vendor}"
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "Redis broker required (run scripts/test)"
    import redis

    redis.Redis.from_url(settings.REDIS_URL).ping()


@pytest.fixture(scope="session", autouse=True)
def _direct_database_is_the_test_database(_require_real_services):
    """With the suite itself run through PgBouncer (a pooled DATABASE_URL and a DATABASE_DIRECT_URL
    beside it), backups reach the test database directly: the same name as through the pooler."""
    if settings.DATABASE_DIRECT:
        settings.DATABASE_DIRECT["NAME"] = connection.settings_dict["NAME"]


@pytest.fixture(scope="session", autouse=True)
def _empty_tables_by_delete(_require_real_services, django_db_blocker):
    """After each transactional test Django empties every table (``flush``). On PostgreSQL it
    does so with one TRUNCATE, which gives each of the ~60 tables and their indexes new files:
    one to three seconds a test on a busy machine, for tables that hold a handful of rows.
    DELETE leaves the same empty tables in milliseconds. The append-only and tally triggers
    (and the foreign keys' own) are set aside for that one transaction, as TRUNCATE sets them
    aside: session_replication_role, which only a superuser may set, so a test database owned by
    a role that is not one keeps TRUNCATE. Sequences are reset, where a test asks for that
    (``reset_sequences``), by TRUNCATE as before."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        (superuser,) = cursor.fetchone()
    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        # execute_sql_flush runs these in one transaction, so SET LOCAL ends with it.
        return ["SET LOCAL session_replication_role = replica"] + [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))}" for table in tables
        ]

    sql_flush.by_truncate = truncate  # tests/test_harness.py compares the two
    if superuser:
        DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache; each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def celery_eager():
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield celery_app
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def smtp(settings):
    """A real mail server for the test: the outbox's messages go to it over SMTP (``smtp.inbox``)."""
    from tests.mailbox import MailServer, spare_port

    server = MailServer(spare_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    server.start()
    yield server
    server.stop()


@pytest.fixture
def trust(db):
    return OrganisationFactory(name="Oak Trust", slug="oak-trust", kind=OrganisationKind.TRUST, parent=None)


@pytest.fixture
def school(trust):
    return OrganisationFactory(name="Oak Primary", slug="oak-primary", parent=trust)


@pytest.fixture
def other_school(trust):
    return OrganisationFactory(name="Ash Academy", slug="ash-academy", parent=trust, nation=Nation.WALES)


@pytest.fixture
def outside_school(db):
    return OrganisationFactory(name="Elm School", slug="elm-school", email_domains="elm.example")


@pytest.fixture
def staff(school):
    return member(school, email="staff@school.example")


@pytest.fixture
def slt(school):
    return member(school, Role.SLT, email="slt@school.example")


@pytest.fixture
def dsl(school):
    return member(school, Role.DSL, email="dsl@school.example")


@pytest.fixture
def school_admin(school):
    return member(school, Role.ADMIN, email="admin@school.example")


@pytest.fixture
def trust_slt(trust):
    return member(trust, Role.SLT, email="trust.slt@school.example")


@pytest.fixture
def outsider(outside_school):
    return member(outside_school, Role.SLT, Role.ADMIN, email="outsider@elm.example")


# A real PgBouncer in transaction mode in front of the test database, for the tests that run the
# portal through it (tests/core/test_pgbouncer.py, the cluster in tests/faults); a real S3 server
# (SeaweedFS) and a bucket per test, for the private files in object storage.
from tests.pgbouncer import pgbouncer  # noqa: E402, F401
from tests.s3server import s3_server, s3_storage  # noqa: E402, F401
