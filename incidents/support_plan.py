"""The support plan a case of online abuse of staff opens with (seed 002 §7.1 and Appendix 1).

Each step of Appendix 1 is a task with an owner and a due date counted in working days
(``core.workingdays``); a step that does not apply is marked not needed, with the reason. The
member of staff it supports sees the steps as ``for_staff`` words them, and their status, never the
handlers' notes (``IncidentTask.objects.of_plan_for``).
"""

from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Membership, Role
from core.audit import log_action
from core.workingdays import end_of_working_days
from incidents.models import ActionKind, Category, IncidentTask, Involvement
from incidents.reminders import _named_ids, people_with_roles, triagers


@dataclass(frozen=True)
class Step:
    key: str
    kind: str
    title: str  # for the owner; {name} is the member of staff supported
    for_staff: str  # what the member of staff sees of it
    working_days: int
    owner: str = "lead"  # "line_manager" or "lead"


# Seed 002 Appendix 1, in its order.
PLAN = [
    Step(
        "support",
        ActionKind.STAFF_SUPPORT,
        "Offer {name} support, and record whether they accepted it",
        "Support offered to you",
        1,
        owner="line_manager",
    ),
    Step(
        "evidence",
        ActionKind.NOTE,
        "Save the evidence: screenshots of the messages or pages, with the date and time they show",
        "Evidence saved, with the date and time it shows",
        1,
    ),
    Step(
        "procedures",
        ActionKind.DISCIPLINARY,
        "If a pupil or a colleague posted it: deal with it through the organisation's own mediation and disciplinary "
        "procedures",
        "If a pupil or colleague posted it: dealt with through our own procedures",
        5,
    ),
    Step(
        "meeting",
        ActionKind.MEETING,
        "If an adult posted it: a senior leader invites them to a meeting to address their concerns",
        "If an adult posted it: a senior leader meets them",
        5,
    ),
    Step(
        "removal",
        ActionKind.REMOVAL_REQUEST,
        "Ask the person who posted it to remove it",
        "The person who posted it asked to remove it",
        5,
    ),
    Step(
        "platform",
        ActionKind.PLATFORM_REPORT,
        "If they refuse: report it to the platform where it breaks the platform's terms (record a takedown)",
        "Reported to the platform, if it was not removed",
        10,
    ),
    Step(
        "advice",
        ActionKind.HELPLINE,
        "Seek advice where needed: the local authority, legal advisers, the UK Safer Internet Centre "
        "or the Professionals Online Safety Helpline",
        "Advice sought from legal advisers or a helpline, where needed",
        10,
    ),
    Step(
        "police",
        ActionKind.POLICE,
        "If it threatens someone, or is sexual, sexist or hateful: consider reporting it to the police",
        "The police contacted, if it is threatening or hateful",
        1,
    ),
]
STEPS = {step.key: step for step in PLAN}


def staff_supported(incident):
    """The member of staff abused: the first named as affected, else the signed-in reporter."""
    affected = incident.named_people.filter(involvement=Involvement.AFFECTED).select_related("user").first()
    return affected.user if affected else incident.reported_by


def line_managers_of(person, incident, *, named) -> list:
    """Their line manager where they work (current, not named in the report, not themselves)."""
    managers = (
        Membership.objects.current()
        .reaching(incident.organisation)
        .filter(user=person, line_manager__isnull=False, line_manager__is_active=True)
        .exclude(line_manager_id__in=[*named, person.pk])
        .select_related("line_manager")
    )
    return list({m.line_manager for m in managers})


def open_support_plan(incident) -> tuple[list, list]:
    """In the report's transaction: the plan's tasks, and the line managers to tell. Nothing for
    another category, or when the organisation has nobody to own the steps."""
    if incident.category != Category.ABUSE_OF_STAFF:
        return [], []
    person = staff_supported(incident)
    named = _named_ids(incident)
    managers = line_managers_of(person, incident, named=named) if person else []
    leads = people_with_roles(incident.organisation, {Role.LEAD}, exclude_ids=named) or triagers(incident, named)
    if not leads:
        return [], managers
    now = timezone.now()
    owners = {"lead": leads[0], "line_manager": managers[0] if managers else leads[0]}
    name = (person.full_name or person.email) if person else "the member of staff"
    tasks = IncidentTask.objects.bulk_create(
        IncidentTask(
            incident=incident,
            kind=step.kind,
            title=step.title.format(name=name),
            plan_step=step.key,
            supports=person,
            owner=owners[step.owner],
            due_at=end_of_working_days(now, step.working_days, incident.organisation),
            assigned_at=now,
        )
        for step in PLAN
    )
    log_action(
        "incident.support_plan_opened",
        actor=incident.reported_by,
        organisation=incident.organisation,
        obj=incident,
        details={"tasks": [t.pk for t in tasks], "supports": person.pk if person else None},
    )
    return tasks, managers


def progress_for(person, incident) -> list[dict]:
    """What the member of staff sees of their plan: each step in their words and its status, no notes."""
    return [
        {"label": STEPS[task.plan_step].for_staff, "status": task.status, "status_label": task.get_status_display()}
        for task in incident.tasks.of_plan_for(person)
        if task.plan_step in STEPS
    ]


def told_at_report(incident) -> str:
    """For the member of staff's confirmation: who was told of their report so support can start (002 §7.1)."""
    person = staff_supported(incident)
    if incident.category != Category.ABUSE_OF_STAFF or person is None:
        return ""
    named = _named_ids(incident)
    told = (["your line manager"] if line_managers_of(person, incident, named=named) else []) + (
        ["the head of your organisation"]
        if people_with_roles(incident.organisation, {Role.LEAD}, exclude_ids=named)
        else []
    )
    if not told:
        return ""
    return f"{' and '.join(told).capitalize()} {'have' if len(told) > 1 else 'has'} been told, so that support can start straight away."
