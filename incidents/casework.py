"""Tasks and takedowns: the actions of a case that have an owner and a due date.

Every chronology action can be set as a task (an owner and a due date); the owner is told, reminded
the working day before and on the due date, and the DSL team once it is overdue
(``incidents.reminders``). A task is done (with what was done) or not needed (with the reason),
each written to the chronology; a case closes only when every task is one or the other
(``services.close_incident``). A takedown (seed 004 §4.1) records the platform, the account or
address, when and how it was reported and the platform's reference, and sets a follow-up task 48
hours on that suggests escalating to the Professionals Online Safety Helpline (the helpline's own
advice: escalate when a platform has not acted within 48 hours).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from core.audit import log_action
from core.validators import check_value
from core.workingdays import closing_time_on, is_working_day
from incidents import notices
from incidents.access import can_see_incident, can_work_task
from incidents.models import (
    HAND_ACTIONS,
    ActionKind,
    HowReported,
    IncidentTask,
    Platform,
    Status,
    Takedown,
    TaskStatus,
)
from incidents.services import REPEAT_WINDOW, IncidentError, chronicle, lock_incident

TAKEDOWN_FOLLOW_UP = dt.timedelta(hours=48)
LONGEST_TASK = dt.timedelta(days=366)


def possible_owners(incident):
    """Current members reaching the organisation, never a person named in the report."""
    return (
        User.objects.filter(
            is_active=True, memberships__in=Membership.objects.current().reaching(incident.organisation)
        )
        .exclude(pk__in=incident.named_people.values("user_id"))
        .distinct()
        .order_by("last_name", "first_name")
    )


def _check_owner(incident, owner) -> None:
    if owner is None or not possible_owners(incident).filter(pk=owner.pk).exists():
        raise IncidentError("Choose a current member of staff, not anyone named in the report, to own the task.")


def due_at_for(incident, day: dt.date) -> dt.datetime:
    """A task due on ``day`` is due by the organisation's closing time; ``day`` must be a working day ahead."""
    today = timezone.localdate()
    if day < today:
        raise IncidentError("The due date has passed. Choose today or a later date.")
    if day > today + LONGEST_TASK:
        raise IncidentError("Choose a due date within a year.")
    if not is_working_day(day, incident.organisation.nation):
        raise IncidentError(f"{day:%A %d %B %Y} is not a working day. Choose a working day.")
    return closing_time_on(day, incident.organisation)


def _open_case(incident) -> object:
    locked = lock_incident(incident)
    if locked.status == Status.CLOSED:
        raise IncidentError("This incident is closed. Reopen it to change its tasks.")
    return locked


def add_task(*, incident, actor, kind: str, title: str, owner, due_on: dt.date) -> IncidentTask:
    """A handler sets an action as a task; its owner is told."""
    if not can_see_incident(actor, incident):
        raise PermissionDenied
    if kind not in HAND_ACTIONS:
        raise IncidentError("Choose what kind of action the task is.")
    if not title.strip():
        raise IncidentError("Say what is to be done.")
    _check_owner(incident, owner)
    due_at = due_at_for(incident, due_on)
    with transaction.atomic():
        locked = _open_case(incident)
        repeat = locked.tasks.filter(
            kind=kind,
            title=title.strip(),
            owner=owner,
            due_at=due_at,
            set_by=actor,
            assigned_at__gte=timezone.now() - REPEAT_WINDOW,
        ).first()
        if repeat is not None:  # a double click: the task is set already (and its owner told once)
            return repeat
        task = IncidentTask.objects.create(
            incident=locked, kind=kind, title=title.strip(), owner=owner, due_at=due_at, set_by=actor
        )
        chronicle(
            locked,
            kind,
            actor,
            f"Task set for {owner.full_name or owner.email}, due {timezone.localtime(due_at):%d %b %Y}: {task.title}",
        )
        log_action(
            "incident.task_set",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"task": task.pk, "kind": kind, "owner": owner.pk, "due_at": due_at.isoformat()},
        )
        notices.tell_task_owner(task, actor=actor)
    return task


