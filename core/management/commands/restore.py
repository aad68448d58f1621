"""manage.py restore BACKUP: a backup from manage.py backup, checked file by file.

The database copy's SHA-256 is checked before anything is written. Afterwards every file is
checked against the manifest, and every file the database records a SHA-256 of (evidence)
against that hash; any mismatch or missing file makes the command fail. Run it as the tables'
owner (DATABASE_URL=$DATABASE_OWNER_URL) into an empty database.
"""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from core.backups import SHOWN, BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup into an empty database and private folder, and verify every file's SHA-256."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the backup's folder (the one holding manifest.json)")
        parser.add_argument(
            "--database-name",
            help="the database to restore into, on DATABASE_URL's server (DATABASE_DIRECT_URL's when DATABASE_URL is pooled; SQLite: a file); default its database",
        )
        parser.add_argument(
            "--private-root",
            help="a folder to put the files in (default: where the portal keeps them: PRIVATE_MEDIA_ROOT or the bucket)",
        )
        parser.add_argument("--force", action="store_true", help="write over a database or folder that is not empty")

    def handle(self, *args, backup, database_name, private_root, force, **options):
        try:
            restored = restore_backup(backup, database=database_name, private_root=private_root, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored the database into {restored.database} and the files into {restored.private_root}")
        self.stdout.write(f"  files against the manifest: {self._tally(restored.files)}")
        for label, tally in restored.recorded.items():
            self.stdout.write(f"  {label} against the SHA-256 the database records: {self._tally(tally)}")
        for note in restored.notes:
            self.stdout.write(f"  {note}")
        if restored.problems:
            count = len(restored.problems)
            raise CommandError(
                f"The restore is not intact ({count} problem{pluralize(count)}):\n  "
                + "\n  ".join(restored.problems[:SHOWN])
                + (f"\n  and {count - SHOWN} more" if count > SHOWN else "")
            )
        self.stdout.write(self.style.SUCCESS("Every file matches its recorded SHA-256."))

    @staticmethod
    def _tally(tally) -> str:
        return f"{tally.checked} checked, {tally.verified} verified, {tally.mismatched} mismatched, {tally.missing} missing"
