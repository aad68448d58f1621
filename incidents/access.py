"""Who sees, triages and handles which online-safety incident: each rule written once.

DESIGN.md "Incident reporting" and "Who sees what": a safeguarding incident is seen by
the DSL team of its organisation (a trust-level DSL reaches its members) and the
organisation lead; other incidents by SLT too; an allegation about a DSL or deputy
(``routed_to_lead``, seed 002 §7 and Appendix 1) by the organisation lead alone. A
person named in a report never sees it, whatever their roles. The reporter follows
their own report's status (``is_reporter``), never the case file.

Every list, page, export and service asks these functions; the object checks come from
the same filters as the lists (``core.rules``).
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404

from accounts.models import Role
from accounts.permissions import DSL_TEAM, access_for
from core.rules import RoleRule, holds
from incidents.models import Incident, IncidentTask, NamedPerson

# Open the case file (detail, chronology, evidence, exports) and so handle the case.
SEE = RoleRule(
    ({"routed_to_lead": True}, frozenset({Role.LEAD})),
    ({"routed_to_lead": False, "is_safeguarding": True}, DSL_TEAM | {Role.LEAD}),
    ({"routed_to_lead": False, "is_safeguarding": False}, DSL_TEAM | {Role.LEAD, Role.SLT}),
)

# The harm-threshold step for a concern about a member of staff (KCSIE Part 4) and what it decided: the
# DSL team and the organisation lead, never SLT, even where SLT handle the case; for an allegation about a
# DSL or deputy, the lead alone (as the case itself).
THRESHOLD = RoleRule(
    ({"routed_to_lead": True}, frozenset({Role.LEAD})),
    ({"routed_to_lead": False}, DSL_TEAM | {Role.LEAD}),
)

# Triage, legal holds and retention decisions.
TRIAGE = RoleRule(
    ({"routed_to_lead": True}, frozenset({Role.LEAD})),
    ({"routed_to_lead": False}, DSL_TEAM),
)


def _not_named(user) -> Q:
    return ~Q(Exists(NamedPerson.objects.filter(incident=OuterRef("pk"), user_id=user.pk)))


def _scope(rule: RoleRule, user) -> Q:
    return rule.filter(access_for(user).roles_by_org) & _not_named(user)


def seeable(user) -> Q:
    """The incidents the person may open, as a filter on ``Incident``."""
    return _scope(SEE, user)


def triageable(user) -> Q:
    """The incidents the person triages: the DSL team's, or the lead's when a DSL is the subject."""
    return _scope(TRIAGE, user)


def visible_incidents(user):
    """Every list, dashboard and export of incidents starts here."""
    return Incident.objects.filter(seeable(user))


def can_see_incident(user, incident) -> bool:
    return holds(seeable(user), incident)


def can_triage_incident(user, incident) -> bool:
    return holds(triageable(user), incident)


def can_decide_threshold(user, incident) -> bool:
    """Whether the person sees, and takes, the harm-threshold step of the case."""
    return holds(_scope(THRESHOLD, user), incident)


def is_reporter(user, incident) -> bool:
    """The reporter sees their own report's reference and status, and may add evidence; nothing else."""
    return incident.reported_by_id is not None and incident.reported_by_id == getattr(user, "pk", None)


def handler_roles(incident) -> frozenset:
    """Roles whose holders may handle (and so be assigned) the case."""
    return SEE.roles_for(incident)


def triage_roles(incident) -> frozenset:
    """Roles whose holders triage the case (and are alerted to it)."""
    return TRIAGE.roles_for(incident)


def incident_for(user, pk, *, triage: bool = False, queryset=None):
    """The one way a view fetches a case file: 404 when the person may not open it (its existence is
    not revealed), 403 when they may open it but not triage it and ``triage`` is asked."""
    incident = get_object_or_404(queryset if queryset is not None else Incident.objects.all(), seeable(user), pk=pk)
    if triage and not can_triage_incident(user, incident):
        raise PermissionDenied
    return incident


# Tasks
# ------------------------------------------------------------------------------
# A task is worked by those who handle its case, and by its owner, who may not otherwise see the
# case (a line manager offering support, say): the owner sees the task alone, never the case file.
# A person named in the report reaches none of its tasks, and nobody reaches another organisation's.


def workable_tasks(user):
    """The tasks the person may open and work (mark done or not needed), as a queryset."""
    roles = access_for(user).roles_by_org
    handled = Q(incident__in=Incident.objects.filter(seeable(user)))
    owned = Q(owner_id=user.pk, incident__organisation_id__in=list(roles))
    not_named = ~Q(Exists(NamedPerson.objects.filter(incident=OuterRef("incident"), user_id=user.pk)))
    return IncidentTask.objects.filter((handled | owned) & not_named) if roles else IncidentTask.objects.none()


def task_for(user, pk):
    """The one way a view fetches a task: 404 when the person may not work it (its existence is not revealed)."""
    return get_object_or_404(workable_tasks(user).select_related("incident__organisation", "owner"), pk=pk)


def can_work_task(user, task) -> bool:
    return workable_tasks(user).filter(pk=task.pk).exists()