def _lock_task(task, actor) -> IncidentTask:
    if not can_work_task(actor, task):
        raise PermissionDenied
    locked = IncidentTask.objects.select_for_update().select_related("incident__organisation", "owner").get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise IncidentError(f"This task is already {locked.get_status_display().lower()}.")
    return locked


def finish_task(*, task, actor, done: bool, note: str = "") -> IncidentTask:
    """Done (with what was done, optional) or not needed (the reason, required). Handlers and the owner.

    A task may be finished before triage: support for a member of staff starts at once (002 §7.1).
    """
    if not can_work_task(actor, task):
        raise PermissionDenied
    note = note.strip()
    if not done and not note:
        raise IncidentError("Say why the task is not needed.")
    if len(note) > 2000:
        raise IncidentError("Keep the note to 2,000 characters.")
    with transaction.atomic():
        incident = _open_case(task.incident)
        locked = _lock_task(task, actor)
        now = timezone.now()
        locked.status = TaskStatus.DONE if done else TaskStatus.NOT_NEEDED
        locked.note, locked.closed_at, locked.closed_by = note, now, actor
        locked.save(update_fields=["status", "note", "closed_at", "closed_by"])
        said = "Done" if done else "Not needed"
        chronicle(incident, locked.kind, actor, f"{said}: {locked.title}" + (f"\n\n{note}" if note else ""))
        before = incident.status
        if incident.status == Status.TRIAGED:
            incident.status = Status.IN_PROGRESS
            entry = chronicle(
                incident, ActionKind.STATUS, actor, f"{Status(before).label} → {incident.get_status_display()}."
            )
            incident.save(update_fields=["status", "updated_at"])
            notices.tell_reporters(incident, actor=actor, before=before, entry=entry)
        log_action(
            "incident.task_finished",
            actor=actor,
            organisation=incident.organisation,
            obj=incident,
            from_state=TaskStatus.OPEN,
            to_state=locked.status,
            details={"task": locked.pk},
        )
    return locked


def reassign_task(*, task, actor, owner) -> IncidentTask:
    """Handlers give a task to someone else, who is told."""
    if not can_see_incident(actor, task.incident):
        raise PermissionDenied
    _check_owner(task.incident, owner)
    with transaction.atomic():
        incident = _open_case(task.incident)
        locked = _lock_task(task, actor)
        if locked.owner_id == owner.pk:
            return locked
        before = locked.owner
        locked.owner, locked.assigned_at = owner, timezone.now()
        locked.save(update_fields=["owner", "assigned_at"])
        chronicle(
            incident,
            ActionKind.NOTE,
            actor,
            f"Task given to {owner.full_name or owner.email} (was {before.full_name or before.email}): {locked.title}",
        )
        log_action(
            "incident.task_reassigned",
            actor=actor,
            organisation=incident.organisation,
            obj=incident,
            details={"task": locked.pk, "from": before.pk, "to": owner.pk},
        )
        notices.tell_task_owner(locked, actor=actor)
    return locked


# Takedowns
# ------------------------------------------------------------------------------


