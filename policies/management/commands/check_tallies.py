from django.core.management.base import BaseCommand, CommandError

from policies import tallies


class Command(BaseCommand):
    help = (
        "Compare the acknowledgement tallies behind the compliance dashboards with a fresh count "
        "(PostgreSQL). With --repair, count them afresh when they differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Rebuild the tallies if any differ.")

    def handle(self, *args, repair: bool, **options):
        if not tallies.kept():
            raise CommandError("Only PostgreSQL keeps tallies; on this database the dashboards count requests.")
        wrong = tallies.differences()
        if not wrong:
            self.stdout.write("The tallies agree with a fresh count.")
            return
        for side, *key, total, acknowledged in wrong[:20]:
            self.stderr.write(
                f"{side}: {dict(zip(tallies.KEY.split(', '), key, strict=True))} total {total}, acknowledged {acknowledged}"
            )
        if not repair:
            raise CommandError(f"{len(wrong)} tally rows differ from a fresh count; run again with --repair.")
        rows = tallies.rebuild()
        self.stdout.write(f"{len(wrong)} rows differed; the tallies were counted afresh ({rows} groups).")
