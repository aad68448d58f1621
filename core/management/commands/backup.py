"""manage.py backup DIRECTORY: the database and the private files, with a manifest of their SHA-256.

The database is copied first and the files after it: why that order keeps them consistent is
in core.backups. Run it as a role that can read every table (the application role can).
"""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from core.backups import SHOWN, BackupError, take_backup


class Command(BaseCommand):
    help = "Back up the database and the private files (PRIVATE_MEDIA_ROOT or the bucket) into a new folder under DIRECTORY, with a SHA-256 manifest."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="where to put the backup's folder (created if missing)")

    def handle(self, *args, directory, **options):
        try:
            backup = take_backup(directory)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = backup.manifest
        files = manifest["files"]
        size = manifest["database"]["size"] + sum(entry["size"] for entry in files)
        self.stdout.write(f"Backup written to {backup.path}")
        self.stdout.write(
            f"  database: {manifest['database']['file']} ({manifest['database']['vendor']}), "
            f"SHA-256 {manifest['database']['sha256']}"
        )
        self.stdout.write(f"  files: {len(files)}, {size / 1024 / 1024:.1f} MB in all")
        for label, count in manifest["recorded_hashes"].items():
            self.stdout.write(f"  {label}: {count} files checked against the SHA-256 the database records")
        if problems := backup.problems:
            raise CommandError(
                f"The backup is written, but {len(problems)} file{pluralize(len(problems))} the database records "
                "a SHA-256 of did not match it (if a record was destroyed while it ran, run it again):\n  "
                + "\n  ".join(problems[:SHOWN])
                + (f"\n  and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
            )
