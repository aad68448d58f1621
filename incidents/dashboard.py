"""Figures for the incident dashboard: a fixed number of queries, whatever the number of incidents.

Every figure is computed over the incidents the viewer may see (``incidents.access.visible_incidents``).
"""

import datetime as dt
from collections import Counter

from dateutil.relativedelta import relativedelta
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.workingdays import LONDON
from incidents.access import visible_incidents
from incidents.models import OPEN_STATUSES, Category, Platform, Severity, Status

SMALL_NUMBER = 5


def suppress(count: int) -> str:
    """Trust roll-ups show counts under 5 as "<5", so nobody can be picked out from a small number."""
    return "<5" if count < SMALL_NUMBER else str(count)


def open_grid(incidents) -> dict:
    """Open incidents by status (rows) and severity (columns), with totals."""
    counts = {
        (row["status"], row["severity"]): row["n"]
        for row in incidents.filter(status__in=OPEN_STATUSES).values("status", "severity").annotate(n=Count("pk"))
    }
    columns = [("", "Not yet set"), *Severity.choices]
    rows = []
    for status in OPEN_STATUSES:
        cells = [counts.get((status, sev), 0) for sev, _ in columns]
        rows.append({"status": Status(status).label, "code": status, "cells": cells, "total": sum(cells)})
    totals = [sum(r["cells"][i] for r in rows) for i in range(len(columns))]
    return {"columns": [label for _, label in columns], "rows": rows, "totals": totals, "total": sum(totals)}


def deadlines(incidents, now: dt.datetime) -> dict:
    """Deadline counts and, as ``median_hours``, the median time to triage, over 12 months."""
    since = now - relativedelta(months=12)
    figures = incidents.aggregate(
        untriaged_overdue=Count("pk", filter=Q(status=Status.NEW, triage_due_at__lt=now)),
        triaged_late=Count("pk", filter=Q(triaged_at__gte=since, triaged_at__gt=F("triage_due_at"))),
        triaged=Count("pk", filter=Q(triaged_at__gte=since)),
        lado_overdue=Count(
            "pk", filter=Q(lado_due_at__lt=now, lado_referred_at__isnull=True, status__in=OPEN_STATUSES)
        ),
        lado_late=Count("pk", filter=Q(lado_referred_at__gt=F("lado_due_at"), lado_referred_at__gte=since)),
    )
    return figures | {"median_hours": median_hours_to_triage(incidents, now, triaged=figures["triaged"])}


def median_hours_to_triage(incidents, now: dt.datetime, triaged: int | None = None) -> float | None:
    """The median wait from report to triage over 12 months, in hours. ``triaged``: how many were
    triaged then, if already counted."""
    since = now - relativedelta(months=12)
    return median_hours(incidents.filter(triaged_at__gte=since), "reported_at", "triaged_at", count=triaged)


def median_hours(rows, start: str, end: str, *, count: int | None = None) -> float | None:
    """The median of ``end - start`` over ``rows``, in hours: the middle wait, or the mean of the middle
    two (as ``statistics.median``). ``count``: how many rows there are, if already counted.

    The same two queries on every database, whatever the number of rows: the count, then the
    waits in order, sliced to the middle one or two rows.
    """
    if count is None:
        count = rows.count()
    if not count:
        return None
    middle = list(
        rows.annotate(wait=F(end) - F(start))
        .order_by("wait")
        .values_list("wait", flat=True)[(count - 1) // 2 : count // 2 + 1]
    )
    if not middle:  # every row counted went in between (deleted): none left to take a median of
        return None
    return _hours(sum(wait.total_seconds() for wait in middle) / len(middle))


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)


def trends(incidents, now: dt.datetime) -> dict:
    """Last 12 months by category, by platform and by month (the chart)."""
    first = (timezone.localtime(now).date().replace(day=1)) - relativedelta(months=11)
    since = dt.datetime.combine(first, dt.time(), tzinfo=LONDON)
    recent = incidents.filter(reported_at__gte=since)
    # One grouped count (at most categories x platforms rows) gives both breakdowns.
    by_category, by_platform = Counter(), Counter()
    for category, platform, n in recent.values_list("category", "platform").annotate(n=Count("pk")).order_by():
        by_category[category] += n
        by_platform[platform] += n
    by_month_raw = {
        timezone.localtime(row["month"]).date() if isinstance(row["month"], dt.datetime) else row["month"]: row["n"]
        for row in recent.annotate(month=TruncMonth("reported_at", tzinfo=LONDON))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    }
    months = [first + relativedelta(months=i) for i in range(12)]
    by_month = [(m, by_month_raw.get(m, 0)) for m in months]
    return {
        "by_category": sorted(
            [(Category(c).label, n) for c, n in by_category.items()], key=lambda pair: (-pair[1], pair[0])
        ),
        "by_platform": sorted(
            [(Platform(p).label, n) for p, n in by_platform.items()], key=lambda pair: (-pair[1], pair[0])
        ),
        "by_month": by_month,
        "chart": _chart(by_month),
    }


def _chart(by_month) -> dict:
    """Bar geometry for an inline SVG (attributes, not styles: the CSP allows no inline styles)."""
    peak = max([n for _, n in by_month] + [1])
    height, bar, gap = 120, 28, 12
    bars = []
    for i, (month, n) in enumerate(by_month):
        h = round(height * n / peak)
        x = i * (bar + gap) + gap
        bars.append({"x": x, "y": height - h + 20, "h": h, "n": n, "label": month.strftime("%b"), "mid": x + bar // 2})
    return {
        "bars": bars,
        "width": len(by_month) * (bar + gap) + gap,
        "height": height + 45,
        "bar": bar,
        "base": height + 20,
    }


def trust_rollup(incidents, organisation, now: dt.datetime) -> list[dict] | None:
    """For a trust: one row per member, counts suppressed under 5."""
    member_ids = organisation.family_ids
    if len(member_ids) < 2:
        return None
    since = now - relativedelta(months=12)
    rows = (
        incidents.filter(organisation_id__in=member_ids)
        .values("organisation__name")
        .annotate(
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            untriaged=Count("pk", filter=Q(status=Status.NEW)),
            last_year=Count("pk", filter=Q(reported_at__gte=since)),
        )
        .order_by("organisation__name")
    )
    return [
        {
            "name": row["organisation__name"],
            "open": suppress(row["open"]),
            "untriaged": suppress(row["untriaged"]),
            "last_year": suppress(row["last_year"]),
        }
        for row in rows
    ]


def scoped(user, organisation):
    """The incidents of ``organisation`` (and, for a trust, its members) that the person may see."""
    return visible_incidents(user).filter(organisation_id__in=organisation.family_ids)
