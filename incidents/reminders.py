"""Alerts and reminders about incidents: each goes once per incident and stage.

Each alert's emails are written to the outbox with a topic naming the incident and the
stage (``core.outbox``): a stage already written is skipped, and the outbox's unique key
keeps retries, restarts and two sweeps at once from sending it twice. This module keeps
only the timetable (when each stage falls due) and who is told. Emails carry the reference, the
organisation, the category and the deadline, never what happened or who is
named: the detail stays behind the portal's sign-in.
"""

import datetime as dt
import logging

from django.utils import timezone

from accounts.models import Membership, Role, User
from core import outbox
from core.workingdays import LONDON, end_of_working_days, is_working_day, next_working_day, response_due
from incidents.access import can_see_incident, triage_roles
from incidents.models import TELL_SLT_CATEGORIES, Incident, IncidentTask, Status, TaskStatus

log = logging.getLogger(__name__)

REPORTED, ONLINE_SAFETY, SENIOR_LEADERS = "reported", "online-safety-coordinator", "senior-leaders"
# The stages' names are the outbox's keys for messages already written: they stay as they were.
TRIAGE_DUE_SOON, TRIAGE_OVERDUE = "triage-20h", "triage-24h"
CRITICAL = "critical"
LADO_DUE_SOON, LADO_OVERDUE = "lado-due-soon", "lado-overdue"
LADO_WARNING_HOURS = 4
# A LADO referral is due by closing time one working day after the need for it is recorded (at triage, or
# at the harm-threshold step for an allegation about staff; KCSIE Part 4).
LADO_WORKING_DAYS = 1
# DESIGN.md "Incident reporting": the DSL team triages within 24 hours, on the one clock the portal keeps
# for such duties (seed 001 §5, ``core.workingdays.response_due``): 24 elapsed hours after a report made on
# a working day; after one made on a weekend or a bank holiday of the organisation's nation, its closing
# time on the next working day. The DSL team is reminded 4 hours before the deadline (20 hours after a
# working-day report); SLT and the lead are told when it passes. Pages and emails show the deadline
# itself, and say the rule in the words of TRIAGE_CLOCK.
TRIAGE_WARNING_HOURS = 4
TRIAGE_CLOCK = "within 24 hours, or by the end of the next working day if it is sent on a weekend or a bank holiday"


def triage_due(reported_at: dt.datetime, organisation) -> dt.datetime:
    """When a report made at ``reported_at`` must be triaged."""
    return response_due(reported_at, organisation)


def lado_due(at: dt.datetime, organisation) -> dt.datetime:
    return end_of_working_days(at, LADO_WORKING_DAYS, organisation)


def topic(incident, stage: str) -> str:
    return f"incidents.incident:{incident.pk}:{stage}"


def people_with_roles(organisation, roles, *, exclude_ids=()) -> list:
    """Current members of the organisation holding any of ``roles``; the trust's if the organisation has none."""

    def _of(org_ids):
        return list(
            User.objects.filter(
                memberships__in=Membership.objects.current().filter(organisation_id__in=org_ids).with_role(*roles),
                is_active=True,
            )
            .exclude(pk__in=exclude_ids)
            .distinct()
            .order_by("last_name", "first_name")
        )

    people = _of([organisation.pk])
    if not people and organisation.parent_id:
        people = _of([organisation.parent_id])
    return people


def _named_ids(incident) -> list[int]:
    return list(incident.named_people.values_list("user_id", flat=True))


def triagers(incident, named=None) -> list:
    """Who triages it: the DSL team, or the organisation lead for an allegation about a DSL."""
    return people_with_roles(
        incident.organisation, triage_roles(incident), exclude_ids=named if named is not None else _named_ids(incident)
    )


def leaders(incident, named=None, *, slt: bool = True) -> list:
    roles = {Role.LEAD, Role.SLT} if slt and not incident.routed_to_lead else {Role.LEAD}
    return people_with_roles(
        incident.organisation, roles, exclude_ids=named if named is not None else _named_ids(incident)
    )


def _send(incident, people, *, stage: str, headline: str, message: str, deadline=None) -> int:
    emails = sorted({p.email for p in people if p.email})
    if not emails:
        log.warning("No one to tell about %s (%s)", incident.reference, headline)
        return 0
    # The category alone can be sensitive ("nude or semi-nude images"): it is named only
    # when every recipient may open the case.
    show_category = all(can_see_incident(person, incident) for person in people)
    outbox.send(
        "incidents/alert",
        to=emails,
        context={
            "incident": incident,
            "headline": headline,
            "message": message,
            "deadline": deadline,
            "show_category": show_category,
        },
        topic=topic(incident, stage),
    )
    return 1


