"""Acknowledgement figures for dashboards, drill-downs, exports and evidence packs.

Every function returns a queryset or runs a fixed number of aggregate queries,
whatever the number of staff: the counting happens in the database.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from accounts.models import Organisation, StaffType, today
from policies import tallies
from policies.access import compliance_filter, sees_all_staff
from policies.models import (
    ASSISTED_METHODS,
    Acknowledgement,
    AcknowledgementRequest,
    AcknowledgementTally,
    Policy,
    PolicyVersion,
)

# Each breakdown: the field that names its groups on a request, on a tally, and its label.
BREAKDOWNS = {
    "organisation": ("membership__organisation__name", "organisation__name", "Organisation"),
    "department": ("membership__department", "name", "Department"),
    "staff_type": ("membership__staff_type", "name", "Staff type"),
}


@dataclass
class Figures:
    total: int
    acknowledged: int
    overdue: int
    # Of the acknowledged, how many were recorded for someone without an email (``policies.assisted``).
    assisted: int = 0

    @property
    def outstanding(self) -> int:
        return self.total - self.acknowledged

    @property
    def percent(self) -> int:
        return round(100 * self.acknowledged / self.total) if self.total else 100

    @property
    def on_time_outstanding(self) -> int:
        return self.outstanding - self.overdue

    @property
    def bar(self) -> dict:
        """Where a stacked bar 100 wide ends each part: acknowledged, then outstanding on time
        (overdue fills the rest). Rounded as ``{% widthratio %}`` rounds."""
        if not self.total:
            return {"ack": 0, "open_end": 0}
        ack = round(100 * self.acknowledged / self.total)
        return {"ack": ack, "open_end": ack + round(100 * self.on_time_outstanding / self.total)}


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


def current_tallies(organisation_ids, by: str, on: dt.date | None = None):
    """Tallies of the versions that currently count, of people in post on ``on``, in these organisations,
    in the breakdown ``by``."""
    on = on or today()
    # Only the policies applying to these organisations ask their staff: said to the planner, which
    # otherwise joins every current version of every tenant (5,300 at 250,000 staff) and looks up
    # each one's tallies, 150 ms a trust instead of a few.
    return AcknowledgementTally.objects.filter(
        Q(leaving_date__isnull=True) | Q(leaving_date__gte=on),
        breakdown=by,
        organisation_id__in=organisation_ids,
        version__policy__in=Policy.objects.applying_to_any(organisation_ids),
        version_id=F("version__policy__acknowledgement_version_id"),
    )


def current_requests(organisation_ids, on: dt.date | None = None):
    """Requests for the versions that currently count, of people in post on ``on``, in these organisations."""
    return (
        AcknowledgementRequest.objects.current(on).counting().filter(membership__organisation_id__in=organisation_ids)
    )


def visible_requests(user, organisation: Organisation, on: dt.date | None = None):
    """Requests for the versions that currently count, of people in post on ``on`` (today), that ``user`` may see.

    A trust's figures roll up every member organisation.
    """
    scope = compliance_filter(user, organisation)
    if scope is None:
        return AcknowledgementRequest.objects.none()
    return current_requests(organisation.family_ids, on).filter(scope)


def _figure_rows(user, organisation: Organisation, by: str, on: dt.date):
    """(version id, group, total, acknowledged, overdue) rows; the group of the organisation breakdown
    is the organisation's id."""
    if sees_all_staff(user, organisation) and tallies.kept():
        return (
            current_tallies(organisation.family_ids, by, on)
            .values_list("version_id", "organisation_id" if by == "organisation" else "name")
            .annotate(**tally_expressions(on))
            .order_by()
        )
    field = "membership__organisation_id" if by == "organisation" else BREAKDOWNS[by][0]
    return (
        visible_requests(user, organisation, on)
        .values_list("version_id", field)
        .annotate(**count_expressions(on))
        .order_by()
    )


