"""Staff import from a CSV exported by a school's MIS.

Every row is checked before anything is written: a file with any bad row
changes nothing and reports each bad row by its line number. Importing the same
file again changes nothing; a changed row updates that person.
"""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Membership, Organisation, Role, StaffType, User
from accounts.notices import send_invitation
from accounts.roles import RoleChangeRefused, change_roles
from accounts.services import accounts_by_address, ask_to_acknowledge, invitation_path, offer_place
from core.audit import log_action
from core.validators import check_value


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


# Column names seen in MIS exports, by the field they fill.
COLUMNS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "forename", "preferred forename", "legal forename", "given name", "firstname"),
    "last_name": ("last name", "surname", "legal surname", "preferred surname", "family name", "lastname"),
    "email": ("email", "email address", "work email", "work email address", "school email"),
    "staff_type": ("staff type", "employment type", "contract type", "staff category"),
    "job_title": ("job title", "post", "role title", "position"),
    "department": ("department", "dept", "team", "faculty"),
    "line_manager_email": ("line manager email", "line manager", "manager email", "line manager email address"),
    "start_date": ("start date", "employment start date", "date started", "start"),
    "leaving_date": ("leaving date", "end date", "date left", "employment end date", "leave date"),
    "roles": ("roles", "portal roles", "role"),
}
HEADER_TO_FIELD = {_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}
REQUIRED_COLUMNS = ("first_name", "last_name", "email")