def _load(incident) -> Incident | None:
    if isinstance(incident, Incident):
        return incident
    return Incident.objects.select_related("organisation").filter(pk=incident).first()


def _once(incident, stage: str, people, **message) -> int:
    """The stage's emails, unless they were written already."""
    if outbox.already_written(topic(incident, stage)):
        return 0
    return _send(incident, people() if callable(people) else people, stage=stage, **message)


def alert_new_incident(incident) -> int:
    """At once on submission, in the report's own transaction: the DSL team (or the lead), the
    online safety coordinator and SLT where the seeds say so. Nobody named in the report."""
    incident = _load(incident)
    if incident is None:
        return 0
    named = _named_ids(incident)
    handlers = triagers(incident, named)
    sent = _once(
        incident,
        REPORTED,
        handlers,
        headline=f"New incident {incident.reference} to triage",
        message="A new online-safety incident has been reported and needs triage by the time below.",
        deadline=incident.triage_due_at,
    )
    # Seed 004 §4.7, §5.4, §5.5: the coordinator hears of pupil contact and of abuse on an official account.
    on_official_account = incident.official_account_id is not None
    if incident.rules.tell_online_safety_coordinator or on_official_account:
        coordinators = [
            p
            for p in people_with_roles(incident.organisation, {Role.ONLINE_SAFETY}, exclude_ids=named)
            if p not in handlers
        ]
        if coordinators:
            sent += _once(
                incident,
                ONLINE_SAFETY,
                coordinators,
                headline=f"Incident {incident.reference}: for the online safety coordinator",
                message="You are told of this report as the online safety coordinator. The DSL team is handling it.",
            )
    # Seed 004 §4.1: an unofficial account using the organisation's name is reported to the Senior
    # Leadership and Safeguarding team. SLT who may open the case are told; the DSL team was, above.
    if incident.category in TELL_SLT_CATEGORIES:
        senior = [
            p
            for p in people_with_roles(incident.organisation, {Role.SLT}, exclude_ids=named)
            if p not in handlers and can_see_incident(p, incident)
        ]
        if senior:
            sent += _once(
                incident,
                SENIOR_LEADERS,
                senior,
                headline=f"Incident {incident.reference}: an account that may be using our name",
                message="Someone has reported an account that may be using the organisation's name or logo without "
                "approval. Your organisation's Social Media Policy says such accounts are reported to the senior "
                "leadership and safeguarding team, so you are told. The DSL team triages it.",
            )
    return sent


def alert_critical(incident) -> int:
    incident = _load(incident)
    if incident is None:
        return 0
    named = _named_ids(incident)

    def people():
        team = {*triagers(incident, named), *leaders(incident, named, slt=False)}
        if incident.assignee_id and incident.assignee_id not in named:
            team.add(incident.assignee)
        return team

    return _once(
        incident,
        CRITICAL,
        people,
        headline=f"Critical incident {incident.reference}",
        message="This incident has been triaged as critical. Act on it now.",
    )


def send_incident_reminders(now: dt.datetime | None = None) -> dict:
    """The sweep (every 15 minutes): untriaged incidents 4 hours before their triage deadline and once
    it has passed, LADO referrals due and overdue, and tasks."""
    now = now or timezone.now()
    sent = {TRIAGE_DUE_SOON: 0, TRIAGE_OVERDUE: 0, LADO_DUE_SOON: 0, LADO_OVERDUE: 0}
    sent |= send_task_reminders(now)
    untriaged = Incident.objects.filter(status=Status.NEW).select_related("organisation").order_by("reported_at")
    for incident in untriaged.filter(
        triage_due_at__lte=now + dt.timedelta(hours=TRIAGE_WARNING_HOURS), triage_due_at__gt=now
    ):
        sent[TRIAGE_DUE_SOON] += _once(
            incident,
            TRIAGE_DUE_SOON,
            lambda incident=incident: triagers(incident),
            headline=f"Incident {incident.reference} still needs triage",
            message=f"This incident has not been triaged, and its triage is due within {TRIAGE_WARNING_HOURS} hours.",
            deadline=incident.triage_due_at,
        )
    for incident in untriaged.filter(triage_due_at__lte=now):
        named = _named_ids(incident)
        sent[TRIAGE_OVERDUE] += _once(
            incident,
            TRIAGE_OVERDUE,
            lambda incident=incident, named=named: {*leaders(incident, named), *triagers(incident, named)},
            headline=f"Incident {incident.reference} was not triaged in time",
            message="The time for its triage has passed. Senior leaders and the organisation lead are told.",
            deadline=incident.triage_due_at,
        )
    lado = (
        Incident.objects.open()
        .filter(lado_due_at__isnull=False, lado_referred_at__isnull=True)
        .select_related("organisation", "assignee")
    )
    for incident in lado.filter(lado_due_at__lte=now + dt.timedelta(hours=LADO_WARNING_HOURS), lado_due_at__gt=now):
        sent[LADO_DUE_SOON] += _once(
            incident,
            LADO_DUE_SOON,
            lambda incident=incident: _case_team(incident),
            headline=f"LADO referral for {incident.reference} due soon",
            message="The LADO referral for this incident is due within one working day of triage and has not been recorded.",
            deadline=incident.lado_due_at,
        )
    for incident in lado.filter(lado_due_at__lte=now):
        named = _named_ids(incident)
        sent[LADO_OVERDUE] += _once(
            incident,
            LADO_OVERDUE,
            lambda incident=incident, named=named: {*_case_team(incident, named), *leaders(incident, named, slt=False)},
            headline=f"LADO referral for {incident.reference} is overdue",
            message="The LADO referral was due within one working day and has not been recorded.",
            deadline=incident.lado_due_at,
        )
    return sent


