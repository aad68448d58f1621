"""Builds the benchmark's deployment: ``python bench/make_data.py --staff 25000``.

By default one trust of 100 organisations (the trust and 99 schools) and ``--staff`` people
with every role; 30 trust policies with two versions each (about 60% of the current versions
acknowledged); official accounts with a response log; and incidents with their chronologies.
``--trusts 10 --standalone 500 --staff 250000`` builds a provider's deployment: ten such trusts
and 500 schools in no trust, each with 10 policies of its own, the staff spread evenly over
every school. The first trust and its schools keep their names (``bench-trust``,
``school-001``...) at every shape, so the bench measures the same people's pages. ``--staff
250`` builds the same shape small: the same organisations, policies and roles, with fewer
people, accounts, items and incidents.

It drops and recreates its own database (``<name>_<staff>``), migrates it and
fills it with bulk inserts; append-only tables cannot be emptied any other way.
Every spread is taken from a seeded generator, so two builds are the same.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_DATABASE_URL, database_url_for, django_env, is_sqlite, setup_django  # noqa: E402
from bench.make_activity import Activity  # noqa: E402

ORGANISATIONS = 100  # a trust and its 99 schools
POLICIES = 30  # each trust's
STANDALONE_POLICIES = 10  # each school in no trust: its own few
FULL_STAFF = 25_000
DEPARTMENTS = [
    "Early Years",
    "Key Stage 1",
    "Key Stage 2",
    "English",
    "Maths",
    "Science",
    "Humanities",
    "Support",
    "Office",
]
STAFF_TYPES = [
    ("employee", 75),
    ("temporary", 8),
    ("agency", 5),
    ("contractor", 4),
    ("volunteer", 4),
    ("secondee", 1),
    ("governor", 3),
]
BATCH = 5000
MIN_STAFF_PER_SCHOOL = 2  # every school has someone to own its policies and someone to ask
DOMAIN = "bench.example"


def recreate_database(url: str) -> None:
    if is_sqlite(url):
        path = Path(url.split("sqlite:///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def database_exists(url: str, staff: int, trusts: int = 1, standalone: int = 0) -> bool:
    """A complete build of this size is there (``--reuse``)."""
    if is_sqlite(url):
        path = Path(url.split("sqlite:///", 1)[1])
        if not path.exists():
            return False
        import sqlite3

        try:
            row = sqlite3.connect(path).execute("SELECT staff, trusts, standalone FROM bench_build").fetchone()
        except sqlite3.Error:
            return False
        return bool(row) and tuple(row) == (staff, trusts, standalone)
    import psycopg2

    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT staff, trusts, standalone FROM bench_build")
            row = cursor.fetchone()
            return bool(row) and tuple(row) == (staff, trusts, standalone)
    except psycopg2.Error:
        return False
    finally:
        connection.close()


def role_slots(size: int) -> list[tuple[str, ...]]:
    """Roles of a school's people by position: every role is held in every school, and
    a small school stacks them on fewer people."""
    slots = [
        ("lead", "slt"),
        ("slt",),
        ("slt", "policy_owner"),
        ("dsl",),
        ("deputy_dsl",),
        ("online_safety",),
        ("admin",),
    ]
    slots += [("line_manager",)] * max(1, size // 10)
    holders = max(1, min(len(slots), size - max(1, size // 3)))  # a third at least hold no role but "staff"
    merged: list[set] = [set() for _ in range(holders)]
    for i, roles in enumerate(slots):
        merged[i % len(merged)].update(roles)
    return [tuple(sorted(r)) for r in merged]


class Builder(Activity):
    def __init__(self, staff: int, seed: int = 2026, *, trusts: int = 1, standalone: int = 0):
        from django.utils import timezone

        self.staff = staff
        self.trusts, self.standalone = trusts, standalone
        self.scale = staff / FULL_STAFF
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.timings = {}

    def step(self, name, fn):
        started = time.perf_counter()
        fn()
        self.timings[name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {self.timings[name]} s", flush=True)

    def build(self):
        self.step("people", self.people)
        self.step("policies", self.policies)
        self.step("acknowledgements", self.acknowledgements)
        self.step("accounts", self.accounts)
        self.step("incidents", self.incidents)
        self.step("finish", self.finish)

    # People ---------------------------------------------------------------------------
    def organisations(self):
        """The trusts with their schools, then the schools in no trust. ``families``: (top
        organisation, its schools, how many policies it keeps)."""
        from accounts.models import Organisation, OrganisationKind

        nations = ["ENG", "ENG", "ENG", "WLS", "SCT", "NIR"]
        self.families = []
        for t in range(self.trusts):
            number = "" if t == 0 else f"-{t + 1:02d}"
            trust = Organisation.objects.create(
                name=f"Bench Learning Trust{number}",
                slug=f"bench-trust{number}",
                kind=OrganisationKind.TRUST,
                email_domains=DOMAIN,
            )
            prefix = "" if t == 0 else f"t{t + 1:02d}-"
            schools = self._bulk(
                Organisation,
                [
                    Organisation(
                        name=f"Bench School {prefix}{i:03d}",
                        slug=f"{prefix}school-{i:03d}",
                        parent=trust,
                        nation=nations[i % 6],
                        email_domains=DOMAIN,
                    )
                    for i in range(1, ORGANISATIONS)
                ],
            )
            if not schools[0].pk:  # SQLite before RETURNING: read them back
                schools = list(Organisation.objects.filter(parent=trust).order_by("slug"))
            self.families.append((trust, schools, POLICIES))
        solos = self._bulk(
            Organisation,
            [
                Organisation(
                    name=f"Bench Standalone School {i:03d}",
                    slug=f"solo-{i:03d}",
                    nation=nations[i % 6],
                    email_domains=DOMAIN,
                )
                for i in range(1, self.standalone + 1)
            ],
        )
        if solos and not solos[0].pk:
            solos = list(Organisation.objects.filter(slug__startswith="solo-").order_by("slug"))
        self.families += [(school, [], STANDALONE_POLICIES) for school in solos]
        self.trust = self.families[0][0]
        self.schools = [school for _, schools, _ in self.families for school in schools] + solos
        self.top_of = {school.pk: (school.parent_id or school.pk) for school in self.schools}
        self.top_of.update({top.pk: top.pk for top, _, _ in self.families})

    def people(self):
        from allauth.mfa.models import Authenticator
        from django.contrib.auth.hashers import make_password

        from accounts.models import Membership, RoleGrant, User

        self.organisations()
        password = make_password("bench-password-not-for-use")  # one hash for everyone: sign-in is not measured

        # Each trust's own people first, then the schools' staff spread evenly.
        trust_people = [
            ("lead", ("lead", "slt", "dsl", "admin")),
            ("owner", ("policy_owner", "slt")),
            ("dsl", ("dsl",)),
        ]
        trusts = [top for top, schools, _ in self.families if schools]
        school_staff = self.staff - len(trust_people) * len(trusts)
        sizes = [
            school_staff // len(self.schools) + (1 if i < school_staff % len(self.schools) else 0)
            for i in range(len(self.schools))
        ]
        types = [t for t, w in STAFF_TYPES for _ in range(w)]
        users, placements = [], []  # placements: (org, staff_type, department, roles, position)
        for t, trust in enumerate(trusts):
            name = "trust" if t == 0 else f"trust{t + 1:02d}"
            for local, roles in trust_people:
                users.append(
                    User(
                        email=f"{name}.{local}@{DOMAIN}", first_name=local.title(), last_name="Trust", password=password
                    )
                )
                placements.append((trust, "employee", "Central team", roles, 0))
        for school, size in zip(self.schools, sizes, strict=True):
            slots = role_slots(size)
            for position in range(size):
                users.append(
                    User(
                        email=f"{school.slug}.{position:04d}@{DOMAIN}",
                        first_name=f"P{position}",
                        last_name=f"{school.slug.title()}",
                        password=password,
                    )
                )
                roles = slots[position] if position < len(slots) else ()
                staff_type = "employee" if roles else types[self.rng.randrange(len(types))]
                placements.append((school, staff_type, DEPARTMENTS[position % len(DEPARTMENTS)], roles, position))
        users = self._bulk(User, users)
        self.users = users
        # Who owns each family's policies: the trust's policy owner, or a school's own.
        self.owners = {}
        for user, (org, _, _, roles, _) in zip(users, placements, strict=True):
            if "policy_owner" in roles:
                self.owners.setdefault(self.top_of[org.pk], user)

        # Line managers of each school, so staff can be given one.
        managers_by_school = {}
        for user, (org, _, _, roles, _) in zip(users, placements, strict=True):
            if "line_manager" in roles:
                managers_by_school.setdefault(org.pk, []).append(user.pk)
        memberships = []
        for user, (org, staff_type, department, roles, position) in zip(users, placements, strict=True):
            managers = managers_by_school.get(org.pk, [])
            leaving = None
            share = self.rng.random()
            if not roles and share < 0.02:
                leaving = self.today - dt.timedelta(days=self.rng.randint(1, 300))  # left: drops out of the figures
            elif not roles and share < 0.03:
                leaving = self.today + dt.timedelta(days=self.rng.randint(1, 60))  # leaving soon: still counts
            start = self.today - dt.timedelta(days=self.rng.randint(400, 4000))
            if not roles and 0.03 <= share < 0.05:
                start = self.today - dt.timedelta(days=self.rng.randint(1, 20))  # a new starter
            memberships.append(
                Membership(
                    user_id=user.pk,
                    organisation=org,
                    staff_type=staff_type,
                    job_title="Teacher" if staff_type == "employee" else staff_type.title(),
                    department=department,
                    line_manager_id=managers[position % len(managers)] if managers and not roles else None,
                    start_date=start,
                    leaving_date=leaving,
                )
            )
        memberships = self._bulk(Membership, memberships)
        self.memberships = memberships
        grants, authenticators = [], []
        privileged = {"slt", "lead", "dsl", "deputy_dsl", "admin"}
        for membership, (_, _, _, roles, _) in zip(memberships, placements, strict=True):
            for role in {"staff", *roles}:
                grants.append(RoleGrant(membership_id=membership.pk, role=role))
            if privileged & set(roles):  # organisations require two-factor sign-in of these roles
                authenticators.append(Authenticator(user_id=membership.user_id, type="totp", data={"secret": "bench"}))
        self._bulk(RoleGrant, grants, returning=False)
        self._bulk(Authenticator, authenticators, returning=False)
        self.roles = {m.pk: set(p[3]) for m, p in zip(memberships, placements, strict=True)}

    # Policies and acknowledgements ----------------------------------------------------
    def policies(self):
        from policies import rendering
        from policies.models import Category, Policy, PolicyVersion

        text = (Path(__file__).resolve().parent.parent / "policies/demo_texts/social_media_v2.md").read_text()
        html = rendering.render_markdown(text)  # once: every version shows the same text
        sha = rendering.text_sha256(html)
        categories = Category.values
        policies = []
        for top, _, count in self.families:
            for i in range(count):
                audience = {}
                if i == count - 2:
                    audience = {"audience_staff_types": ["employee", "temporary", "secondee"]}
                elif i == count - 1:
                    audience = {"audience_roles": ["slt", "lead", "dsl", "deputy_dsl"]}
                policies.append(
                    Policy(
                        organisation=top,
                        title=f"Policy {i + 1:02d}: {categories[i % len(categories)].replace('_', ' ').title()}",
                        category=categories[i % len(categories)],
                        owner=self.owners[top.pk],
                        approval_body="Trust board" if top.kind == "trust" else "Governing board",
                        is_social_media_policy=(i == 0),
                        next_review_date=self.today + dt.timedelta(days=30 + 11 * i),
                        **audience,
                    )
                )
        policies = self._bulk(Policy, policies)
        versions = []
        number = {}
        for policy in policies:
            i = number[policy.organisation_id] = number.get(policy.organisation_id, -1) + 1
            old = self.now - dt.timedelta(days=400 + i)
            new = self.now - dt.timedelta(days=5 + 4 * i)  # the newest due in 9 days; the oldest long overdue
            for label, status, published in (("1", "superseded", old), ("2", "published", new)):
                versions.append(
                    PolicyVersion(
                        policy=policy,
                        label=label,
                        status=status,
                        text=text,
                        html=html,
                        content_sha256=sha,
                        approval_date=published.date(),
                        effective_date=published.date(),
                        approved_by=policy.approval_body,
                        published_at=published,
                        published_by=policy.owner,
                        due_date=(published + dt.timedelta(days=14)).date(),
                        created_by=policy.owner,
                    )
                )
        versions = self._bulk(PolicyVersion, versions)
        for policy, (_, current) in zip(policies, zip(versions[::2], versions[1::2], strict=True), strict=True):
            policy.acknowledgement_version = current
        for start in range(0, len(policies), BATCH):
            Policy.objects.bulk_update(policies[start : start + BATCH], ["acknowledgement_version"])
        self.policy_versions = list(zip(policies, versions[::2], versions[1::2], strict=True))

    def acknowledgements(self):
        """Everyone in each audience asked for both versions; 90% acknowledged the first, about 60% the current.

        Each school has its own rate (40% to 80%), so the breakdowns differ. On PostgreSQL the rows
        go in by COPY with the tables' triggers off (``session_replication_role``), and the tallies
        are then counted afresh by the product's own ``tallies.rebuild()``, as after any bulk load:
        row by row through the ORM, 14 million requests took hours.
        """
        from django.db import connection

        school_rate = {org.pk: 0.4 + 0.4 * (i / len(self.schools)) for i, org in enumerate(self.schools)}
        for top, schools, _ in self.families:
            if schools:
                school_rate[top.pk] = 0.9
        family_members = {}  # a family's people: its trust's and its schools' (or a school's in no trust)
        for m in self.memberships:
            family_members.setdefault(self.top_of[m.organisation_id], []).append(m)
        loader = _CopyLoader() if connection.vendor == "postgresql" else _OrmLoader(self)
        with loader:
            for policy, old, current in self.policy_versions:
                audience = [
                    m
                    for m in family_members.get(policy.organisation_id, [])
                    if (not policy.audience_staff_types or m.staff_type in policy.audience_staff_types)
                    and (not policy.audience_roles or self.roles[m.pk] & set(policy.audience_roles))
                ]
                for version, rate_of in ((old, lambda m: 0.9), (current, lambda m: school_rate[m.organisation_id])):
                    published_on = version.published_at.date()
                    acks, rows = [], []
                    for m in audience:
                        due = version.due_date
                        if m.start_date > published_on:
                            if version is old:
                                continue  # joined after it was replaced
                            due = m.start_date + dt.timedelta(days=14)
                        done = self.rng.random() < rate_of(m)
                        if done:
                            when = version.published_at + dt.timedelta(hours=self.rng.randint(1, 24 * 20))
                            acks.append((m.user_id, min(when, self.now)))
                        rows.append((m, due, done))
                    ack_ids = iter(loader.acknowledgements(version, acks))
                    # Every open request is due a reminder: the sweep does its largest run.
                    loader.requests(
                        version,
                        [(m.user_id, m.pk, due, next(ack_ids) if done else None) for m, due, done in rows],
                        self.today,
                        self.now,
                    )

    def finish(self):
        from django.db import connection

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, user_id bigint NOT NULL, created_at timestamptz NOT NULL)"
                )
            else:
                cursor.execute(
                    "CREATE TABLE bench_insert (id integer PRIMARY KEY AUTOINCREMENT, user_id bigint NOT NULL, created_at datetime NOT NULL)"
                )
            cursor.execute(
                "CREATE TABLE bench_build (staff integer NOT NULL, trusts integer NOT NULL,"
                " standalone integer NOT NULL, built_at varchar(40) NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO bench_build VALUES (%s, %s, %s, %s)",
                [self.staff, self.trusts, self.standalone, self.now.isoformat()],
            )
        if connection.vendor == "postgresql":
            from policies import tallies

            tallies.fold()  # as the nightly duty would have by now
            # Fresh statistics, as a live database's autovacuum would have.
            connection.ensure_connection()
            raw = connection.connection
            old = raw.autocommit
            raw.autocommit = True
            with raw.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            raw.autocommit = old

    def _bulk(self, model, objects, returning=True):
        """Bulk insert in batches; returns the saved objects (with primary keys where the database gives them)."""
        saved = []
        for start in range(0, len(objects), BATCH):
            chunk = objects[start : start + BATCH]
            model.objects.bulk_create(chunk)
            if returning:
                saved.extend(chunk)
        return saved


class _OrmLoader:
    """Acknowledgements and their requests through the ORM, in batches (SQLite)."""

    def __init__(self, builder):
        self.builder = builder

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acknowledgements(self, version, acks) -> list[int]:
        from policies.models import Acknowledgement

        objects = [
            Acknowledgement(
                user_id=user_id,
                version=version,
                acknowledged_at=when,
                ip_address="192.0.2.10",
                user_agent="bench",
                content_sha256=version.content_sha256,
            )
            for user_id, when in acks
        ]
        return [a.pk for a in self.builder._bulk(Acknowledgement, objects)]

    def requests(self, version, rows, today, now) -> None:
        from policies.models import AcknowledgementRequest

        objects = [
            AcknowledgementRequest(
                version=version,
                user_id=user_id,
                membership_id=membership_id,
                due_date=due,
                acknowledgement_id=ack_id,
                reminder_stage=0,
                next_reminder_on=today,
            )
            for user_id, membership_id, due, ack_id in rows
        ]
        self.builder._bulk(AcknowledgementRequest, objects, returning=False)


class _CopyLoader:
    """Acknowledgements and their requests by COPY (PostgreSQL), ids reserved from each table's
    sequence, with triggers (the tallies', the append-only guard, the foreign keys' checks) off for
    the load; on leaving, the tallies are counted afresh from the rows and the triggers are back on."""

    FLUSH = 200_000

    def __enter__(self):
        from django.db import connection

        connection.ensure_connection()
        self.cursor = connection.connection.cursor()
        self.cursor.execute("SET session_replication_role = replica")
        self.buffers = {"policies_acknowledgement": [], "policies_acknowledgementrequest": []}
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            for table in self.buffers:
                self._flush(table)
        self.cursor.execute("SET session_replication_role = DEFAULT")
        self.cursor.close()
        if exc_type is None:
            from policies import tallies

            tallies.rebuild()
        return False

    def _reserve(self, table: str, n: int) -> range:
        if not n:
            return range(0)
        self.cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), nextval(pg_get_serial_sequence('{table}', 'id')) + %s - 1)",
            [n],
        )
        last = self.cursor.fetchone()[0]
        return range(last - n + 1, last + 1)

    def _add(self, table: str, lines) -> None:
        buffer = self.buffers[table]
        buffer.extend(lines)
        if len(buffer) >= self.FLUSH:
            self._flush(table)

    def _flush(self, table: str) -> None:
        import io

        buffer = self.buffers[table]
        if not buffer:
            return
        columns = {
            "policies_acknowledgement": "id, user_id, version_id, acknowledged_at, ip_address, user_agent,"
            " content_sha256, method, signed_sheet, signed_sheet_sha256",
            "policies_acknowledgementrequest": "id, version_id, user_id, membership_id, due_date,"
            " acknowledgement_id, reminder_stage, next_reminder_on, created_at",
        }[table]
        self.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(buffer)))
        buffer.clear()

    def acknowledgements(self, version, acks) -> list[int]:
        ids = self._reserve("policies_acknowledgement", len(acks))
        sha = version.content_sha256
        self._add(
            "policies_acknowledgement",
            (
                f"{pk}\t{user_id}\t{version.pk}\t{when.isoformat()}\t192.0.2.10\tbench\t{sha}\tsigned_in\t\t\n"
                for pk, (user_id, when) in zip(ids, acks, strict=True)
            ),
        )
        return list(ids)

    def requests(self, version, rows, today, now) -> None:
        ids = self._reserve("policies_acknowledgementrequest", len(rows))
        stamp, on = now.isoformat(), today.isoformat()
        self._add(
            "policies_acknowledgementrequest",
            (
                f"{pk}\t{version.pk}\t{user_id}\t{membership_id}\t{due.isoformat()}\t"
                f"{ack_id if ack_id is not None else chr(92) + 'N'}\t0\t{on}\t{stamp}\n"
                for pk, (user_id, membership_id, due, ack_id) in zip(ids, rows, strict=True)
            ),
        )


def counts() -> dict:
    from accounts.models import Membership, User
    from approvals.models import OfficialAccount, ResponseItem
    from incidents.models import Incident, IncidentAction
    from policies.models import Acknowledgement, AcknowledgementRequest, PolicyVersion

    return {
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "policy_versions": PolicyVersion.objects.count(),
        "acknowledgement_requests": AcknowledgementRequest.objects.count(),
        "acknowledgements": Acknowledgement.objects.count(),
        "official_accounts": OfficialAccount.objects.count(),
        "response_items": ResponseItem.objects.count(),
        "incidents": Incident.objects.count(),
        "chronology_entries": IncidentAction.objects.count(),
    }


def build(url: str, staff: int, trusts: int = 1, standalone: int = 0) -> dict:
    """Recreate, migrate and fill the database at ``url`` (this process's settings must point at it)."""
    started = time.perf_counter()
    recreate_database(url)
    setup_django()
    from django.core.management import call_command

    print(f"Building {staff} staff in {trusts} trusts and {standalone} schools in no trust, in {url}", flush=True)
    call_command("migrate", verbosity=0)
    builder = Builder(staff, trusts=trusts, standalone=standalone)
    builder.build()
    figures = {
        "staff": staff,
        "trusts": trusts,
        "standalone": standalone,
        "seconds": round(time.perf_counter() - started, 1),
        "steps": builder.timings,
        "rows": counts(),
    }
    print(f"  built in {figures['seconds']} s: {figures['rows']}", flush=True)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=FULL_STAFF)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="the server and base name; the size is appended (default %(default)s)",
    )
    parser.add_argument("--exact-url", action="store_true", help="use --database-url as it is, without the size")
    parser.add_argument("--trusts", type=int, default=1, help="trusts of 100 organisations (default %(default)s)")
    parser.add_argument("--standalone", type=int, default=0, help="schools in no trust (default %(default)s)")
    args = parser.parse_args(argv)
    needed = MIN_STAFF_PER_SCHOOL * (args.trusts * (ORGANISATIONS - 1) + args.standalone)
    if args.staff < needed:
        parser.error(f"--staff {args.staff} is too few for that many schools: at least {needed}")
    url = args.database_url if args.exact_url else database_url_for(args.database_url, args.staff)
    os.environ.update(django_env(url))
    import json

    print(json.dumps(build(url, args.staff, args.trusts, args.standalone)))


if __name__ == "__main__":
    main()