STAFF_TYPE_WORDS = {_key(c.value): c.value for c in StaffType} | {_key(c.label): c.value for c in StaffType}
STAFF_TYPE_WORDS |= {
    "permanent": StaffType.EMPLOYEE,
    "fixedterm": StaffType.TEMPORARY,
    "supply": StaffType.AGENCY,
    "casual": StaffType.TEMPORARY,
    "seconded": StaffType.SECONDEE,
}
ROLE_WORDS = {_key(r.value): r.value for r in Role} | {_key(r.label): r.value for r in Role}
ROLE_WORDS |= {
    "seniorleader": Role.SLT,
    "seniorleadershipteam": Role.SLT,
    "headteacher": Role.LEAD,
    "head": Role.LEAD,
    "principal": Role.LEAD,
    "director": Role.LEAD,
    "managingpartner": Role.LEAD,
    "deputydesignatedsafeguardinglead": Role.DEPUTY_DSL,
    "osc": Role.ONLINE_SAFETY,
    "onlinesafetycoordinator": Role.ONLINE_SAFETY,
    "administrator": Role.ADMIN,
    "manager": Role.LINE_MANAGER,
    "owner": Role.POLICY_OWNER,
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class StaffRow:
    line: int
    first_name: str
    last_name: str
    email: str
    staff_type: str
    job_title: str
    department: str
    line_manager_email: str
    start_date: dt.date | None
    leaving_date: dt.date | None
    roles: frozenset[str]
    columns: frozenset[str] = frozenset()  # the fields the file has a column for


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self):
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    offered: list[str] = field(default_factory=list)  # addresses of accounts elsewhere, asked to accept
    waiting: list[RowError] = field(default_factory=list)  # line managers recorded once they accept
    new_users: list[User] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class StaffImportError(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def decode(data: bytes) -> str:
    """Spreadsheet exports come as UTF-8 (often with a byte-order mark) or Windows-1252."""
    if len(data) > MAX_FILE_BYTES:
        raise StaffImportError([RowError(0, "The file is larger than 5 MB.")])
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StaffImportError([RowError(0, "The file is not a text CSV file.")])


def _parse_date(value: str, name: str, errors: list[str]) -> dt.date | None:
    """The date in a cell for the membership's field ``name``, held to that field's range."""
    if not value:
        return None
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        try:
            check_value(Membership, name, day)
        except ValidationError as error:
            errors.extend(message.rstrip(".") for message in error.messages)  # the row's message ends it
            return None
        return day
    errors.append(f"{name.replace('_', ' ')} {value!r} is not a date (use 2025-09-01 or 01/09/2025)")
    return None


def parse_staff_csv(text: str) -> tuple[list[StaffRow], list[RowError]]:
    """Read and check every row; returns the good rows and every error found."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(0, "The file is empty.")]
    except csv.Error as exc:
        return [], [RowError(1, f"The file cannot be read as CSV ({exc}).")]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        field_name = HEADER_TO_FIELD.get(_key(name))
        if field_name and field_name not in columns:
            columns[field_name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        labels = ", ".join(COLUMNS[name][0] for name in missing)
        return [], [RowError(1, f"The header row has no column for: {labels}.")]

    rows: list[StaffRow] = []
    errors: list[RowError] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row, problems = _parse_row(line, cells, columns)
            if problems:
                errors.append(RowError(line, "; ".join(problems) + "."))
            else:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"the row cannot be read as CSV ({exc})."))

    seen: dict[str, int] = {}
    for row in rows:
        if row.email in seen:
            errors.append(RowError(row.line, f"{row.email} is also on line {seen[row.email]}."))
        else:
            seen[row.email] = row.line
    if not rows and not errors:
        errors.append(RowError(0, "The file has a header row but no staff."))
    return rows, errors


def _parse_row(line: int, cells: list[str], columns: dict[str, int]) -> tuple[StaffRow | None, list[str]]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: list[str] = []
    first_name, last_name, email = cell("first_name"), cell("last_name"), cell("email").lower()
    if not first_name:
        problems.append("first name is missing")
    if not last_name:
        problems.append("last name is missing")
    try:
        validate_email(email)
    except ValidationError:
        problems.append(f"email {email!r} is not a valid address" if email else "email is missing")

    staff_type = StaffType.EMPLOYEE.value
    if cell("staff_type"):
        staff_type = STAFF_TYPE_WORDS.get(_key(cell("staff_type")))
        if staff_type is None:
            allowed = ", ".join(StaffType.values)
            problems.append(f"staff type {cell('staff_type')!r} is not one of {allowed}")

    roles = {Role.STAFF.value}
    for word in re.split(r"[;|,/]", cell("roles")):
        if not word.strip():
            continue
        role = ROLE_WORDS.get(_key(word))
        if role is None:
            problems.append(f"role {word.strip()!r} is not known")
        else:
            roles.add(role)

    start_date = _parse_date(cell("start_date"), "start_date", problems)
    leaving_date = _parse_date(cell("leaving_date"), "leaving_date", problems)
    if start_date and leaving_date and leaving_date < start_date:
        problems.append("leaving date is before start date")

    manager_email = cell("line_manager_email").lower()
    if manager_email:
        try:
            validate_email(manager_email)
        except ValidationError:
            problems.append(f"line manager email {manager_email!r} is not a valid address")
        if manager_email == email:
            problems.append("a person cannot be their own line manager")

    for name, limit in (("first_name", 100), ("last_name", 100), ("job_title", 150), ("department", 150)):
        if len(cell(name)) > limit:
            problems.append(f"{name.replace('_', ' ')} is longer than {limit} characters")

    if problems:
        return None, problems
    return (
        StaffRow(
            line=line,
            first_name=first_name,
            last_name=last_name,
            email=email,
            staff_type=staff_type,
            job_title=cell("job_title"),
            department=cell("department"),
            line_manager_email=manager_email,
            start_date=start_date,
            leaving_date=leaving_date,
            roles=frozenset(roles),
            columns=frozenset(columns),
        ),
        [],
    )


def _known_manager_emails(organisation: Organisation, emails: set[str]) -> set[str]:
    """Managers named in the file who are already staff of the organisation or its trust."""
    return set(
        Membership.objects.reaching(organisation).filter(user__email__in=emails).values_list("user__email", flat=True)
    )


def import_staff(*, organisation: Organisation, data: bytes | str, actor=None, invite: bool = False) -> ImportReport:
    """Check the whole file, then apply it in one transaction (or not at all).

    With ``invite``, people new to the portal are emailed a link to set a password.
    """
    try:
        text = decode(data) if isinstance(data, bytes) else data
    except StaffImportError as exc:
        return ImportReport(errors=exc.errors)
    rows, errors = parse_staff_csv(text)
    file_emails = {row.email for row in rows}
    named_managers = {row.line_manager_email for row in rows if row.line_manager_email}
    known = file_emails | _known_manager_emails(organisation, named_managers - file_emails)
    for row in rows:
        if row.line_manager_email and row.line_manager_email not in known:
            errors.append(
                RowError(
                    row.line,
                    f"line manager {row.line_manager_email} is not in this file or on the staff list: "
                    "add a row for them, or correct the address.",
                )
            )
    if errors:
        return ImportReport(errors=sorted(errors, key=lambda e: e.line))
    with transaction.atomic():
        # One import at a time per organisation: a double submission waits, then finds nothing to change.
        Organisation.objects.select_for_update().get(pk=organisation.pk)
        report = _apply(organisation, rows, actor)
        if report.errors:  # a refused row changes nothing, like any other bad row
            transaction.set_rollback(True)
            return ImportReport(errors=report.errors)
        ask_to_acknowledge(
            users=User.objects.filter(memberships__organisation=organisation, email__in=[row.email for row in rows])
        )
        if invite:
            for user in report.new_users:
                send_invitation(user, organisation, invitation_path(user))
        return report


COLUMN_OF = {"line_manager_id": "line_manager_email"}


def _apply(organisation: Organisation, rows: list[StaffRow], actor) -> ImportReport:
    """Two passes, so that the order of the rows does not matter: first every person in the
    file has an account, then every staff record is written with its line manager, whose own
    row may come anywhere in the file (a file sorted by name puts many managers after their
    staff; 004 §5 and 002 §3 need the manager for the overdue reminders)."""
    report = ImportReport()
    emails = {row.email for row in rows} | {row.line_manager_email for row in rows if row.line_manager_email}
    users, elsewhere = accounts_by_address(organisation, emails)
    people = _add_people(organisation, rows, actor, users, elsewhere, report)
    memberships = {
        m.user.email: m
        for m in Membership.objects.filter(organisation=organisation, user__email__in=emails)
        .select_related("user")
        .prefetch_related("role_grants")
    }
    for row, user, changes in people:
        manager = None
        if row.line_manager_email in users:
            manager = users[row.line_manager_email]
        elif row.line_manager_email in report.offered:
            # Offered a place, not yet staff here: they manage nobody until they accept.
            report.waiting.append(
                RowError(
                    row.line,
                    f"line manager {row.line_manager_email} has an account elsewhere and has been asked to join; "
                    "import this file again once they accept, to record them as line manager.",
                )
            )
        elif row.line_manager_email:
            # On the staff list by an address its holder has not confirmed: never linked by it.
            report.errors.append(
                RowError(
                    row.line,
                    f"line manager {row.line_manager_email} cannot be recorded: that address is not confirmed "
                    "as theirs yet. Ask them to sign in and confirm it, then import again.",
                )
            )
            continue
        _write_record(organisation, row, user, manager, memberships.get(row.email), changes, actor, report)
    report.errors.sort(key=lambda e: e.line)
    return report


def _add_people(organisation, rows, actor, users, elsewhere, report) -> list[tuple[StaffRow, User, dict]]:
    """The first pass: an account for everyone new, names corrected, places offered; returns
    the rows that go on to a staff record here, each with its person and the changes so far."""
    people = []
    known_here = set(
        Membership.objects.filter(organisation=organisation, user__email__in=[row.email for row in rows]).values_list(
            "user__email", flat=True
        )
    )
    for row in rows:
        changes: dict[str, list] = {}
        if actor is not None and row.email == actor.email.lower() and row.email not in known_here:
            report.errors.append(RowError(row.line, "you cannot add yourself: ask another administrator."))
            continue
        if row.email in elsewhere:
            # An account outside the group is never changed by its address: its holder is asked.
            offer_place(
                organisation=organisation,
                user=elsewhere[row.email],
                actor=actor,
                roles=row.roles,
                staff_type=row.staff_type,
                job_title=row.job_title,
                department=row.department,
                start_date=row.start_date,
                leaving_date=row.leaving_date,
            )
            report.offered.append(row.email)
            continue
        user = users.get(row.email)
        if user is None:
            user = User.objects.create_user(row.email, first_name=row.first_name, last_name=row.last_name)
            users[row.email] = user
            report.new_users.append(user)
        elif not user.memberships.exclude(
            organisation_id__in=organisation.reach_ids + organisation.family_ids
        ).exists():
            # Names are this organisation's to correct only for people it alone employs.
            for name in ("first_name", "last_name"):
                if getattr(user, name) != getattr(row, name):
                    changes[name] = [getattr(user, name), getattr(row, name)]
                    setattr(user, name, getattr(row, name))
            if changes:
                user.save(update_fields=list(changes))
        people.append((row, user, changes))
    return people


def _write_record(organisation, row, user, manager, membership, changes, actor, report) -> None:
    """The second pass, for one row: the staff record and roles, and the audit entry for the row."""
    values = {
        "staff_type": row.staff_type,
        "job_title": row.job_title,
        "department": row.department,
        "start_date": row.start_date,
        "leaving_date": row.leaving_date,
        "line_manager_id": manager.pk if manager else None,
    }
    created = membership is None
    if created:
        membership = Membership.objects.create(user=user, organisation=organisation, **values)
        old_roles: frozenset[str] = frozenset()
    else:
        # A column the file does not have leaves that field as it was: a basic export
        # with names and emails must not clear leaving dates, managers or roles.
        kept = {name: value for name, value in values.items() if COLUMN_OF.get(name, name) in row.columns}
        if manager is None and row.line_manager_email:
            kept.pop("line_manager_id")  # waiting for the manager to accept: the manager on record stays
        changed = [name for name, value in kept.items() if getattr(membership, name) != value]
        for name in changed:
            changes[name] = [str(getattr(membership, name) or ""), str(values[name] or "")]
            setattr(membership, name, values[name])
        if changed:
            membership.save(update_fields=[*changed, "updated_at"])
        old_roles = membership.roles
    if (created or "roles" in row.columns) and old_roles != row.roles:
        try:
            change_roles(membership=membership, roles=row.roles, actor=actor, via="a staff import")
        except RoleChangeRefused:
            report.errors.append(RowError(row.line, "you cannot change your own roles: ask another administrator."))
            return
        if not created:
            changes["roles"] = [sorted(old_roles), sorted(row.roles)]

    if created:
        report.created += 1
        log_action(
            "staff.imported",
            actor=actor,
            organisation=organisation,
            obj=membership,
            to_state="member",
            details={"line": row.line, "roles": sorted(row.roles)},
        )
    elif changes:
        report.updated += 1
        log_action(
            "staff.updated_by_import",
            actor=actor,
            organisation=organisation,
            obj=membership,
            details={"line": row.line, "changes": changes},
        )
    else:
        report.unchanged += 1
