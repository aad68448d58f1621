"""Backups: the database and the private files in one folder, and checking a restored copy.

A backup is one folder, written under a temporary name and renamed only once complete:

    manifest.json     every file's path, size and SHA-256; the database copy's SHA-256; when it
                      was taken; the migrations applied; how many files the database records a hash of
    database.dump     PostgreSQL, pg_dump's custom format (database.sqlite3 for SQLite)
    files/            every private file (evidence, policy documents, certificates): everything under
                      PRIVATE_MEDIA_ROOT, or in the bucket with PRIVATE_STORAGE=s3 (core.backup_files)

The database is copied first, then the files. The portal writes a file before the row naming it
commits: a FileField saves its file as the row is saved, and incidents.services._store does so
inside the report's transaction. So every row in the database copy names a file already on disk
when the files are copied after it; a file newer than the copy is an orphan, which is harmless.
The other order would lose files: a row committed between the two copies would name a file the
backup lacks. Files are never changed in place (a new upload gets a new name).

Only a retention "destroy" removes files, once its decision has committed. One landing between
the two copies would leave the database copy naming a file the backup lacks, so the backup
checks itself: in the database copy's own snapshot (PostgreSQL's exported snapshot, which
pg_dump reads; on SQLite, the copy itself) it reads every file whose SHA-256 the database
records (``register_hashed_files``) and checks the copied file against it.

``core`` knows no app above it: an app registers the files whose hashes it records, in its
AppConfig.ready (incidents registers its evidence).
"""

import datetime as dt
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core.backup_files import (
    BackupError,
    LocalFiles,
    check_stored_in,
    configured_files,
    fsync,
    inside,
    sha256_of,
)
from core.db import RoleRefused, grant_app_role

MANIFEST = "manifest.json"
FILES = "files"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
FORMAT = 1
SHOWN = 20  # problems listed in a message; the count says how many more


# Files whose SHA-256 the database records
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HashedFiles:
    queryset: object  # unevaluated: the rows whose files must exist
    file_field: str
    sha256_field: str

    @property
    def label(self) -> str:
        return f"{self.queryset.model._meta.label}.{self.file_field}"


HASHED_FILES: list[HashedFiles] = []


def register_hashed_files(queryset, *, file_field: str, sha256_field: str) -> None:
    """Rows of ``queryset`` record the SHA-256 of their ``file_field`` in ``sha256_field``.

    Backups check the copied file against it, and restores the restored one. ``queryset`` names the
    rows whose files must exist (not those destroyed under a retention schedule, say).
    """
    entry = HashedFiles(queryset, file_field, sha256_field)
    if entry not in HASHED_FILES:
        HASHED_FILES.append(entry)


@dataclass(frozen=True)
class RecordedHash:
    label: str
    pk: object
    name: str
    sha256: str

    def __str__(self):
        return f"{self.name} ({self.label}, row {self.pk})"


def recorded_hashes(using: str) -> list[RecordedHash]:
    rows = []
    for entry in HASHED_FILES:
        queryset = entry.queryset.using(using).exclude(**{entry.file_field: ""}).order_by("pk")
        rows += [
            RecordedHash(entry.label, pk, name, sha256)
            for pk, name, sha256 in queryset.values_list("pk", entry.file_field, entry.sha256_field).iterator()
        ]
    return rows


# Database connections
# ------------------------------------------------------------------------------
# Keys of a DATABASES entry that say where and as whom to connect.
WHERE = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def direct_settings() -> dict:
    """The default database's settings for a session of its own: DATABASE_URL's when it reaches
    PostgreSQL directly, DATABASE_DIRECT_URL's when it is pooled.

    Never a pooler's in transaction mode (DATABASE_URL's ?pooled=true): pg_dump and pg_restore set
    session settings (pg_dump empties search_path), which PgBouncer would leave on a server
    connection for other clients to inherit, and the backup shares an exported snapshot with
    pg_dump, which lives only as long as its transaction on one server connection. A direct
    DATABASE_URL wins: a restore run as the owner (DATABASE_URL=$DATABASE_OWNER_URL) stays the
    owner's, whatever DATABASE_DIRECT_URL names.
    """
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    if not default.get("DISABLE_SERVER_SIDE_CURSORS"):
        return {**default}
    direct = settings.DATABASE_DIRECT
    if not direct:
        raise BackupError(
            "DATABASE_URL goes through PgBouncer (?pooled=true), and backup and restore need PostgreSQL itself: "
            "set DATABASE_DIRECT_URL to the database's own address."
        )
    where = {key: direct[key] for key in WHERE if key in direct}
    return {**default, "OPTIONS": {}, **where, "DISABLE_SERVER_SIDE_CURSORS": False}


