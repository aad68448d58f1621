from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from accounts.staff_import import import_staff


class Command(BaseCommand):
    help = "Import or update staff from a CSV file exported by a school MIS. A file with any bad row changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument("--invite", action="store_true", help="Email new people an invitation to set a password.")

    def handle(self, *args, file: Path, organisation: str, invite: bool, **options):
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            raise CommandError(f"No organisation has the slug {organisation!r}.")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        report = import_staff(organisation=org, data=data, invite=invite)
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"Nothing was imported: {len(report.errors)} problem(s) in {file}.")
        self.stdout.write(
            f"Imported {file} into {org.name}: {report.created} added, {report.updated} updated, "
            f"{report.unchanged} unchanged"
            + (f", {len(report.offered)} asked to accept (they have an account elsewhere)." if report.offered else ".")
        )
        for note in report.waiting:
            self.stdout.write(str(note))
