"""Backups (issue 11): a backup of the demo restores into a fresh database with every evidence
file verified against the SHA-256 the database records; a changed file or database copy fails.

On PostgreSQL (DATABASE_URL) through pg_dump and pg_restore, into a database made for the test
and dropped after it; on SQLite through its online backup, into a new file. Neither is skipped.
"""

import io
import json
import secrets
import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core import backups
from core.backups import connection_to, sha256_of
from incidents.models import Evidence

# Tests that take a backup commit their data: pg_dump reads only what is committed, and
# SQLite's online backup cannot run inside the test's transaction.
committed = pytest.mark.django_db(transaction=True)

POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = settings.MEDIA_ROOT


@pytest.fixture
def demo():
    """The demo, whose incidents carry evidence files: {stored name: recorded SHA-256}."""
    call_command("seed_demo", stdout=io.StringIO())
    evidence = dict(Evidence.objects.values_list("original", "sha256"))
    assert evidence, "the demo should hold evidence files"
    return evidence


def take_backup(tmp_path) -> Path:
    call_command("backup", str(tmp_path / "backups"), stdout=io.StringIO())
    (folder,) = (tmp_path / "backups").iterdir()
    return folder


@pytest.fixture
def backup(demo, tmp_path):
    return take_backup(tmp_path)


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database to restore into: made for the test (PostgreSQL) or a new file (SQLite)."""
    if not POSTGRESQL:
        yield str(tmp_path / "restored.sqlite3")
        return
    name = f"pp_restore_{secrets.token_hex(4)}"
    # A connection of its own, in autocommit: CREATE DATABASE cannot run inside the test's transaction.
    with connection_to() as server, server.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with connection_to() as server, server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore(folder, database, tmp_path, *options) -> str:
    out = io.StringIO()
    call_command(
        "restore",
        str(folder),
        "--database-name",
        database,
        "--private-root",
        str(tmp_path / "restored"),
        *options,
        stdout=out,
    )
    return out.getvalue()


def manifest_of(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@committed
def test_a_backup_of_the_demo_restores_with_every_evidence_hash_verified(demo, backup, fresh_database, tmp_path):
    manifest = manifest_of(backup)
    private = tmp_path / "private"
    on_disk = sorted(p.relative_to(private).as_posix() for p in private.rglob("*") if p.is_file())
    assert [entry["path"] for entry in manifest["files"]] == on_disk
    assert all(entry["sha256"] == sha256_of(private / entry["path"]) for entry in manifest["files"])
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["database"]["sha256"] == sha256_of(backup / manifest["database"]["file"])
    assert "0001_initial" in manifest["migrations"]["incidents"]
    assert manifest["recorded_hashes"] == {
        "incidents.Evidence.original": len(demo),
        "policies.Acknowledgement.signed_sheet": 1,  # the demo's paper acknowledgement
    }

    output = restore(backup, fresh_database, tmp_path)

    files = len(manifest["files"])
    assert f"files against the manifest: {files} checked, {files} verified, 0 mismatched, 0 missing" in output
    assert (
        f"incidents.Evidence.original against the SHA-256 the database records: "
        f"{len(demo)} checked, {len(demo)} verified, 0 mismatched, 0 missing"
    ) in output
    with connection_to(fresh_database) as restored:
        assert dict(Evidence.objects.using(restored.alias).values_list("original", "sha256")) == demo
    for name, sha256 in demo.items():
        assert sha256_of(tmp_path / "restored" / name) == sha256


@committed
def test_a_changed_or_missing_file_fails_the_restore(demo, backup, fresh_database, tmp_path):
    changed, missing = sorted(demo)[:2]
    (backup / "files" / changed).write_bytes(b"not the evidence that was handed in")
    (backup / "files" / missing).unlink()

    with pytest.raises(CommandError) as refused:
        restore(backup, fresh_database, tmp_path)

    message = str(refused.value)
    assert refused.value.returncode == 1
    assert "The restore is not intact (4 problems)" in message
    assert f"{changed}: does not match the SHA-256 in the manifest" in message
    assert f"{missing}: missing from the backup" in message
    assert f"{changed} (incidents.Evidence.original, row" in message
    assert "the file does not match the SHA-256 the database records" in message
    assert f"{missing} (incidents.Evidence.original, row" in message


@committed
def test_a_file_changed_along_with_its_manifest_entry_is_caught_by_the_recorded_hash(
    demo, backup, fresh_database, tmp_path
):
    name = sorted(demo)[0]
    forged = b"%PDF-1.4 forged evidence %%EOF"
    (backup / "files" / name).write_bytes(forged)
    manifest = manifest_of(backup)
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry.update(size=len(forged), sha256=sha256_of(backup / "files" / name))
    (backup / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError) as refused:
        restore(backup, fresh_database, tmp_path)

    assert "(1 problem)" in str(refused.value)
    assert f"{name} (incidents.Evidence.original, row" in str(refused.value)
    assert "does not match the SHA-256 the database records" in str(refused.value)


@committed
def test_a_damaged_database_copy_is_refused_before_anything_is_restored(fresh_database, tmp_path):
    backup = take_backup(tmp_path)  # of the empty, migrated test database: quick
    dump = backup / manifest_of(backup)["database"]["file"]
    with open(dump, "ab") as damaged:
        damaged.write(b"\0")

    with pytest.raises(CommandError, match="does not match the SHA-256 in the manifest.*Nothing was restored"):
        restore(backup, fresh_database, tmp_path)

    assert not (tmp_path / "restored").exists()
    if POSTGRESQL:
        with connection_to(fresh_database) as restored:
            assert restored.introspection.table_names() == []
    else:
        assert not Path(fresh_database).exists()


@committed
def test_it_refuses_to_restore_over_a_database_or_folder_that_holds_something(tmp_path):
    folder = take_backup(tmp_path)  # of the empty, migrated test database: quick
    if POSTGRESQL:
        in_use = connection.settings_dict["NAME"]
    else:
        in_use = str(tmp_path / "in-use.sqlite3")
        with sqlite3.connect(in_use) as existing:
            existing.execute("CREATE TABLE kept (x)")
    with pytest.raises(CommandError, match=r"already has \d+ tables. Restore into .*or add --force"):
        restore(folder, in_use, tmp_path)

    (tmp_path / "restored").mkdir()
    (tmp_path / "restored" / "kept.txt").write_text("already here")
    with pytest.raises(CommandError, match="is not empty. Restore into an empty folder, or add --force"):
        restore(folder, "pp_never_created" if POSTGRESQL else str(tmp_path / "new.sqlite3"), tmp_path)


@committed
def test_a_backup_names_a_recorded_file_that_is_missing_and_still_keeps_the_rest(demo, tmp_path):
    lost = sorted(demo)[0]
    (tmp_path / "private" / lost).unlink()

    with pytest.raises(CommandError, match=f"(?s)1 file the database records a SHA-256 of did not match it.*{lost}"):
        take_backup(tmp_path)

    (folder,) = (tmp_path / "backups").iterdir()
    pk = Evidence.objects.get(original=lost).pk
    problem = f"{lost} (incidents.Evidence.original, row {pk}): the file is missing from PRIVATE_MEDIA_ROOT"
    assert manifest_of(folder)["problems"] == [problem]
    assert len(manifest_of(folder)["files"]) == sum(1 for p in (tmp_path / "private").rglob("*") if p.is_file())


@committed
def test_it_says_what_to_install_without_the_postgresql_tools(monkeypatch, tmp_path):
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    if POSTGRESQL:
        with pytest.raises(CommandError, match="pg_dump is not installed.*apt-get install postgresql-client"):
            take_backup(tmp_path)
        assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())
    else:  # SQLite needs none
        assert (take_backup(tmp_path) / "database.sqlite3").is_file()


@pytest.mark.django_db
def test_bad_paths_get_a_message_not_a_traceback(tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("")
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("backup", str(not_a_folder))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("restore", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="has no manifest.json: it is not a complete backup"):
        call_command("restore", str(tmp_path))
    with pytest.raises(CommandError, match="Keep backups outside PRIVATE_MEDIA_ROOT"):
        call_command("backup", str(tmp_path / "private" / "backups"))