def _case_team(incident, named=None) -> set:
    named = named if named is not None else _named_ids(incident)
    people = set(triagers(incident, named))
    if incident.assignee_id and incident.assignee_id not in named:
        people.add(incident.assignee)
    return people


# Tasks: the owner the working day before and on the due date, the DSL team once overdue
# ------------------------------------------------------------------------------

TASK_DUE_SOON, TASK_DUE_TODAY, TASK_OVERDUE = "task-due-soon", "task-due-today", "task-overdue"
TASK_REMINDER_HOUR = 7  # owners hear in the morning, as with policy reminders; overdue is told at once
TASK_LOOKAHEAD = dt.timedelta(days=7)  # the working day before a due date is never further back than this


def task_topic(task, stage: str) -> str:
    """Per due date (a task given a new date is reminded again) and, for the owner's stages, per owner."""
    owner = f":{task.owner_id}" if stage != TASK_OVERDUE else ""
    return f"incidents.task:{task.pk}:{int(task.due_at.timestamp())}:{stage}{owner}"


def task_stage(task, now: dt.datetime) -> str | None:
    """The stage an open task is at now, or None: one window each, so a sweep sends at most one."""
    if now > task.due_at:
        return TASK_OVERDUE
    local = now.astimezone(LONDON)
    due_day = task.due_at.astimezone(LONDON).date()
    nation = task.incident.organisation.nation
    if local.hour < TASK_REMINDER_HOUR:
        return None
    if local.date() == due_day:
        return TASK_DUE_TODAY
    if is_working_day(local.date(), nation) and next_working_day(local.date(), nation) >= due_day:
        return TASK_DUE_SOON
    return None


def _task_message(task, stage: str) -> dict:
    what = task.get_kind_display()
    if stage == TASK_OVERDUE:
        return {
            "headline": f"A task on incident {task.incident.reference} is overdue",
            "message": f"A task ({what}) owned by {task.owner.full_name or task.owner.email} was due and is not done.",
        }
    when = "today" if stage == TASK_DUE_TODAY else "by the next working day"
    return {
        "headline": f"Your task on incident {task.incident.reference} is due {when}",
        "message": f"You have a task ({what}) on this incident. Mark it done, or not needed with the reason, "
        "once it is settled.",
    }


def send_task_reminders(now: dt.datetime) -> dict:
    sent = {TASK_DUE_SOON: 0, TASK_DUE_TODAY: 0, TASK_OVERDUE: 0}
    tasks = (
        IncidentTask.objects.filter(status=TaskStatus.OPEN, due_at__lte=now + TASK_LOOKAHEAD)
        .select_related("incident__organisation", "owner")
        .order_by("due_at", "pk")
    )
    for task in tasks:
        stage = task_stage(task, now)
        if stage is None or outbox.already_written(task_topic(task, stage)):
            continue
        named = _named_ids(task.incident)
        if stage == TASK_OVERDUE:
            people = triagers(task.incident, named)
        else:
            people = [task.owner] if task.owner_id not in named and task.owner.is_active else []
        sent[stage] += send_about_task(task, people, topic=task_topic(task, stage), **_task_message(task, stage))
    return sent


def send_about_task(task, people, *, topic: str, headline: str, message: str) -> int:
    """One email per person about a task: its incident's reference and the due date, never its details."""
    emails = sorted({p.email for p in people if p.email})
    if not emails:
        log.warning("No one to tell about a task on %s (%s)", task.incident.reference, headline)
        return 0
    outbox.send(
        "incidents/task",
        to=emails,
        context={"task": task, "incident": task.incident, "headline": headline, "message": message},
        topic=topic,
    )
    return 1