@contextmanager
def connection_to(name: str | None = None):
    """A connection of its own to the default database's server, directly (``direct_settings``): to the
    database ``name``, or the default one.

    A separate connection, so the backup's snapshot and the restore's checks never touch the
    caller's transaction. It connects at once, so a database that cannot be reached is reported here.
    """
    alias = f"backup_{secrets.token_hex(4)}"
    settings_dict = {**direct_settings(), "CONN_MAX_AGE": 0}
    if name:
        settings_dict["NAME"] = name
    connections.settings[alias] = settings_dict
    connection = connections[alias]
    try:
        try:
            with connection.wrap_database_errors:
                connection.connect()
        except DatabaseError as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackupError(f"Cannot connect to the database {settings_dict['NAME']!r}: {detail}") from None
        yield connection
    finally:
        connection.close()
        del connections[alias]
        del connections.settings[alias]


def _vendor() -> str:
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    if vendor not in DUMPS:
        raise BackupError(f"Backups support PostgreSQL and SQLite; DATABASE_URL points at {vendor}.")
    return vendor


def _libpq(connection) -> tuple[str, dict]:
    """The connection's parameters as a libpq conninfo string for pg_dump and pg_restore, with the
    password in the environment (never on a command line others can read)."""
    params = connection.get_connection_params()
    env = {**os.environ}
    if password := params.pop("password", None):
        env["PGPASSWORD"] = str(password)

    def quoted(value) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(
        f"{key}={quoted(value)}"
        for key, value in params.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    )
    return conninfo, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed. Install PostgreSQL's client tools, of the server's major version or newer "
            "(Debian: apt-get install postgresql-client)."
        )
    return path


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tool = Path(command[0]).name
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BackupError(f"{tool} failed (exit {result.returncode}): " + " / ".join(detail))


def _applied_migrations(connection) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


# Backup
# ------------------------------------------------------------------------------
@dataclass
class Backup:
    path: Path
    manifest: dict
    problems: list[str] = field(default_factory=list)


def take_backup(parent: Path) -> Backup:
    """Copy the database and then the private files into a new folder under ``parent``."""
    vendor = _vendor()
    if vendor == "postgresql":
        direct_settings()  # refused before anything is written
    private = configured_files()
    check_stored_in(private, HASHED_FILES)
    parent = Path(parent).expanduser().resolve()
    if parent.exists() and not parent.is_dir():
        raise BackupError(f"{parent} is not a folder.")
    if isinstance(private, LocalFiles) and (parent == private.root or private.root in parent.parents):
        raise BackupError(
            f"Keep backups outside PRIVATE_MEDIA_ROOT ({private.root}): they would be copied into the next one."
        )
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot create {parent}: {exc.strerror}.") from None

    created = timezone.now().astimezone(dt.UTC)
    final = parent / f"policyportal-{created:%Y%m%dT%H%M%SZ}"
    if final.exists():
        raise BackupError(f"{final} already exists; wait a second and run it again.")
    partial = parent / f".{final.name}.{secrets.token_hex(4)}.partial"
    try:
        partial.mkdir(mode=0o700)
    except OSError as exc:
        raise BackupError(f"Cannot write in {parent}: {exc.strerror}.") from None
    try:
        dump = partial / DUMPS[vendor]
        if vendor == "postgresql":
            database, recorded, migrations = _dump_postgresql(dump)
        else:
            database, recorded, migrations = _copy_sqlite(dump)
        database.update({"file": dump.name, "size": dump.stat().st_size, "sha256": sha256_of(dump)})
        fsync(dump)

        files = {}
        for relative in private.names():
            size, sha256 = private.copy_out(relative, partial / FILES / relative)
            files[relative] = {"size": size, "sha256": sha256}

        problems = []
        for row in recorded:
            copied = files.get(row.name)
            if copied is None:
                problems.append(f"{row}: the file is missing from {private.label}")
            elif copied["sha256"] != row.sha256:
                problems.append(f"{row}: the file does not match the SHA-256 the database records")
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat(),
            "database": database,
            "migrations": migrations,
            "private_media_root": str(private.where),
            "files": [{"path": path, **entry} for path, entry in files.items()],
            "recorded_hashes": {entry.label: sum(r.label == entry.label for r in recorded) for entry in HASHED_FILES},
            "problems": problems,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        fsync(partial / MANIFEST)
        os.rename(partial, final)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError | BotoCoreError | ClientError):  # a file that cannot be read, a full disk
            raise BackupError(f"The backup was not written: {exc}.") from None
        raise
    return Backup(final, manifest, problems)


