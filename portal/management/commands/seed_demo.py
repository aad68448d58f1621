"""Demo data for a first look: a trust, a school in England and an adult-learning
service in Scotland, about 30 staff across every role and staff type.

Idempotent: staff go through the same CSV import as real data, so running it
again changes nothing.
"""

import io

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import Membership, Organisation, OrganisationKind, User, today
from accounts.services import add_person_without_email
from accounts.staff_import import import_staff
from approvals.demo import seed_approvals
from incidents.demo import seed_incidents
from policies.assisted import open_requests_of, record_assisted_acknowledgement
from policies.demo import seed_social_media_policy

DEMO_DOMAIN = "example.org"
DEFAULT_PASSWORD = "portal-demo-2026"
SIGN_INS = ("staff", "manager", "slt", "head", "dsl", "osc", "owner", "admin")

ORGANISATIONS = [
    # slug, name, kind, nation, parent slug
    ("northfield-trust", "Northfield Learning Trust", OrganisationKind.TRUST, "ENG", None),
    ("northfield-primary", "Northfield Primary School", OrganisationKind.SCHOOL, "ENG", "northfield-trust"),
    (
        "glenmoor-adult-learning",
        "Glenmoor Adult Learning Service",
        OrganisationKind.ADULT_LEARNING,
        "SCT",
        "northfield-trust",
    ),
]

HEADER = "First name,Last name,Email,Staff type,Job title,Department,Line manager email,Start date,Leaving date,Roles\n"
STAFF = {
    "northfield-trust": [
        "Priya,Shah,owner@,employee,Trust Compliance Lead,Central team,,2019-09-01,,policy owner",
        "Tom,Adeyemi,admin@,employee,Trust Data Manager,Central team,,2020-01-06,,organisation administrator",
        "Helen,Marsh,trust.dsl@,employee,Trust Safeguarding Lead,Central team,,2018-04-16,,DSL",
        "Gareth,Lloyd,ceo@,employee,Chief Executive,Central team,,2016-09-01,,SLT;organisation lead",
    ],
    "northfield-primary": [
        # The import records a line manager wherever their own row is in the file.
        "Jo,Bennett,head@,employee,Headteacher,Leadership,,2014-01-06,,organisation lead;SLT",
        "Alex,Okafor,slt@,employee,Deputy Headteacher,Leadership,head@,2015-09-01,,SLT;line manager",
        "Morgan,Reid,manager@,employee,Phase Leader,Key Stage 2,slt@,2017-09-01,,line manager",
        "Sam,Taylor,staff@,employee,Class Teacher,Year 4,manager@,2021-09-01,,staff",
        "Chris,Patel,dsl@,employee,Assistant Headteacher,Leadership,head@,2016-09-01,,DSL;SLT",
        "Nadia,Hussain,deputy.dsl@,employee,Inclusion Manager,Inclusion,dsl@,2019-09-01,,deputy DSL",
        "Ben,Clarke,osc@,employee,Computing Lead,Key Stage 2,manager@,2020-09-01,,online safety coordinator",
        "Lucy,Evans,l.evans@,employee,Class Teacher,Year 5,manager@,2022-09-01,,",
        "Oliver,Grant,o.grant@,temporary,Maternity Cover Teacher,Year 3,manager@,2025-01-06,2026-07-22,",
        "Amira,Begum,a.begum@,agency,Supply Teacher,Year 6,manager@,2026-09-01,,",
        "Dan,Fletcher,d.fletcher@,contractor,IT Technician,Operations,slt@,2023-04-17,,",
        "Grace,Wilson,g.wilson@,volunteer,Reading Volunteer,Key Stage 1,manager@,2024-09-09,,",
        "Ruth,Okoro,r.okoro@,secondee,Speech and Language Therapist,Inclusion,deputy.dsl@,2025-09-01,,",
        "Ian,Moss,i.moss@,governor,Chair of Governors,Governing board,,2018-09-01,,",
        "Kate,Dunn,k.dunn@,employee,Teaching Assistant,Key Stage 1,manager@,2019-09-01,,",
        "Leo,Harris,l.harris@,employee,School Business Manager,Operations,head@,2017-04-18,,SLT;organisation administrator",
        "Fiona,Wright,f.wright@,employee,Class Teacher,Year 2,manager@,2012-09-01,2025-08-31,",
        "Ravi,Kumar,r.kumar@,employee,Office Manager,Operations,l.harris@,2021-01-04,,",
    ],
    "glenmoor-adult-learning": [
        "Isla,Campbell,i.campbell@,employee,Service Manager,Management,,2015-08-17,,organisation lead;SLT",
        "Callum,Fraser,c.fraser@,employee,Curriculum Manager,Management,i.campbell@,2018-08-20,,SLT;line manager;online safety coordinator",
        "Eilidh,Ross,e.ross@,employee,Learner Support Lead,Learner support,i.campbell@,2017-08-21,,DSL",
        "Rory,MacLeod,r.macleod@,employee,ESOL Tutor,Languages,c.fraser@,2020-08-17,,deputy DSL",
        "Mhairi,Stewart,m.stewart@,temporary,Digital Skills Tutor,Digital,c.fraser@,2025-08-18,2026-06-26,",
        "Ewan,Murray,e.murray@,volunteer,Community Learning Volunteer,Community,c.fraser@,2023-01-09,,",
        "Shona,Kerr,s.kerr@,agency,Sessional Tutor,Digital,c.fraser@,2026-01-12,,",
        "Hamish,Baird,h.baird@,employee,Administrator,Management,i.campbell@,2019-02-04,,organisation administrator",
    ],
}