def _assisted_rows(user, organisation: Organisation, by: str, on: dt.date):
    """(version id, group, assisted) rows: of the visible requests, those acknowledged by someone else's hand.
    Few rows, found from the assisted acknowledgements' own index, whatever the number of staff."""
    field = "membership__organisation_id" if by == "organisation" else BREAKDOWNS[by][0]
    return (
        visible_requests(user, organisation, on)
        .filter(acknowledgement__method__in=ASSISTED_METHODS)
        .values_list("version_id", field)
        .annotate(n=Count("pk"))
        .order_by()
    )


def dashboard(user, organisation: Organisation, by: str, on: dt.date | None = None) -> tuple[Figures, list, list]:
    """(``totals``, ``by_version``, ``breakdown``) of what ``user`` may see in ``organisation``.

    ``by_version``: (version, figures) pairs; ``breakdown``: (value, label, figures).

    One grouped query on ids, then the versions (and organisations) named. Leaders see
    every member of staff: their figures add up the tallies (a few thousand rows for
    the largest trust). A line manager's team or a policy owner's policies are counted
    from the requests themselves, as is everything where the database keeps no tallies.
    """
    on = on or today()
    sums, versions, groups = [0, 0, 0, 0], {}, {}
    for version_id, group, *figures in _figure_rows(user, organisation, by, on):
        if not figures[0]:
            continue  # a group whose people have all left or moved
        version = versions.setdefault(version_id, [0, 0, 0, 0])
        group = groups.setdefault(group or "", [0, 0, 0, 0])
        for i, n in enumerate(figures):
            sums[i] += n
            version[i] += n
            group[i] += n
    for version_id, group, n in _assisted_rows(user, organisation, by, on) if versions else ():
        if version_id in versions and (group or "") in groups:  # else moved since the figures were read
            sums[3] += n
            versions[version_id][3] += n
            groups[group or ""][3] += n
    named = (
        {v.pk: v for v in PolicyVersion.objects.filter(pk__in=versions).select_related("policy__organisation")}
        if versions
        else {}
    )
    by_version_rows = sorted(
        ((named[pk], Figures(*n)) for pk, n in versions.items()), key=lambda pair: (pair[0].policy.title, pair[0].pk)
    )
    if by == "organisation":
        names = dict(Organisation.objects.filter(pk__in=groups).values_list("pk", "name")) if groups else {}
        groups = {names[pk]: n for pk, n in groups.items()}
    breakdown_rows = [
        (
            value,
            StaffType(value).label if by == "staff_type" and value else (value or "Not recorded"),
            Figures(*groups[value]),
        )
        for value in sorted(groups)
    ]
    return Figures(*sums), by_version_rows, breakdown_rows


def add_previous_figures(user, organisation: Organisation, versions: list, on: dt.date | None = None) -> None:
    """Beside a new version's figure, how many had acknowledged the version before it (for leaders,
    of the people still in post, from its tallies; for a team, of the same people asked now): publishing a new version starts its figure at 0%, which without this reads as if
    nobody had ever read the policy. Sets ``previous_label`` and ``previous_acknowledged`` on each
    version of ``versions`` (``dashboard``'s pairs) that has an earlier version asking to be
    acknowledged. A fixed few queries, whatever the number of staff or policies."""
    current = {version.pk: version for version, _ in versions if version.published_at}
    if not current:
        return
    earlier = (
        PolicyVersion.objects.filter(
            policy_id__in={v.policy_id for v in current.values()},
            requires_acknowledgement=True,
            published_at__isnull=False,
        )
        .exclude(pk__in=current)
        .order_by("policy_id", "-published_at", "-pk")
        .values_list("policy_id", "pk", "label", "published_at")
    )
    previous = {}  # current version id -> (previous version id, its label)
    for policy_id, pk, label, published_at in earlier:
        for version in current.values():
            if (
                version.policy_id == policy_id
                and version.pk not in previous
                and (published_at, pk) < (version.published_at, version.pk)
            ):
                previous[version.pk] = (pk, label)
    if not previous:
        return
    on = on or today()
    if sees_all_staff(user, organisation) and tallies.kept():
        # Leaders: the previous version's own tallies, of its people still in post. Matching each
        # person asked now against their acknowledgement of the previous version read every request
        # of both versions in the trust (750,000 rows for the largest), growing with the staff.
        counts = dict(
            AcknowledgementTally.objects.filter(
                Q(leaving_date__isnull=True) | Q(leaving_date__gte=on),
                breakdown="organisation",
                organisation_id__in=organisation.family_ids,
                version_id__in=[previous_id for previous_id, _ in previous.values()],
            )
            .values("version_id")
            .annotate(n=Sum("acknowledged_count"))
            .values_list("version_id", "n")
        )
    else:
        asked = visible_requests(user, organisation, on)
        matches = Q(pk__in=[])
        for version_id, (previous_id, _) in previous.items():
            matches |= Q(version_id=previous_id, user_id__in=asked.filter(version_id=version_id).values("user_id"))
        counts = dict(
            Acknowledgement.objects.filter(matches)
            .values("version_id")
            .annotate(n=Count("user_id", distinct=True))
            .values_list("version_id", "n")
        )
    for version_id, (previous_id, label) in previous.items():
        current[version_id].previous_label = label
        current[version_id].previous_acknowledged = counts.get(previous_id, 0)


