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
from core.workingdays import end_of_working_days, response_due
from incidents.access import can_see_incident, triage_roles
from incidents.models import Incident, Status

log = logging.getLogger(__name__)

REPORTED, ONLINE_SAFETY = "reported", "online-safety-coordinator"
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
    """At once on submission, in the report's own transaction: the DSL team (or the lead), and the
    online safety coordinator where the seeds say so."""
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
    it has passed, LADO referrals due and overdue."""
    now = now or timezone.now()
    sent = {TRIAGE_DUE_SOON: 0, TRIAGE_OVERDUE: 0, LADO_DUE_SOON: 0, LADO_OVERDUE: 0}
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
