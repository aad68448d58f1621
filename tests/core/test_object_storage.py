"""Backups and the health check with the private files in an S3 bucket (issue 16, stateless web
nodes), against a real S3 server (SeaweedFS, tests/s3server.py): a backup reads every file from
the bucket, a restore writes them into an empty bucket and verifies every evidence file against
the SHA-256 the database records; the health check asks the bucket instead of a folder."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from core.backups import connection_to
from incidents.models import Evidence
from tests.core.test_backup import committed, fresh_database, manifest_of, take_backup  # noqa: F401
from tests.core.test_health import TOKEN, beat_ran, report  # noqa: F401


def point_at(settings, options: dict) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }


def restore(folder, database, *options) -> str:
    out = io.StringIO()
    call_command("restore", str(folder), "--database-name", database, *options, stdout=out)
    return out.getvalue()


@committed
def test_a_backup_from_the_bucket_restores_into_an_empty_bucket_with_every_evidence_hash_verified(
    s3_storage,
    fresh_database,  # noqa: F811 - the fixture of tests/core/test_backup.py
    tmp_path,
    settings,
):
    call_command("seed_demo", stdout=io.StringIO())
    demo = dict(Evidence.objects.values_list("original", "sha256"))
    assert demo, "the demo should hold evidence files"
    stored = s3_storage.keys()
    assert set(demo) <= set(stored) and not settings.PRIVATE_MEDIA_ROOT.exists()

    backup = take_backup(tmp_path)

    manifest = manifest_of(backup)
    assert manifest["private_media_root"] == s3_storage.where
    assert [entry["path"] for entry in manifest["files"]] == stored
    for entry in manifest["files"]:
        content = s3_storage.read(entry["path"])
        assert entry["sha256"] == hashlib.sha256(content).hexdigest() and entry["size"] == len(content)
        assert (backup / "files" / entry["path"]).read_bytes() == content
    assert manifest["problems"] == [] and manifest["recorded_hashes"] == {
        "incidents.Evidence.original": len(demo),
        "policies.Acknowledgement.signed_sheet": 1,  # the demo's paper acknowledgement
    }

    # Into a new, empty place, as a replacement deployment would.
    empty = s3_storage.elsewhere()
    empty.use(settings)
    output = restore(backup, fresh_database)

    files = len(manifest["files"])
    assert f"the files into {empty.where}" in output
    assert f"files against the manifest: {files} checked, {files} verified, 0 mismatched, 0 missing" in output
    assert (
        f"incidents.Evidence.original against the SHA-256 the database records: "
        f"{len(demo)} checked, {len(demo)} verified, 0 mismatched, 0 missing"
    ) in output
    assert empty.keys() == stored
    for name, sha256 in demo.items():
        assert hashlib.sha256(empty.read(name)).hexdigest() == sha256
    with connection_to(fresh_database) as copy:
        assert dict(Evidence.objects.using(copy.alias).values_list("original", "sha256")) == demo

    # A bucket that holds files is refused, unless --force, which writes over them under their names.
    with pytest.raises(CommandError, match=f"{empty.where} is not empty"):
        restore(backup, fresh_database)
    empty.write(stored[0], b"changed since")
    output = restore(backup, fresh_database, "--force")
    assert f"{files} checked, {files} verified, 0 mismatched" in output
    assert empty.keys() == stored and empty.read(stored[0]) == s3_storage.read(stored[0])


@committed
def test_a_file_changed_in_the_bucket_is_caught_by_the_recorded_hash(s3_storage, tmp_path):
    call_command("seed_demo", stdout=io.StringIO())
    name = Evidence.objects.values_list("original", flat=True).first()
    s3_storage.write(name, b"not the evidence")

    with pytest.raises(CommandError, match="1 file the database records a SHA-256 of did not match it"):
        take_backup(tmp_path)

    (problem,) = manifest_of(next((tmp_path / "backups").iterdir()))["problems"]
    assert problem.startswith(name) and "does not match the SHA-256 the database records" in problem


@pytest.mark.django_db
def test_the_health_check_asks_the_bucket(client, beat_ran, s3_storage, settings):  # noqa: F811
    settings.HEALTH_CHECK_TOKEN = TOKEN
    status, checks = report(client)
    assert status == 200 and set(checks.values()) == {"OK"}, checks

    server, missing = s3_storage.server, f"{s3_storage.bucket}-missing"
    point_at(settings, server.storage_options(missing))
    status, checks = report(client)
    assert status == 500 and checks["PrivateFiles"] == f"Unavailable: the bucket {missing} does not exist"

    point_at(settings, server.storage_options(s3_storage.bucket) | {"secret_key": "not-the-secret"})
    status, checks = report(client)
    assert status == 500
    assert checks["PrivateFiles"] == f"Unavailable: the bucket {s3_storage.bucket} refuses the portal's credentials"


def test_create_bucket_makes_the_bucket_once_and_then_leaves_it(s3_server, settings):
    """docker-compose's migrate service runs it before the web nodes start (README, "Deploy")."""
    import secrets

    bucket = f"made-{secrets.token_hex(4)}"
    settings.PRIVATE_STORAGE = "s3"
    point_at(settings, s3_server.storage_options(bucket))
    out = io.StringIO()
    call_command("create_bucket", stdout=out)
    assert f"Made the bucket {bucket}." in out.getvalue()
    s3_server.client().head_bucket(Bucket=bucket)  # it exists, for the portal's credentials
    again = io.StringIO()
    call_command("create_bucket", stdout=again)
    assert f"The bucket {bucket} exists." in again.getvalue()

    # Wrong credentials: a clear message, no traceback.
    point_at(settings, {**s3_server.storage_options(bucket), "secret_key": "not-the-secret"})
    with pytest.raises(CommandError, match=f"The bucket {bucket} cannot be used"):
        call_command("create_bucket", stdout=io.StringIO())