def rates_by_organisation(organisation_ids, on: dt.date | None = None) -> dict[int, Figures]:
    """All staff's figures in each of these organisations (for leaders), from one query."""
    on = on or today()
    if tallies.kept():
        rows = (
            current_tallies(organisation_ids, "organisation", on)
            .values(org=F("organisation_id"))
            .annotate(**tally_expressions(on))
            .order_by()
        )
    else:
        rows = (
            current_requests(organisation_ids, on)
            .values(org=F("membership__organisation_id"))
            .annotate(**count_expressions(on))
            .order_by()
        )
    assisted = dict(
        current_requests(organisation_ids, on)
        .filter(acknowledgement__method__in=ASSISTED_METHODS)
        .values(org=F("membership__organisation_id"))
        .annotate(n=Count("pk"))
        .values_list("org", "n")
        .order_by()
    )
    # Tallies may keep a group at nothing (its people left or moved) until the daily fold: it has no figures.
    return {
        row["org"]: Figures(row["total"], row["acknowledged"], row["overdue"], assisted.get(row["org"], 0))
        for row in rows
        if row["total"]
    }


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
    elif status == "due":  # outstanding and not yet overdue: with "overdue", it makes up "outstanding"
        rows = rows.filter(acknowledgement__isnull=True, due_date__gte=on)
    elif status == "assisted":  # of the acknowledged, those recorded for someone without an email
        rows = rows.filter(acknowledgement__method__in=ASSISTED_METHODS)
    return rows.select_related(
        "user",
        "membership__organisation",
        "version__policy",
        "acknowledgement__version",
        "acknowledgement__recorded_by",
    ).order_by("membership__user__last_name", "membership__user__first_name", "version__policy__title", "pk")


def not_yet_acknowledged(policy: Policy, organisation_ids: list[int] | None = None):
    """Who in post still has to acknowledge the version that counts, the overdue first (for the
    evidence pack: an inspector asks who has not read it as well as who has)."""
    rows = AcknowledgementRequest.objects.current().counting().outstanding().filter(version__policy=policy)
    if organisation_ids is not None:
        rows = rows.filter(membership__organisation_id__in=organisation_ids)
    return rows.select_related("user", "membership__organisation", "version").order_by(
        "due_date", "user__last_name", "user__first_name", "pk"
    )


def evidence(policy: Policy, organisation_ids: list[int] | None = None):
    """Every acknowledgement of every version of the policy (of these organisations' staff), for inspection."""
    rows = AcknowledgementRequest.objects.filter(version__policy=policy, acknowledgement__isnull=False)
    if organisation_ids is not None:
        rows = rows.filter(membership__organisation_id__in=organisation_ids)
    return rows.select_related(
        "user", "membership__organisation", "acknowledgement__version", "acknowledgement__recorded_by"
    ).order_by("acknowledgement__acknowledged_at", "pk")