def record_takedown(
    *,
    incident,
    actor,
    platform: str,
    target: str,
    reported_at: dt.datetime,
    how_reported: str,
    platform_reference: str = "",
    owner=None,
) -> Takedown:
    """The report to the platform, and its follow-up task 48 hours on (to ``owner``, else the actor)."""
    if not can_see_incident(actor, incident):
        raise PermissionDenied
    if platform not in Platform.values:
        raise IncidentError("Choose the platform.")
    if how_reported not in HowReported.values:
        raise IncidentError("Say how it was reported to the platform.")
    if not target.strip():
        raise IncidentError("Give the account's handle or the web address of what is to be removed.")
    check_value(Takedown, "reported_at", reported_at, raising=IncidentError)
    owner = owner or actor
    _check_owner(incident, owner)
    with transaction.atomic():
        locked = _open_case(incident)
        if locked.status == Status.NEW:
            raise IncidentError("Triage the incident before recording a takedown.")
        repeat = locked.takedowns.filter(
            platform=platform,
            target=target.strip(),
            reported_at=reported_at,
            recorded_by=actor,
            recorded_at__gte=timezone.now() - REPEAT_WINDOW,
        ).first()
        if repeat is not None:  # a double click: one takedown, one follow-up task
            return repeat
        label = Platform(platform).label
        follow_up = IncidentTask.objects.create(
            incident=locked,
            kind=ActionKind.PLATFORM_REPORT,
            title=f"Check whether {label} has removed {target.strip()[:150]}. If it has not acted within 48 hours "
            "of the report, escalate to the Professionals Online Safety Helpline.",
            owner=owner,
            due_at=reported_at + TAKEDOWN_FOLLOW_UP,
            set_by=actor,
        )
        takedown = Takedown.objects.create(
            incident=locked,
            platform=platform,
            target=target.strip(),
            reported_at=reported_at,
            how_reported=how_reported,
            platform_reference=platform_reference.strip(),
            follow_up=follow_up,
            recorded_by=actor,
        )
        chronicle(
            locked,
            ActionKind.PLATFORM_REPORT,
            actor,
            f"Reported to {label} for removal ({HowReported(how_reported).label.lower()}): {takedown.target}. "
            f"Follow-up due {timezone.localtime(follow_up.due_at):%H:%M on %d %b %Y}.",
            happened_at=reported_at,
            external_reference=takedown.platform_reference,
        )
        if locked.status == Status.TRIAGED:
            locked.status = Status.IN_PROGRESS
            locked.save(update_fields=["status", "updated_at"])
        # The support plan's step "report it to the platform" (002 App. 1) is done by this.
        locked.tasks.open().filter(plan_step="platform").update(
            status=TaskStatus.DONE, note=f"Reported to {label}.", closed_at=timezone.now(), closed_by=actor
        )
        log_action(
            "incident.takedown_recorded",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"takedown": takedown.pk, "platform": platform, "follow_up": follow_up.pk},
        )
        notices.tell_task_owner(follow_up, actor=actor)
    return takedown


def record_removal(*, takedown, actor, removed_at: dt.datetime, platform_reference: str = "") -> Takedown:
    """The platform removed it: when, and its reference if given now. The follow-up is done with it."""
    if not can_see_incident(actor, takedown.incident):
        raise PermissionDenied
    check_value(Takedown, "removed_at", removed_at, raising=IncidentError)
    with transaction.atomic():
        incident = _open_case(takedown.incident)
        locked = Takedown.objects.select_for_update().select_related("follow_up").get(pk=takedown.pk)
        if locked.removed_at is not None:
            raise IncidentError("Its removal is already recorded.")
        if removed_at < locked.reported_at:
            raise IncidentError("It cannot have been removed before it was reported to the platform.")
        locked.removed_at = removed_at
        locked.platform_reference = platform_reference.strip() or locked.platform_reference
        locked.save(update_fields=["removed_at", "platform_reference"])
        hours = (removed_at - locked.reported_at).total_seconds() / 3600
        chronicle(
            incident,
            ActionKind.PLATFORM_REMOVED,  # its own heading: a removal read as "Reported to the platform" misled
            actor,
            f"Removed by {locked.get_platform_display()}: {locked.target} ({hours:.0f} hours after the report).",
            happened_at=removed_at,
            external_reference=locked.platform_reference,
        )
        task = locked.follow_up
        if task.status == TaskStatus.OPEN:
            IncidentTask.objects.filter(pk=task.pk).update(
                status=TaskStatus.DONE, note="Removed by the platform.", closed_at=timezone.now(), closed_by=actor
            )
        log_action(
            "incident.takedown_removed",
            actor=actor,
            organisation=incident.organisation,
            obj=incident,
            details={"takedown": locked.pk, "hours": round(hours, 1)},
        )
    return locked
