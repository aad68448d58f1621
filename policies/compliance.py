"""Acknowledgement figures for dashboards, drill-downs, exports and evidence packs.

Every function returns a queryset or runs a fixed number of aggregate queries,
whatever the number of staff: the counting happens in the database.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from accounts.models import Organisation, StaffType, today
from accounts.permissions import compliance_filter, sees_all_staff
from policies import tallies
from policies.models import AcknowledgementRequest, AcknowledgementTally, Policy

# Each breakdown: the field that names its groups on a request, on a tally, and its label.
BREAKDOWNS = {
    "organisation": ("membership__organisation__name", "organisation__name", "Organisation"),
    "department": ("membership__department", "department", "Department"),
    "staff_type": ("membership__staff_type", "staff_type", "Staff type"),
}


@dataclass
class Figures:
    total: int
    acknowledged: int
    overdue: int

    @property
    def outstanding(self) -> int:
        return self.total - self.acknowledged

    @property
    def percent(self) -> int:
        return round(100 * self.acknowledged / self.total) if self.total else 100

    @property
    def on_time_outstanding(self) -> int:
        return self.outstanding - self.overdue


def count_expressions(on: dt.date) -> dict:
    """Figures counted from requests."""
    return {
        "total": Count("pk"),
        "acknowledged": Count("pk", filter=Q(acknowledgement__isnull=False)),
        "overdue": Count("pk", filter=Q(acknowledgement__isnull=True, due_date__lt=on)),
    }


def tally_expressions(on: dt.date) -> dict:
    """The same figures added up from tallies."""
    return {
        "total": Coalesce(Sum("asked"), 0),
        "acknowledged": Coalesce(Sum("acknowledged_count"), 0),
        "overdue": Coalesce(Sum(F("asked") - F("acknowledged_count"), filter=Q(due_date__lt=on)), 0),
    }


def current_tallies(organisation_ids, on: dt.date | None = None):
    """Tallies of the versions that currently count, of people in post on ``on``, in these organisations."""
    on = on or today()
    return AcknowledgementTally.objects.filter(
        Q(leaving_date__isnull=True) | Q(leaving_date__gte=on),
        organisation_id__in=organisation_ids,
        version_id=F("version__policy__acknowledgement_version_id"),
    )


def visible_requests(user, organisation: Organisation):
    """Requests for the versions that currently count, of people in post, that ``user`` may see.

    A trust's figures roll up every member organisation.
    """
    scope = compliance_filter(user, organisation)
    if scope is None:
        return AcknowledgementRequest.objects.none()
    return (
        AcknowledgementRequest.objects.current()
        .filter(
            membership__organisation_id__in=organisation.family_ids,
            version_id=F("version__policy__acknowledgement_version_id"),
        )
        .filter(scope)
    )


VERSION_FIELDS = ("version_id", "version__label", "version__policy_id", "version__policy__title", "version__due_date")


def dashboard(user, organisation: Organisation, by: str, on: dt.date | None = None) -> tuple[Figures, list, list]:
    """(``totals``, ``by_version``, ``breakdown``) of what ``user`` may see in ``organisation``, from one query.

    Leaders see every member of staff: their figures add up the tallies (a few
    thousand rows for the largest trust). A line manager's team or a policy
    owner's policies are counted from the requests themselves, as is
    everything where the database keeps no tallies.
    """
    on = on or today()
    request_field, tally_field, _ = BREAKDOWNS[by]
    if sees_all_staff(user, organisation) and tallies.kept():
        rows = (
            current_tallies(organisation.family_ids, on)
            .values(*VERSION_FIELDS, group=F(tally_field))
            .annotate(**tally_expressions(on))
            .order_by()
        )
    else:
        rows = (
            visible_requests(user, organisation)
            .values(*VERSION_FIELDS, group=F(request_field))
            .annotate(**count_expressions(on))
            .order_by()
        )
    sums, versions, groups = [0, 0, 0], {}, {}
    for row in rows:
        figures = (row["total"], row["acknowledged"], row["overdue"])
        if not figures[0]:
            continue  # a group whose people have all left or moved
        version = versions.setdefault(row["version_id"], ({k: row[k] for k in VERSION_FIELDS}, [0, 0, 0]))
        group = groups.setdefault(row["group"] or "", [0, 0, 0])
        for i, n in enumerate(figures):
            sums[i] += n
            version[1][i] += n
            group[i] += n
    by_version_rows = [
        (row, Figures(*n))
        for row, n in sorted(
            versions.values(), key=lambda pair: (pair[0]["version__policy__title"], pair[0]["version_id"])
        )
    ]
    breakdown_rows = [
        (
            value,
            StaffType(value).label if by == "staff_type" and value else (value or "Not recorded"),
            Figures(*groups[value]),
        )
        for value in sorted(groups)
    ]
    return Figures(*sums), by_version_rows, breakdown_rows


def rates_by_organisation(organisation_ids, on: dt.date | None = None) -> dict[int, Figures]:
    """All staff's figures in each of these organisations (for leaders), from one query."""
    on = on or today()
    if tallies.kept():
        rows = (
            current_tallies(organisation_ids, on)
            .values(org=F("organisation_id"))
            .annotate(**tally_expressions(on))
            .order_by()
        )
    else:
        rows = (
            AcknowledgementRequest.objects.current(on)
            .filter(
                version_id=F("version__policy__acknowledgement_version_id"),
                membership__organisation_id__in=organisation_ids,
            )
            .values(org=F("membership__organisation_id"))
            .annotate(**count_expressions(on))
            .order_by()
        )
    return {row["org"]: Figures(row["total"], row["acknowledged"], row["overdue"]) for row in rows}


def people(
    requests, *, status: str = "", version: int | None = None, filters: dict | None = None, on: dt.date | None = None
):
    """The drill-down: people behind a figure, with what they acknowledged and when."""
    on = on or today()
    rows = requests
    if version:
        rows = rows.filter(version_id=version)
    for by, value in (filters or {}).items():
        field = BREAKDOWNS[by][0]
        rows = rows.filter(**{field: value})
    if status == "acknowledged":
        rows = rows.filter(acknowledgement__isnull=False)
    elif status == "outstanding":
        rows = rows.filter(acknowledgement__isnull=True)
    elif status == "overdue":
        rows = rows.filter(acknowledgement__isnull=True, due_date__lt=on)
    return rows.select_related(
        "user", "membership__organisation", "version__policy", "acknowledgement__version"
    ).order_by("membership__user__last_name", "membership__user__first_name", "version__policy__title", "pk")


def evidence(policy: Policy, organisation_ids: list[int] | None = None):
    """Every acknowledgement of every version of the policy (of these organisations' staff), for inspection."""
    rows = AcknowledgementRequest.objects.filter(version__policy=policy, acknowledgement__isnull=False)
    if organisation_ids is not None:
        rows = rows.filter(membership__organisation_id__in=organisation_ids)
    return rows.select_related("user", "membership__organisation", "acknowledgement__version").order_by(
        "acknowledgement__acknowledged_at", "pk"
    )
