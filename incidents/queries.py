"""Reads: the home page's "What needs you now", who may be assigned a case, retention periods."""

import datetime as dt
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership, User
from incidents.access import handler_roles, triageable, visible_incidents, workable_tasks
from incidents.dashboard import median_hours
from incidents.models import CATEGORY_RULES, Incident, RetentionPeriod, Status, Takedown, TaskStatus

HOME_LIMIT = 10


@dataclass
class IncidentsNeedingMe:
    awaiting_triage: list = field(default_factory=list)
    assigned: list = field(default_factory=list)
    my_reports: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    now: object = None

    @property
    def any(self) -> bool:
        return bool(self.awaiting_triage or self.assigned or self.my_reports or self.tasks)


def incidents_needing(user) -> IncidentsNeedingMe:
    """The DSL team's untriaged incidents (oldest first), the person's open cases, and their own reports."""
    awaiting = list(
        visible_incidents(user)
        .filter(triageable(user), status=Status.NEW)
        .select_related("organisation")
        .order_by("reported_at")[:HOME_LIMIT]
    )
    assigned = list(
        visible_incidents(user)
        .open()
        .exclude(status=Status.NEW)
        .filter(assignee=user)
        .select_related("organisation")
        .order_by("reported_at")[:HOME_LIMIT]
    )
    mine = list(Incident.objects.filter(reported_by=user).order_by("-reported_at")[:5])
    tasks = list(
        workable_tasks(user)
        .filter(owner=user, status=TaskStatus.OPEN)
        .select_related("incident__organisation")
        .order_by("due_at", "pk")[:HOME_LIMIT]
    )
    return IncidentsNeedingMe(
        awaiting_triage=awaiting, assigned=assigned, my_reports=mine, tasks=tasks, now=timezone.now()
    )


def takedown_figures(incidents, now: dt.datetime) -> dict:
    """For the dashboard (seed 004 §4.1): takedowns awaiting the platform, those past 48 hours, and the
    median hours from the report to the platform to removal over 12 months."""
    since = now - relativedelta(months=12)
    rows = Takedown.objects.filter(incident__in=incidents)
    figures = rows.aggregate(
        awaiting=Count("pk", filter=Q(removed_at__isnull=True)),
        past_48_hours=Count("pk", filter=Q(removed_at__isnull=True, reported_at__lt=now - dt.timedelta(hours=48))),
        removed=Count("pk", filter=Q(removed_at__gte=since)),
    )
    removed = rows.filter(removed_at__gte=since)
    return figures | {"median_hours": median_hours(removed, "reported_at", "removed_at", count=figures["removed"])}


def retention_years(organisation, category: str) -> int:
    period = RetentionPeriod.objects.filter(organisation=organisation, category=category).first()
    return period.years if period else CATEGORY_RULES[category].retention_years


def possible_assignees(incident):
    """Who may be assigned the case: people whose roles would let them handle it, named people left out."""
    return (
        User.objects.filter(
            memberships__in=Membership.objects.current()
            .reaching(incident.organisation)
            .with_role(*handler_roles(incident))
        )
        .exclude(pk__in=incident.named_people.values("user_id"))
        .distinct()
        .order_by("last_name", "first_name")
    )
