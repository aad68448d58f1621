"""Where a backup reads the private files from and a restore writes them to (core.backups).

The portal keeps them in its default storage: a folder on disk (PRIVATE_MEDIA_ROOT, the first
look's default) or an S3-compatible bucket (PRIVATE_STORAGE=s3, issue 16). ``LocalFiles`` works
on the folder as the backup always has (regular files only, links not followed, each written
under a temporary name and renamed); ``StorageFiles`` goes through the storage's own API, so it
serves any backend django-storages offers. Each copy returns the size and SHA-256 of what was
written, which the backup and the restore check against the manifest and the database.
"""

import hashlib
import os
import secrets
import shutil
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def sha256_of(path: Path) -> str:
    with open(path, "rb") as source:
        return _sha256_of_stream(source)


def _sha256_of_stream(source) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def copy_stream(reader, target: Path) -> tuple[int, str]:
    """Write ``reader`` to ``target`` (via a temporary name), returning the size and SHA-256 written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    digest, size = hashlib.sha256(), 0
    try:
        with open(partial, "wb") as writer:
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return size, digest.hexdigest()


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a manifest path that would step outside ``root``."""
    return root.joinpath(*checked_parts(relative))


def checked_parts(relative: str) -> tuple[str, ...]:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"The manifest names a file outside the backup: {relative!r}. This backup is not usable.")
    return path.parts


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalFiles:
    """The private files in a folder on disk."""

    label = "PRIVATE_MEDIA_ROOT"

    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()
        self.where = self.root

    def names(self) -> list[str]:
        """Relative POSIX paths of the regular files, sorted (links are not followed)."""
        if not self.root.is_dir():
            return []
        found = []
        for folder, subfolders, names in os.walk(self.root):
            subfolders.sort()
            for name in names:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    found.append(path.relative_to(self.root).as_posix())
        return sorted(found)

    def refuse_unless_empty(self, force: bool) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise BackupError(f"{self.root} is not a folder.")
        if self.root.is_dir() and any(self.root.iterdir()) and not force:
            raise BackupError(
                f"{self.root} is not empty. Restore into an empty folder, or add --force to write over it."
            )

    def copy_out(self, name: str, target: Path) -> tuple[int, str]:
        source = self.root / name
        with open(source, "rb") as reader:
            written = copy_stream(reader, target)
        shutil.copystat(source, target)
        return written

    def copy_in(self, source: Path, name: str) -> tuple[int, str]:
        target = inside(self.root, name)
        with open(source, "rb") as reader:
            written = copy_stream(reader, target)
        shutil.copystat(source, target)
        return written

    def sha256(self, name: str) -> str | None:
        path = inside(self.root, name)
        return sha256_of(path) if path.is_file() else None


class StorageFiles:
    """The private files in a Django storage other than a folder: an S3-compatible bucket."""

    label = "the private files' storage"

    def __init__(self, storage):
        self.storage = storage
        bucket, location = getattr(storage, "bucket_name", None), getattr(storage, "location", "")
        self.where = f"s3://{bucket}/{location}".rstrip("/") if bucket else type(storage).__name__

    def names(self) -> list[str]:
        found, folders = [], [""]
        while folders:
            folder = folders.pop()
            subfolders, files = self.storage.listdir(folder)
            prefix = f"{folder}/" if folder else ""
            found += [prefix + name for name in files]
            folders += [prefix + name for name in subfolders]
        return sorted(found)

    def refuse_unless_empty(self, force: bool) -> None:
        if not force and any(self.storage.listdir("")):
            raise BackupError(
                f"{self.where} is not empty. Restore into an empty bucket, or add --force to write over it."
            )

    def copy_out(self, name: str, target: Path) -> tuple[int, str]:
        with self.storage.open(name, "rb") as reader:
            return copy_stream(reader, target)

    def copy_in(self, source: Path, name: str) -> tuple[int, str]:
        """Upload under exactly ``name`` (a restore keeps every stored name), then read back what the
        storage holds: its size and SHA-256 are those checked."""
        name = "/".join(checked_parts(name))
        if self.storage.exists(name):  # --force: the storage never overwrites (file_overwrite off)
            self.storage.delete(name)
        with open(source, "rb") as reader:
            saved = self.storage.save(name, File(reader, name=name))
        if saved != name:
            raise BackupError(f"The storage stored {name} as {saved}; nothing else may write to it during a restore.")
        size = self.storage.size(name)
        return size, self.sha256(name)

    def sha256(self, name: str) -> str | None:
        if not self.storage.exists(name):
            return None
        with self.storage.open(name, "rb") as reader:
            return _sha256_of_stream(reader)


def configured_files():
    """The private files as the portal stores them: PRIVATE_MEDIA_ROOT on disk, or the default storage."""
    if isinstance(default_storage, FileSystemStorage):
        return LocalFiles(settings.PRIVATE_MEDIA_ROOT)
    return StorageFiles(default_storage)


def check_stored_in(files, registered) -> None:
    """Every registered file field must keep its files where the backup reads them, or it would not hold them."""
    for entry in registered:
        storage = entry.queryset.model._meta.get_field(entry.file_field).storage
        if isinstance(files, LocalFiles):
            held = isinstance(storage, FileSystemStorage) and Path(storage.location).resolve() == files.root
        else:
            held = storage is default_storage
        if not held:
            raise BackupError(f"{entry.label} files are not stored in {files.where}, so a backup cannot hold them.")