def _dump_postgresql(target: Path):
    pg_dump = _tool("pg_dump")
    with connection_to() as connection:
        conninfo, env = _libpq(connection)
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                # The first statement of the transaction; the rows read below see what the dump sees.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot(), current_database(), current_setting('server_version')")
                snapshot, name, version = cursor.fetchone()
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--no-password",
                        f"--file={target}",
                        f"--dbname={conninfo}",
                    ],
                    env,
                )
                recorded = recorded_hashes(connection.alias)
                migrations = _applied_migrations(connection)
        except DatabaseError as exc:
            raise BackupError(f"Cannot read the database: {str(exc).strip()}") from None
    return {"vendor": "postgresql", "name": name, "server_version": version}, recorded, migrations


def _copy_sqlite(target: Path):
    """SQLite's online backup: a consistent copy even while the portal writes to the file."""
    source = connections[DEFAULT_DB_ALIAS]
    if source.in_atomic_block:
        # SQLite's backup would wait forever on the transaction's own lock.
        raise BackupError("A SQLite backup cannot run inside a transaction.")
    source.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        source.connection.backup(copy)
    finally:
        copy.close()
    with connection_to(str(target)) as connection:
        recorded = recorded_hashes(connection.alias)
        migrations = _applied_migrations(connection)
    return {"vendor": "sqlite", "name": Path(str(source.settings_dict["NAME"])).name}, recorded, migrations


# Restore
# ------------------------------------------------------------------------------
@dataclass
class Tally:
    checked: int = 0
    verified: int = 0
    mismatched: int = 0
    missing: int = 0


@dataclass
class Restored:
    database: str
    private_root: Path | str  # a folder, or the bucket (s3://bucket/prefix)
    files: Tally = field(default_factory=Tally)  # against the manifest
    recorded: dict[str, Tally] = field(default_factory=dict)  # against the database, by label
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_manifest(folder: Path) -> dict:
    folder = Path(folder).expanduser()
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder.")
    if not path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: it is not a complete backup.")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} cannot be read ({exc}). This backup is not usable.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a manifest this version of the portal reads (format {FORMAT}).")
    database, files = manifest.get("database"), manifest.get("files")
    if (
        not isinstance(database, dict)
        or not all(isinstance(database.get(key), str) for key in ("vendor", "file", "sha256"))
        or not isinstance(files, list)
        or not all(isinstance(entry, dict) and {"path", "size", "sha256"} <= entry.keys() for entry in files)
    ):
        raise BackupError(
            f"{path} is incomplete: it does not list the database and the files. This backup is not usable."
        )
    return manifest


