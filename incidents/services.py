"""Changes to incidents: reporting, evidence, triage, the chronology, closure and records.

Each function locks the incident, checks its state, raises ``IncidentError``
with a message for the person on an illegal move (changing nothing), writes the
chronology where a case reader needs it and the audit trail always. Alerts are
written to the outbox in the same transaction (``incidents.reminders``), so a
rolled-back report alerts nobody and a kept one alerts, whatever the broker does.
"""

import datetime as dt
import secrets

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Organisation
from core.audit import log_action
from core.validators import check_value
from incidents import evidence as evidence_files
from incidents import notices, reminders, support_plan
from incidents.access import DSL_TEAM, can_see_incident, can_triage_incident, is_reporter
from incidents.models import (
    CATEGORY_RULES,
    HAND_ACTIONS,
    NO_UPLOAD_CATEGORIES,
    OUTCOMES_NEEDING_REASON,
    REFERRALS,
    STATUS_MOVES,
    ActionKind,
    Category,
    Evidence,
    Incident,
    IncidentAction,
    Involvement,
    NamedPerson,
    Outcome,
    Severity,
    Status,
    TaskStatus,
)
from incidents.queries import retention_years


class IncidentError(Exception):
    """A move the rules do not allow; the message says why, for the person who tried."""


NUDE_IMAGERY_REFUSAL = (
    "Do not upload, copy or forward nude or semi-nude images, even as evidence: it may itself be a crime, "
    "and UKCIS guidance says staff must never view or copy them. Describe what you saw or were told instead, "
    "and the DSL will decide what happens next."
)


# Reporting
# ------------------------------------------------------------------------------


REPEAT_WINDOW = dt.timedelta(minutes=10)


def _check_files(incident_category: str, files: list, already: int = 0) -> list:
    """Check every file before anything is saved: one bad file refuses the lot."""
    if files and incident_category in NO_UPLOAD_CATEGORIES:
        raise IncidentError(NUDE_IMAGERY_REFUSAL)
    if already + len(files) > evidence_files.MAX_FILES:
        left = evidence_files.MAX_FILES - already
        raise IncidentError(
            f"A report can hold at most {evidence_files.MAX_FILES} files; "
            + (f"you can add {left} more." if left > 0 else "this one has no room for more.")
        )
    checked = []
    for upload, shown_at in files:
        if shown_at is None:
            raise IncidentError(f"Give the date and time “{upload.name}” shows.")
        check_value(Evidence, "shown_at", shown_at, raising=IncidentError)
        try:
            checked.append((evidence_files.check_upload(upload), shown_at))
        except evidence_files.EvidenceError as exc:
            raise IncidentError(str(exc)) from exc
    return checked


def _store(incident: Incident, checked: list, uploader) -> list[Evidence]:
    stored = []
    for file, shown_at in checked:
        item = Evidence(
            incident=incident,
            original_name=file.name,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            width=file.width,
            height=file.height,
            shown_at=shown_at,
            uploaded_by=uploader if uploader is not None and uploader.is_authenticated else None,
        )
        item.original.save(
            evidence_files.stored_name(file.extension, suffix="-original"), ContentFile(file.data), save=False
        )
        if file.viewable is not None:
            item.viewable.save(
                evidence_files.stored_name(file.viewable_extension), ContentFile(file.viewable), save=False
            )
        item.save()
        stored.append(item)
    return stored


# No 0/O or 1/I: a reference is read out on the phone and typed from a letter. 32 symbols,
# eight of them: 40 random bits, so a reference says nothing of how many came before it.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_ATTEMPTS = 5


