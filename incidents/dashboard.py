"""Figures for the incident dashboard: a fixed number of queries, whatever the number of incidents.

Every figure is computed over the incidents the viewer may see (``incidents.access.visible_incidents``).
"""

import datetime as dt
from collections import Counter

from dateutil.relativedelta import relativedelta
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Organisation
from core.workingdays import LONDON
from incidents.access import visible_incidents
from incidents.models import OPEN_STATUSES, Category, Platform, Severity, Status
from incidents.suppression import FOOTNOTE, LESS_THAN, SMALL_NUMBER, Line, protect, small

SEVERITY_COLUMNS = [("", "Not yet set"), *Severity.choices]


def open_grid(incidents) -> dict:
    """Open incidents by status (rows) and severity (columns), with totals."""
    counts = {
        (row["status"], row["severity"]): row["n"]
        for row in incidents.filter(status__in=OPEN_STATUSES).values("status", "severity").annotate(n=Count("pk"))
    }
    columns = SEVERITY_COLUMNS
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


def _twelve_months(now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The first day of the month 11 months back, and its midnight: this month and the 11 before it."""
    first = (timezone.localtime(now).date().replace(day=1)) - relativedelta(months=11)
    return first, dt.datetime.combine(first, dt.time(), tzinfo=LONDON)


def _month_of(value) -> dt.date:
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


def trends(incidents, now: dt.datetime) -> dict:
    """Last 12 months by category, by platform and by month (the chart)."""
    first, since = _twelve_months(now)
    recent = incidents.filter(reported_at__gte=since)
    # One grouped count (at most categories x platforms rows) gives both breakdowns.
    by_category, by_platform = Counter(), Counter()
    for category, platform, n in recent.values_list("category", "platform").annotate(n=Count("pk")).order_by():
        by_category[category] += n
        by_platform[platform] += n
    by_month_raw = {
        _month_of(row["month"]): row["n"]
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
    """Bar geometry for an inline SVG (attributes, not styles: the CSP allows no inline styles).

    A month may show a hidden figure ("<5", "withheld"): its bar has no height, so its size says nothing."""
    peak = max([n for _, n in by_month if isinstance(n, int)] + [1])
    height, bar, gap = 120, 28, 12
    bars = []
    for i, (month, n) in enumerate(by_month):
        h = round(height * n / peak) if isinstance(n, int) else 0
        shown = n if isinstance(n, int) or n == LESS_THAN else "–"  # the month table says "withheld"
        x = i * (bar + gap) + gap
        bars.append(
            {"x": x, "y": height - h + 20, "h": h, "n": shown, "label": month.strftime("%b"), "mid": x + bar // 2}
        )
    return {
        "bars": bars,
        "width": len(by_month) * (bar + gap) + gap,
        "height": height + 45,
        "bar": bar,
        "base": height + 20,
    }


def is_trust_level(organisation) -> bool:
    """A trust with members: its figures are shown protected (``trust_figures``)."""
    return len(organisation.family_ids) >= 2


def trust_figures(incidents, organisation, now: dt.datetime) -> dict:
    """Every figure of a trust's dashboard and export, protected by ``incidents.suppression``.

    Three queries, whatever the number of incidents: open incidents by member, status and severity;
    the last 12 months' by member, kind, platform and month; the members' names.
    """
    member_ids = organisation.family_ids
    first, since = _twelve_months(now)
    members = list(Organisation.objects.filter(pk__in=member_ids).order_by("name").values_list("pk", "name"))
    statuses = [Status(s) for s in OPEN_STATUSES]
    months = [first + relativedelta(months=i) for i in range(12)]
    counts = Counter()
    for org, status, severity, n in (
        incidents.filter(organisation_id__in=member_ids, status__in=OPEN_STATUSES)
        .values_list("organisation_id", "status", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts["grid", status, severity] += n
        counts["row", status] += n
        counts["column", severity] += n
        counts["open",] += n
        counts["member", org, "open"] += n
        if status == Status.NEW:
            counts["member", org, "untriaged"] += n
    for org, category, platform, month, n in (
        incidents.filter(organisation_id__in=member_ids, reported_at__gte=since)
        .annotate(month=TruncMonth("reported_at", tzinfo=LONDON))
        .values_list("organisation_id", "category", "platform", "month")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts["kind", category] += n
        counts["platform", platform] += n
        counts["month", _month_of(month)] += n
        counts["member", org, "last_year"] += n
        counts["recent",] += n
    keys = (
        [("grid", s.value, sev) for s in statuses for sev, _ in SEVERITY_COLUMNS]
        + [("row", s.value) for s in statuses]
        + [("column", sev) for sev, _ in SEVERITY_COLUMNS]
        + [("open",), ("recent",)]
        + [("member", pk, column) for pk, _ in members for column in ("open", "untriaged", "last_year")]
        + [("kind", c) for c in Category.values]
        + [("platform", p) for p in Platform.values]
        + [("month", m) for m in months]
    )
    values = {key: counts[key] for key in keys}
    lines = (
        [Line(tuple(("grid", s.value, sev) for sev, _ in SEVERITY_COLUMNS), ("row", s.value)) for s in statuses]
        + [Line(tuple(("grid", s.value, sev) for s in statuses), ("column", sev)) for sev, _ in SEVERITY_COLUMNS]
        + [Line(tuple(("row", s.value) for s in statuses), ("open",))]
        + [Line(tuple(("column", sev) for sev, _ in SEVERITY_COLUMNS), ("open",))]
        # The members' columns add up to the trust's: those open, those awaiting triage (the grid's
        # "New" row), those reported in the 12 months (the breakdowns' total).
        + [Line(tuple(("member", pk, "open") for pk, _ in members), ("open",))]
        + [Line(tuple(("member", pk, "untriaged") for pk, _ in members), ("row", Status.NEW.value))]
        + [Line(tuple(("member", pk, "last_year") for pk, _ in members), ("recent",))]
        + [Line(tuple(("kind", c) for c in Category.values), ("recent",))]
        + [Line(tuple(("platform", p) for p in Platform.values), ("recent",))]
        + [Line(tuple(("month", m) for m in months), ("recent",))]
    )
    shown = protect(values, lines)
    by_month = [(m, shown["month", m]) for m in months]
    return {
        "grid": {
            "columns": [label for _, label in SEVERITY_COLUMNS],
            "rows": [
                {
                    "status": s.label,
                    "code": s.value,
                    "cells": [shown["grid", s.value, sev] for sev, _ in SEVERITY_COLUMNS],
                    "total": shown["row", s.value],
                }
                for s in statuses
            ],
            "totals": [shown["column", sev] for sev, _ in SEVERITY_COLUMNS],
            "total": shown["open",],
        },
        "rollup": [
            {
                "name": name,
                "open": shown["member", pk, "open"],
                "untriaged": shown["member", pk, "untriaged"],
                "last_year": shown["member", pk, "last_year"],
            }
            for pk, name in members
        ],
        "rollup_total": {
            "open": shown["open",],
            "untriaged": shown["row", Status.NEW.value],
            "last_year": shown["recent",],
        },
        "trends": {
            "by_category": [(Category(c).label, shown["kind", c]) for c in Category.values],
            "by_platform": [(Platform(p).label, shown["platform", p]) for p in Platform.values],
            "by_month": by_month,
            "chart": _chart(by_month),
        },
        "footnote": FOOTNOTE,
    }


def trust_deadlines(figures: dict) -> dict:
    """The deadline counts of a trust, each a count on its own ("<5" under 5); the median time to triage
    only over 5 or more triaged incidents (fewer would give one person's case away)."""
    return {
        **{key: small(value) for key, value in figures.items() if key != "median_hours"},
        "median_hours": figures["median_hours"] if figures["triaged"] >= 5 else None,
    }


def trust_takedowns(figures: dict) -> dict:
    """A trust's takedown figures (seed 004 §4.1), each a count on its own as its deadlines are; the
    median time to removal only over 5 or more removals."""
    return {key: small(figures[key]) for key in ("awaiting", "past_48_hours", "removed")} | {
        "median_hours": figures["median_hours"] if figures["removed"] >= SMALL_NUMBER else None
    }


def scoped(user, organisation):
    """The incidents of ``organisation`` (and, for a trust, its members) that the person may see."""
    return visible_incidents(user).filter(organisation_id__in=organisation.family_ids)
