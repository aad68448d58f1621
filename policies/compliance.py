"""Acknowledgement figures for dashboards, drill-downs, exports and evidence packs.

Every function returns a queryset or runs a fixed number of aggregate queries,
whatever the number of staff: the counting happens in the database.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q

from accounts.models import Organisation, StaffType, today
from accounts.permissions import compliance_filter
from policies.models import AcknowledgementRequest, Policy

BREAKDOWNS = {
    "organisation": ("membership__organisation__name", "Organisation"),
    "department": ("membership__department", "Department"),
    "staff_type": ("membership__staff_type", "Staff type"),
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
    return {
        "total": Count("pk"),
        "acknowledged": Count("pk", filter=Q(acknowledgement__isnull=False)),
        "overdue": Count("pk", filter=Q(acknowledgement__isnull=True, due_date__lt=on)),
    }


def visible_requests(user, organisation: Organisation):
    """Requests for the versions that currently count, of people in post, that ``user`` may see.

    A trust's figures roll up every member organisation.
    """
    scope = compliance_filter(user, organisation)
    if scope is None:
        return AcknowledgementRequest.objects.none()
    org_ids = [organisation.pk, *organisation.members.values_list("pk", flat=True)]
    return (
        AcknowledgementRequest.objects.current()
        .filter(membership__organisation_id__in=org_ids, version_id=F("version__policy__acknowledgement_version_id"))
        .filter(scope)
    )


def dashboard(requests, by: str, on: dt.date | None = None) -> tuple[Figures, list, list]:
    """(``totals``, ``by_version``, ``breakdown``) from one grouped query.

    For a trust each pass reads every current request (hundreds of thousands of
    rows), so the three figures share one pass rather than making three.
    """
    field, _ = BREAKDOWNS[by]
    version_fields = (
        "version_id",
        "version__label",
        "version__policy_id",
        "version__policy__title",
        "version__due_date",
    )
    rows = requests.values(*version_fields, field).annotate(**count_expressions(on or today())).order_by()
    sums, versions, groups = [0, 0, 0], {}, {}
    for row in rows:
        figures = (row["total"], row["acknowledged"], row["overdue"])
        version = versions.setdefault(row["version_id"], ({k: row[k] for k in version_fields}, [0, 0, 0]))
        group = groups.setdefault(row[field] or "", [0, 0, 0])
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


def people(
    requests, *, status: str = "", version: int | None = None, filters: dict | None = None, on: dt.date | None = None
):
    """The drill-down: people behind a figure, with what they acknowledged and when."""
    on = on or today()
    rows = requests
    if version:
        rows = rows.filter(version_id=version)
    for by, value in (filters or {}).items():
        field, _ = BREAKDOWNS[by]
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