# Staff without a work email or device (seed 000 §2, 002 §3): first name, last name, staff type, job
# title, department, line manager's address; whether their line manager has recorded their
# acknowledgement from a signed sheet.
WITHOUT_EMAIL = {
    "northfield-primary": [
        ("Pat", "Lowe", "employee", "Cleaner", "Operations", "manager@", True),
        ("Sue", "Barker", "employee", "Lunchtime Supervisor", "Key Stage 1", "manager@", False),
    ],
}


def _drawn_sheet(name: str) -> SimpleUploadedFile:
    """A made-up photo of a signed sheet, for the demo's record of a paper acknowledgement."""
    image = Image.new("RGB", (600, 300), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "Social Media Policy: I have read and understood it.", fill=(0, 0, 0))
    draw.text((20, 80), f"Name: {name}", fill=(0, 0, 0))
    draw.line((20, 160, 300, 140), fill=(20, 40, 120), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile("signed-sheet.png", buffer.getvalue(), content_type="image/png")


class Command(BaseCommand):
    help = "Create or refresh the demo trust, its two member organisations and their staff."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for every demo sign-in.")

    @transaction.atomic
    def handle(self, *args, password: str, **options):
        orgs: dict[str, Organisation] = {}
        for slug, name, kind, nation, parent in ORGANISATIONS:
            orgs[slug], _ = Organisation.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "nation": nation,
                    "parent": orgs.get(parent),
                    "email_domains": DEMO_DOMAIN,
                    # Demo only: so a tester signs in with the password alone. Shown with a warning.
                    "require_mfa": False,
                },
            )
        for slug, rows in STAFF.items():
            csv_text = HEADER + "".join(row.replace("@,", f"@{DEMO_DOMAIN},") + "\n" for row in rows)
            report = import_staff(organisation=orgs[slug], data=csv_text)
            if not report.ok:
                raise RuntimeError("Demo staff did not import: " + "; ".join(map(str, report.errors)))
        demo_users = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
        self._set_passwords(demo_users, password)
        self._confirm_addresses(demo_users)
        seed_social_media_policy(orgs["northfield-trust"], User.objects.get(email=f"owner@{DEMO_DOMAIN}"))
        self._seed_without_email(orgs)
        seed_approvals(orgs, DEMO_DOMAIN)
        seed_incidents(orgs["northfield-primary"], domain=DEMO_DOMAIN)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({timezone.localdate():%d %B %Y})."))
        self.stdout.write(f"Sign in with any of these, password {password!r}:")
        for name in SIGN_INS:
            self.stdout.write(f"  {name}@{DEMO_DOMAIN}")

    @staticmethod
    def _seed_without_email(orgs) -> None:
        """Once each: added as an administrator adds them, after the policies, so they are asked as new
        starters; the first signed on paper, recorded by their line manager."""
        for slug, people in WITHOUT_EMAIL.items():
            for first, last, staff_type, job, department, manager, signed in people:
                existing = Membership.objects.filter(
                    organisation=orgs[slug], user__email=None, user__first_name=first, user__last_name=last
                ).first()
                if existing:
                    continue
                line_manager = User.objects.get(email=f"{manager}{DEMO_DOMAIN}")
                membership = add_person_without_email(
                    organisation=orgs[slug],
                    actor=None,
                    first_name=first,
                    last_name=last,
                    staff_type=staff_type,
                    job_title=job,
                    department=department,
                    line_manager=line_manager,
                )
                requests = [r.pk for r in open_requests_of(membership)]
                if signed and requests:
                    record_assisted_acknowledgement(
                        actor=line_manager,
                        membership=membership,
                        request_ids=requests,
                        method="paper",
                        made_on=today(),
                        signed_sheet=_drawn_sheet(f"{first} {last}"),
                    )

    @staticmethod
    def _confirm_addresses(users) -> None:
        """Sign-in needs a confirmed address; nobody can open the demo's mailboxes, so the demo confirms them."""
        confirmed = set(EmailAddress.objects.filter(user__in=users, verified=True).values_list("user_id", flat=True))
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user=user, email=user.email, verified=True, primary=True)
                for user in users.exclude(pk__in=confirmed)
            ],
            ignore_conflicts=True,
        )

    @staticmethod
    def _set_passwords(users, password: str) -> None:
        """One hash shared by every demo sign-in: hashing is slow by design, and this is demo data."""
        sample = users.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX).first()
        hashed = sample.password if sample and sample.check_password(password) else make_password(password)
        users.exclude(password=hashed).update(password=hashed)
