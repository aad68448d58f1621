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
from incidents.reminders import _named_ids, people_with_roles, send_about_task, topic
from incidents.reporters import reporter_status, reporter_view, tell_public_reporters


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


def tell_reporters(incident, *, actor, before: str, entry) -> int:
    """Whoever reported the incident, when the status they can see changes: the signed-in reporter
    and any address a public reporter left (``incidents.reporters``), in the same plain words."""
    return tell_signed_in_reporter(incident, actor=actor, before=before, entry=entry) + tell_public_reporters(
        incident, before=before, entry=entry
    )


def tell_signed_in_reporter(incident, *, actor, before: str, entry) -> int:
    """A signed-in reporter, when the status they can see changes (``incidents.reporters``: the same
    plain words a public reporter reads), and at closure with the outcome."""
    reporter = incident.reported_by
    if reporter is None or reporter.pk == getattr(actor, "pk", None):
        return 0
    if reporter_status(before) == reporter_status(incident.status):
        return 0
    view = reporter_view(incident)
    if view.is_closed:
        headline = f"Your report {incident.reference} is closed"
        message = view.outcome
    else:
        headline = f"Your report {incident.reference}: {view.status.lower()}"
        message = view.explanation
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