def new_reference() -> str:
    """A reference such as INC-7KQ4-M2XD, drawn at random (``secrets``), never counted."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"INC-{chars[:4]}-{chars[4:]}"


def _create_with_reference(**fields) -> Incident:
    """Create the incident under a fresh random reference, drawing again if the organisation has it."""
    attempts = REFERENCE_ATTEMPTS
    while True:
        reference = new_reference()
        try:
            with transaction.atomic():  # a savepoint: a collision undoes this insert only
                return Incident.objects.create(reference=reference, **fields)
        except IntegrityError:
            attempts -= 1
            taken = Incident.objects.filter(organisation=fields["organisation"], reference=reference).exists()
            if not taken or attempts == 0:
                raise


def _current_members(organisation, users) -> set[int]:
    return set(
        Membership.objects.current().reaching(organisation).filter(user__in=users).values_list("user_id", flat=True)
    )


def _holds_dsl_role(organisation, users) -> bool:
    return Membership.objects.current().reaching(organisation).filter(user__in=users).with_role(*DSL_TEAM).exists()


def report_incident(
    *,
    organisation,
    reporter,
    category: str,
    occurred_at: dt.datetime,
    description: str,
    platform: str = "other",
    location: str = "",
    pupils: list | None = None,
    subjects=(),
    affected=(),
    files: list | None = None,
    public_reporter: str = "",
    contact_name: str = "",
    contact_details: str = "",
    official_account=None,
    response_item=None,
    notify: bool = True,
) -> Incident:
    """Record a report and alert the DSL team at once, leaving out anyone named in it.

    ``reporter`` is None for the public page. ``files`` is a list of (upload, shown_at).
    """
    if category not in Category.values:
        raise IncidentError("Choose what kind of concern this is.")
    check_value(Incident, "occurred_at", occurred_at, raising=IncidentError)
    checked = _check_files(category, files or [])
    subjects, affected = list(subjects), [u for u in affected if u not in subjects]
    named = subjects + affected
    if named and _current_members(organisation, named) != {u.pk for u in named}:
        raise IncidentError("Only current members of staff can be named from the staff list.")
    if (
        official_account is not None
        and official_account.organisation_id not in organisation.family_ids + organisation.reach_ids
    ):
        raise IncidentError("Choose an official account of this organisation from the register.")
    if response_item is not None and (official_account is None or response_item.account_id != official_account.pk):
        raise IncidentError("The response-log item does not belong to that official account.")
    now = timezone.now()
    with transaction.atomic():
        # The organisation's row is locked so that two submissions of the same report queue here,
        # and the second finds the first.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        # A double click or a resubmission of the same report returns the first one (and alerts once).
        repeat = Incident.objects.filter(
            organisation=organisation,
            reported_by=reporter if reporter is not None and reporter.is_authenticated else None,
            category=category,
            occurred_at=occurred_at,
            description=description,
            reported_at__gte=now - REPEAT_WINDOW,
        ).first()
        if repeat is not None:
            return repeat
        if response_item is not None and Incident.objects.filter(response_item=response_item).exists():
            raise IncidentError("That response-log item has already been escalated to an incident.")
        incident = _create_with_reference(
            organisation=organisation,
            official_account=official_account,
            response_item=response_item,
            category=category,
            platform=platform,
            occurred_at=occurred_at,
            location=location,
            description=description,
            pupils=pupils or [],
            reported_by=reporter if reporter is not None and reporter.is_authenticated else None,
            reported_at=now,
            is_public=reporter is None,
            public_reporter=public_reporter,
            contact_name=contact_name,
            contact_details=contact_details,
            is_safeguarding=CATEGORY_RULES[category].safeguarding,
            # DESIGN.md: an allegation about a DSL or deputy goes to the organisation lead instead.
            routed_to_lead=bool(subjects) and _holds_dsl_role(organisation, subjects),
            triage_due_at=reminders.triage_due(now, organisation),
        )
        NamedPerson.objects.bulk_create(
            [NamedPerson(incident=incident, user=u, involvement=Involvement.SUBJECT) for u in subjects]
            + [NamedPerson(incident=incident, user=u, involvement=Involvement.AFFECTED) for u in affected]
        )
        _store(incident, checked, reporter)
        # Seed 002 §7.1, App. 1: online abuse of staff opens with its support plan, and support starts now.
        plan, line_managers = support_plan.open_support_plan(incident)
        log_action(
            "incident.reported",
            actor=reporter,
            organisation=organisation,
            obj=incident,
            to_state=Status.NEW,
            details={
                "category": category,
                "public": incident.is_public,
                "evidence": len(checked),
                "routed_to_lead": incident.routed_to_lead,
            },
        )
        if notify:
            reminders.alert_new_incident(incident)
            if incident.category == Category.ABUSE_OF_STAFF:
                notices.tell_of_abuse_of_staff(incident, line_managers=line_managers, plan_tasks=plan)
    return incident


# Evidence added later
# ------------------------------------------------------------------------------


def add_evidence(*, incident, actor, files: list) -> list[Evidence]:
    if not files:
        raise IncidentError("Choose at least one file.")
    if not (can_see_incident(actor, incident) or is_reporter(actor, incident)):
        raise PermissionDenied
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.destroyed_at:
            raise IncidentError("This record has been destroyed under the retention schedule.")
        if locked.status == Status.CLOSED:
            raise IncidentError("This incident is closed. Reopen it to add evidence.")
        checked = _check_files(locked.category, files, already=locked.evidence.count())
        stored = _store(locked, checked, actor)
        chronicle(
            locked,
            ActionKind.EVIDENCE,
            actor,
            ", ".join(f"{e.original_name} (SHA-256 {e.sha256[:12]}…)" for e in stored),
        )
        log_action(
            "incident.evidence_added",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"files": [{"name": e.original_name, "sha256": e.sha256, "size": e.size} for e in stored]},
        )
    return stored


# Triage and handling
# ------------------------------------------------------------------------------


def chronicle(incident, kind, actor, text="", *, happened_at=None, external_reference="", corrects=None):
    # To the minute, as people enter times: an action entered "now" then sorts after this entry, not before.
    return IncidentAction.objects.create(
        incident=incident,
        kind=kind,
        happened_at=happened_at or timezone.now().replace(second=0, microsecond=0),
        text=text,
        external_reference=external_reference,
        corrects=corrects,
        recorded_by=actor,
    )


def lock_incident(incident) -> Incident:
    return Incident.objects.select_for_update().select_related("organisation").get(pk=incident.pk)


def triage(
    *,
    incident,
    actor,
    severity: str,
    is_safeguarding: bool,
    assignee,
    first_assessment: str,
    lado_referral_needed: bool = False,
    at: dt.datetime | None = None,
) -> Incident:
    """The DSL team's first look: severity, safeguarding or not, who handles it, and why.

    Can be repeated while the case is open (to reassign it, say); the first one moves it to triaged.
    ``at`` is when the triage was made (now unless given: a triage made earlier, as the demo's story
    tells it); the triage time, the LADO deadline and the chronology entry all follow it.
    """
    if not can_triage_incident(actor, incident):
        raise PermissionDenied
    if severity not in Severity.values:
        raise IncidentError("Choose a severity.")
    if not first_assessment.strip():
        raise IncidentError("Write your first assessment.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if not locked.is_open:
            raise IncidentError("This incident is closed. Reopen it before triaging it again.")
        if assignee is not None:
            # The assignee must be someone who may see the case as it will be after triage.
            locked.is_safeguarding = is_safeguarding
            if not can_see_incident(assignee, locked):
                raise IncidentError(f"{assignee.full_name} cannot be assigned this incident: they may not see it.")
        before, assigned_before = locked.status, locked.assignee_id
        now = _triage_time(locked, at)
        locked.severity = severity
        locked.is_safeguarding = is_safeguarding
        locked.assignee = assignee
        locked.first_assessment = first_assessment
        fields = ["severity", "is_safeguarding", "assignee", "first_assessment", "updated_at"]
        if locked.status == Status.NEW:
            locked.status = Status.TRIAGED
            locked.triaged_at = now
            locked.triaged_by = actor
            fields += ["status", "triaged_at", "triaged_by"]
        if lado_referral_needed and locked.lado_due_at is None and locked.lado_referred_at is None:
            locked.lado_due_at = reminders.lado_due(now, locked.organisation)
            fields.append("lado_due_at")
        locked.save(update_fields=fields)
        summary = (
            f"Severity {locked.get_severity_display().lower()}; "
            f"{'safeguarding' if is_safeguarding else 'not safeguarding'}; "
            f"assigned to {assignee.full_name if assignee else 'nobody yet'}."
        )
        if locked.lado_due_at and "lado_due_at" in fields:
            summary += f" LADO referral due by {timezone.localtime(locked.lado_due_at):%H:%M on %d %b %Y}."
        entry = chronicle(
            locked, ActionKind.TRIAGE, actor, f"{summary}\n\n{first_assessment}", happened_at=now if at else None
        )
        if locked.assignee_id != assigned_before:
            notices.tell_assignee(locked, actor=actor, entry=entry)
        notices.tell_reporters(locked, actor=actor, before=before, entry=entry)
        log_action(
            "incident.triaged",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=before,
            to_state=locked.status,
            details={
                "severity": severity,
                "safeguarding": is_safeguarding,
                "assignee": assignee.pk if assignee else None,
                "late": locked.triaged_at > locked.triage_due_at,
            },
        )
        if severity == Severity.CRITICAL:
            reminders.alert_critical(locked)
    return locked


def _triage_time(incident, at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if at > now or at < incident.reported_at or (incident.triaged_at and at < incident.triaged_at):
        raise IncidentError("A triage time must be between the report (or the last triage) and now.")
    return at


def _require_handler(actor, incident) -> None:
    if not can_see_incident(actor, incident):
        raise PermissionDenied


def record_action(
    *,
    incident,
    actor,
    kind: str,
    happened_at: dt.datetime,
    text: str,
    external_reference: str = "",
    corrects: IncidentAction | None = None,
) -> IncidentAction:
    """Add a dated entry to the chronology; a referral moves the case to referred."""
    _require_handler(actor, incident)
    check_value(IncidentAction, "happened_at", happened_at, raising=IncidentError)
    if corrects is not None:
        kind = ActionKind.ADDENDUM
        if corrects.incident_id != incident.pk:
            raise IncidentError("An addendum must correct an entry of the same incident.")
    elif kind not in HAND_ACTIONS:
        raise IncidentError("Choose what kind of action this was.")
    if not text.strip():
        raise IncidentError("Describe the action.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.status == Status.NEW:
            raise IncidentError("Triage the incident before recording actions.")
        if locked.status == Status.CLOSED and corrects is None:
            raise IncidentError("This incident is closed. Reopen it to add actions; corrections can still be added.")
        repeat = locked.actions.filter(
            kind=kind,
            happened_at=happened_at,
            text=text,
            recorded_by=actor,
            recorded_at__gte=timezone.now() - REPEAT_WINDOW,
        ).first()
        if repeat is not None:  # a double click: the entry is already in the chronology
            return repeat
        entry = chronicle(
            locked, kind, actor, text, happened_at=happened_at, external_reference=external_reference, corrects=corrects
        )
        before = locked.status
        fields = ["updated_at"]
        if kind in REFERRALS and locked.status in (Status.TRIAGED, Status.IN_PROGRESS):
            locked.status = Status.REFERRED
            fields.append("status")
        elif kind != ActionKind.ADDENDUM and locked.status == Status.TRIAGED:
            locked.status = Status.IN_PROGRESS
            fields.append("status")
        if kind == ActionKind.LADO and locked.lado_referred_at is None:
            locked.lado_referred_at = happened_at
            fields.append("lado_referred_at")
        locked.save(update_fields=fields)
        notices.tell_reporters(locked, actor=actor, before=before, entry=entry)
        log_action(
            "incident.action_recorded",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=before,
            to_state=locked.status,
            details={"kind": kind, "entry": entry.pk, "corrects": corrects.pk if corrects else None},
        )
    return entry


def move_status(*, incident, actor, to: str) -> Incident:
    """In progress or referred by hand; closing has its own service (it needs an outcome)."""
    _require_handler(actor, incident)
    if to == Status.CLOSED:
        raise IncidentError("Close the incident with its outcome.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if to not in STATUS_MOVES[locked.status]:
            raise IncidentError(
                f"An incident that is {locked.get_status_display().lower()} cannot move to "
                f"{Status(to).label.lower() if to in Status.values else to}."
            )
        before = locked.status
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        entry = chronicle(locked, ActionKind.STATUS, actor, f"{Status(before).label} → {Status(to).label}.")
        notices.tell_reporters(locked, actor=actor, before=before, entry=entry)
        log_action(
            "incident.status_changed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=before,
            to_state=to,
        )
    return locked


def close_incident(*, incident, actor, outcome: str, reason: str = "", reporter_message: str = "") -> Incident:
    """``reason`` stays with the handlers; ``reporter_message`` is for the reporter (``incidents.reporters``)."""
    _require_handler(actor, incident)
    if outcome not in Outcome.values:
        raise IncidentError("Choose the outcome.")
    if outcome in OUTCOMES_NEEDING_REASON and not reason.strip():
        raise IncidentError(f"Say why: “{Outcome(outcome).label}” needs a reason on the record.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if Status.CLOSED not in STATUS_MOVES[locked.status]:
            raise IncidentError(
                "Triage the incident before closing it."
                if locked.status == Status.NEW
                else "This incident is already closed."
            )
        still_open = locked.tasks.filter(status=TaskStatus.OPEN).count()
        if still_open:
            raise IncidentError(
                f"{still_open} task{' is' if still_open == 1 else 's are'} still open. Mark each done, "
                "or not needed with the reason, before closing the incident."
            )
        before = locked.status
        now = timezone.now()
        locked.status = Status.CLOSED
        locked.outcome = outcome
        locked.outcome_reason = reason
        locked.reporter_message = reporter_message.strip()
        locked.closed_at = now
        locked.retention_review_on = timezone.localtime(now).date() + relativedelta(
            years=retention_years(locked.organisation, locked.category)
        )
        fields = ["status", "outcome", "outcome_reason", "reporter_message", "closed_at", "retention_review_on"]
        locked.save(update_fields=[*fields, "updated_at"])
        told = f"\n\nTold the reporter: {locked.reporter_message}" if locked.reporter_message else ""
        text = f"Closed: {Outcome(outcome).label}." + (f"\n\n{reason}" if reason else "") + told
        entry = chronicle(locked, ActionKind.STATUS, actor, text)
        notices.tell_reporters(locked, actor=actor, before=before, entry=entry)
        log_action(
            "incident.closed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=before,
            to_state=Status.CLOSED,
            details={"outcome": outcome},
        )
    return locked


def reopen_incident(*, incident, actor, reason: str) -> Incident:
    _require_handler(actor, incident)
    if not reason.strip():
        raise IncidentError("Say why the incident is being reopened.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.status != Status.CLOSED:
            raise IncidentError("Only a closed incident can be reopened.")
        if locked.destroyed_at:
            raise IncidentError("This record has been destroyed under the retention schedule.")
        before_outcome = locked.get_outcome_display()
        locked.status = Status.IN_PROGRESS
        locked.outcome = ""
        locked.outcome_reason = locked.reporter_message = ""
        locked.closed_at = None
        locked.retention_review_on = None
        fields = ["status", "outcome", "outcome_reason", "reporter_message", "closed_at", "retention_review_on"]
        locked.save(update_fields=[*fields, "updated_at"])
        entry = chronicle(locked, ActionKind.STATUS, actor, f"Reopened (was closed: {before_outcome}).\n\n{reason}")
        notices.tell_reporters(locked, actor=actor, before=Status.CLOSED, entry=entry)
        log_action(
            "incident.reopened",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=Status.CLOSED,
            to_state=Status.IN_PROGRESS,
            details={"reason": reason},
        )
    return locked