def restore_backup(folder: Path, *, database: str | None = None, private_root: Path | None = None, force=False):
    """Restore a backup into ``database`` (default: the configured one) and ``private_root`` (default: where
    the portal keeps its private files, PRIVATE_MEDIA_ROOT or the bucket), then check it.

    Refuses a database or a folder that already holds anything, unless ``force``. Every file is
    checked against the manifest, and every file the database records a hash of against that hash.
    """
    folder = Path(folder).expanduser().resolve()
    manifest = read_manifest(folder)
    vendor = _vendor()
    backed_up = manifest["database"]["vendor"]
    if backed_up != vendor:
        raise BackupError(f"This backup holds a {backed_up} database, but DATABASE_URL points at {vendor}.")
    dump = inside(folder, manifest["database"]["file"])
    if not dump.is_file():
        raise BackupError(f"{dump} is missing: this backup is not usable.")
    if sha256_of(dump) != manifest["database"]["sha256"]:
        raise BackupError(
            f"{dump.name} does not match the SHA-256 in the manifest: the copy is damaged or was changed. "
            "Nothing was restored; use another backup."
        )
    entries = manifest["files"]
    sources = [(entry, inside(folder / FILES, entry["path"])) for entry in entries]
    private = LocalFiles(private_root) if private_root else configured_files()
    private.refuse_unless_empty(force)

    if vendor == "postgresql":
        name = database or direct_settings()["NAME"]
        _check_empty_postgresql(name, force)
        _restore_postgresql(dump, name, force)
    else:
        name = str(Path(database or connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]).expanduser().resolve())
        _check_empty_sqlite(name, force)
        _restore_sqlite(dump, name)
    restored = Restored(database=name, private_root=private.where)

    tally = restored.files
    for entry, source in sources:
        tally.checked += 1
        if not source.is_file():
            tally.missing += 1
            restored.problems.append(f"{entry['path']}: missing from the backup")
            continue
        try:
            size, sha256 = private.copy_in(source, entry["path"])
        except (OSError, BotoCoreError, ClientError) as exc:
            raise BackupError(f"The database is restored, but the files could not be: {exc}.") from None
        if sha256 != entry["sha256"] or size != entry["size"]:
            tally.mismatched += 1
            restored.problems.append(f"{entry['path']}: does not match the SHA-256 in the manifest")
        else:
            tally.verified += 1

    with connection_to(name) as connection:
        for entry in HASHED_FILES:
            restored.recorded[entry.label] = Tally()
        for row in recorded_hashes(connection.alias):
            tally = restored.recorded[row.label]
            tally.checked += 1
            sha256 = private.sha256(row.name)
            if sha256 is None:
                tally.missing += 1
                restored.problems.append(f"{row}: the file is missing")
            elif sha256 != row.sha256:
                tally.mismatched += 1
                restored.problems.append(f"{row}: the file does not match the SHA-256 the database records")
            else:
                tally.verified += 1
        if vendor == "postgresql" and settings.DATABASE_APP_ROLE:
            try:
                grant_app_role(settings.DATABASE_APP_ROLE, using=connection.alias)
            except RoleRefused as exc:
                restored.problems.append(f"The application role was not granted its rows: {exc}")
        restored.notes += _migration_notes(connection)
    return restored


def _check_empty_postgresql(name: str, force: bool) -> None:
    try:
        with connection_to(name) as connection:
            tables = connection.introspection.table_names()
    except BackupError as exc:
        raise BackupError(f"{exc}. Create it first (createdb, owned by the role in DATABASE_URL).") from None
    if tables and not force:
        raise BackupError(
            f"The database {name!r} already has {len(tables)} tables. Restore into an empty database, "
            "or add --force to replace what the backup holds."
        )


def _restore_postgresql(dump: Path, name: str, force: bool) -> None:
    pg_restore = _tool("pg_restore")
    with connection_to(name) as connection:
        conninfo, env = _libpq(connection)
    # Owned by the role restoring (the owner); the application role's grants come from
    # core.db.grant_app_role afterwards, as after a migrate, not from the old server's roles.
    command = [pg_restore, "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "--no-password"]
    if force:
        command += ["--clean", "--if-exists"]
    _run([*command, f"--dbname={conninfo}", str(dump)], env)


def _check_empty_sqlite(name: str, force: bool) -> None:
    path = Path(name)
    if path.exists() and not path.is_file():
        raise BackupError(f"{path} is not a database file.")
    if not path.exists() or force:
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as existing:
            tables = existing.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as a database ({exc}); add --force to replace it.") from None
    if tables:
        raise BackupError(
            f"The database {path} already has {tables} tables. Restore into a new file, or add --force to replace it."
        )


def _restore_sqlite(dump: Path, name: str) -> None:
    Path(name).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(name)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot write {name}: {exc}.") from None
    finally:
        source.close()
        target.close()


def _migration_notes(connection) -> list[str]:
    """What the restored database's migrations mean for this release of the code."""
    executor = MigrationExecutor(connection)
    loader = executor.loader
    replaced = {key for migration in loader.disk_migrations.values() for key in migration.replaces or ()}
    unknown = sorted(set(loader.applied_migrations) - set(loader.disk_migrations) - replaced)
    notes = []
    if unknown:
        shown = ", ".join(f"{app}.{name}" for app, name in unknown[:5]) + (" and more" if len(unknown) > 5 else "")
        notes.append(
            f"The restored database has migrations this code lacks ({shown}): it may come from a newer release. "
            "Run that release against it."
        )
    if executor.migration_plan(loader.graph.leaf_nodes()):
        notes.append("The restored database predates some of this release's migrations: run manage.py migrate.")
    return notes
