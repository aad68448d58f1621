from django.core.management.base import BaseCommand, CommandError

from approvals import register
from approvals.crypto import CredentialsUnavailable


class Command(BaseCommand):
    help = (
        "Re-encrypt every official account's stored sign-in details with the newest key in "
        "CREDENTIALS_ENCRYPTION_KEYS. Safe to run again: details already on the newest key are left alone."
    )

    def handle(self, *args, **options):
        try:
            report = register.rotate_credentials_key()
        except CredentialsUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Sign-in details: {report.rotated} re-encrypted with the newest key, "
            f"{report.current} already on it, {len(report.unreadable)} unreadable."
        )
        if report.unreadable:
            raise CommandError(
                "No key in CREDENTIALS_ENCRYPTION_KEYS reads the sign-in details of account(s) "
                f"{', '.join(str(pk) for pk in report.unreadable)}: put the old key back at the end of the list, "
                "or ask the account's administrators to record the details again."
            )
