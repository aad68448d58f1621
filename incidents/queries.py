"""Reads: the home page's "What needs you now", who may be assigned a case, retention periods."""

from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import Membership, User
from incidents.access import handler_roles, triageable, visible_incidents
from incidents.models import CATEGORY_RULES, Incident, RetentionPeriod, Status

HOME_LIMIT = 10


@dataclass
class IncidentsNeedingMe:
    awaiting_triage: list = field(default_factory=list)
    assigned: list = field(default_factory=list)
    my_reports: list = field(default_factory=list)
    now: object = None

    @property
    def any(self) -> bool:
        return bool(self.awaiting_triage or self.assigned or self.my_reports)


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
    return IncidentsNeedingMe(awaiting_triage=awaiting, assigned=assigned, my_reports=mine, now=timezone.now())


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
