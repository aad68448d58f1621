"""Who is told as a case moves, signed in: assignees, owners of tasks, the reporter, and for online
abuse of staff the line manager and the organisation lead. Never anyone named in the report.

Each message is an outbox row written in the transaction of the change (``core.outbox``), with a
topic naming the incident, what happened and, where it can happen again, the chronology entry or
the moment that caused it, so a retry writes it once. Like the alerts (``incidents.reminders``),
emails carry the reference and what the person is asked to do, never what happened or who is named.
"""

from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from core import outbox
from incidents.models import Outcome, Status
from incidents.reminders import _named_ids, people_with_roles, send_about_task, topic

# The outcome as the reporter reads it (DESIGN.md "Public reporters ... hear the outcome").
OUTCOME_IN_PLAIN_WORDS = {
    Outcome.NO_FURTHER_ACTION: "It was looked into and no further action is being taken.",
    Outcome.RESOLVED: "It was dealt with and resolved within the organisation.",
    Outcome.CONTENT_REMOVED: "The content or account was removed.",
    Outcome.DISCIPLINARY: "It is being dealt with under the organisation's own procedures.",
    Outcome.EXTERNAL: "It was passed to an outside agency, which is handling it.",
    Outcome.UNFOUNDED: "It was looked into and the concern was not upheld.",
}

STATUS_IN_PLAIN_WORDS = {
    Status.TRIAGED: "It has been looked at and someone has been given it to handle.",
    Status.IN_PROGRESS: "It is being handled.",
    Status.REFERRED: "It has been passed to an outside agency as well.",
}


def _notice(incident, people, *, stage: str, headline: str, message: str, link: str, lines=()) -> int:
    named = set(_named_ids(incident))
    emails = sorted({p.email for p in people if p is not None and p.email and p.pk not in named and p.is_active})
    if not emails:
        return 0
    outbox.send(
        "incidents/notice",
        to=emails,
        context={"incident": incident, "headline": headline, "message": message, "link": link, "lines": list(lines)},
        topic=topic(incident, stage),
    )
    return len(emails)


def tell_assignee(incident, *, actor, entry) -> int:
    """The person given the case, unless they gave it to themselves."""
    if incident.assignee_id is None or incident.assignee_id == getattr(actor, "pk", None):
        return 0
    return _notice(
        incident,
        [incident.assignee],
        stage=f"assigned-{entry.pk}",
        headline=f"You have been given incident {incident.reference} to handle",
        message="You have been assigned this incident. Its details are in the portal, behind your sign-in.",
        link=reverse("incidents:detail", args=[incident.pk]),
    )


def tell_reporter(incident, *, actor, entry) -> int:
    """A signed-in reporter, when the status changes and at closure (with the outcome in plain words)."""
    reporter = incident.reported_by
    if reporter is None or reporter.pk == getattr(actor, "pk", None):
        return 0
    if incident.status == Status.CLOSED:
        headline = f"Your report {incident.reference} is closed"
        message = OUTCOME_IN_PLAIN_WORDS.get(incident.outcome, "It has been dealt with.")
    else:
        headline = f"Your report {incident.reference}: {Status(incident.status).label.lower()}"
        message = STATUS_IN_PLAIN_WORDS.get(incident.status, "Its status has changed.")
    return _notice(
        incident,
        [reporter],
        stage=f"reporter-{entry.pk}",
        headline=headline,
        message=message + " The details of how it is handled stay confidential to the people handling it.",
        link=reverse("incidents:my_report", args=[incident.pk]),
    )


def tell_task_owner(task, *, actor) -> int:
    """The owner given a task (not when they set it for themselves)."""
    if task.owner_id == getattr(actor, "pk", None) or task.owner_id in _named_ids(task.incident):
        return 0
    return send_about_task(
        task,
        [task.owner],
        topic=f"incidents.task:{task.pk}:assigned:{task.owner_id}:{int(task.assigned_at.timestamp())}",
        headline=f"You have a task on incident {task.incident.reference}",
        message=f"You have been given a task ({task.get_kind_display()}) on this incident.",
    )


def tell_of_abuse_of_staff(incident, *, line_managers, plan_tasks) -> int:
    """Seed 002 §7.1: the victim's line manager and the organisation lead, at once, so support starts now.

    Each is told what is theirs in the support plan; the plan's other tasks are on the case.
    """
    named = _named_ids(incident)
    leads = people_with_roles(incident.organisation, {Role.LEAD}, exclude_ids=named)
    told = 0
    for person in {*line_managers, *leads}:
        mine = [t for t in plan_tasks if t.owner_id == person.pk]
        told += _notice(
            incident,
            [person],
            stage=f"abuse-of-staff-{person.pk}",
            headline=f"A member of staff has reported online abuse ({incident.reference})",
            message="Your organisation's Social Media Policy asks that they are given support straight away."
            + (" You have tasks in their support plan." if mine else ""),
            link=reverse("incidents:task", args=[mine[0].pk]) if mine else reverse("home"),
            lines=[f"{t.get_kind_display()}: due by {timezone.localtime(t.due_at):%H:%M on %d %b %Y}" for t in mine],
        )
    return told
