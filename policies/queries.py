"""Reads for a person's own policies and for the home page."""

from django.db.models import F

from accounts.models import today
from accounts.permissions import access_for
from policies.access import sees_all_staff
from policies.calendar import policies_for_calendar
from policies.compliance import Figures, rates_by_organisation
from policies.models import Acknowledgement, AcknowledgementRequest, Policy

# A list names versions: their texts (tens of kilobytes each in a real policy) stay in the database.
_TEXTS = tuple(
    f"{prefix}version__{field}"
    for prefix in ("", "acknowledgement__")
    for field in ("text", "html", "summary_of_changes")
)


def _current_requests_of(user, acknowledged: bool = True):
    rows = AcknowledgementRequest.objects.current().counting().filter(user=user)
    if not acknowledged:
        rows = rows.filter(acknowledgement__isnull=True)
    return list(
        rows.select_related("version__policy", "acknowledgement__version").order_by(
            "due_date", "version__policy__title"
        )
    )


def my_outstanding(user):
    """The person's requests still to acknowledge, overdue first (the home page's list)."""
    outstanding = _current_requests_of(user, acknowledged=False)
    on = today()
    outstanding.sort(key=lambda r: (not r.is_overdue(on), r.due_date))
    return outstanding


def my_requests(user):
    """(outstanding, acknowledged) requests of the person, overdue first."""
    rows = _current_requests_of(user)
    earlier = list(
        AcknowledgementRequest.objects.filter(user=user, acknowledgement__isnull=False)
        .exclude(version_id=F("version__policy__acknowledgement_version_id"))
        .select_related("version__policy", "acknowledgement__version")
        .defer(*_TEXTS)
        .order_by("-acknowledgement__acknowledged_at")
    )
    outstanding = [r for r in rows if r.acknowledgement_id is None]
    acknowledged = sorted(
        [r for r in rows if r.acknowledgement_id] + earlier,
        key=lambda r: r.acknowledgement.acknowledged_at,
        reverse=True,
    )
    on = today()
    outstanding.sort(key=lambda r: (not r.is_overdue(on), r.due_date))
    return outstanding, acknowledged


def reviews_needing(user, on=None):
    """Policies due for review within 60 days (or overdue) that the person owns or leads."""
    on = on or today()
    return [p for p in policies_for_calendar(user) if (p.next_review_date - on).days <= 60]


def leadership_rates(user):
    """(organisation, figures) for each organisation where the person sees all staff.

    One grouped query whatever the number of schools: a trust's figures add up its members'.
    """
    access = access_for(user)
    led = [org for org in access.organisations if sees_all_staff(user, org)]
    if not led:
        return []
    family = {org.pk: {org.pk} | {o.pk for o in access.organisations if o.parent_id == org.pk} for org in led}
    by_org = rates_by_organisation(set().union(*family.values()))
    rates = []
    for org in led:
        members = [by_org[i] for i in family[org.pk] if i in by_org]
        rates.append(
            (
                org,
                Figures(
                    total=sum(f.total for f in members),
                    acknowledged=sum(f.acknowledged for f in members),
                    overdue=sum(f.overdue for f in members),
                    assisted=sum(f.assisted for f in members),
                ),
            )
        )
    return rates


def social_media_policy_for(organisation):
    """The organisation's Social Media Policy: its own if it marked one, else its trust's."""
    candidates = Policy.objects.filter(
        is_social_media_policy=True, retired_at__isnull=True, acknowledgement_version__isnull=False
    ).select_related("acknowledgement_version")
    own = candidates.filter(organisation=organisation).first()
    if own or not organisation.parent_id:
        return own
    return candidates.filter(organisation_id=organisation.parent_id).first()


def acknowledged_current(policy, user_ids) -> set[int]:
    """Which of these people have acknowledged the version of ``policy`` that currently counts
    (a later minor correction counts too)."""
    if policy is None:
        return set()
    return set(
        Acknowledgement.objects.filter(
            user_id__in=user_ids,
            version__policy=policy,
            version__published_at__gte=policy.acknowledgement_version.published_at,
        ).values_list("user_id", flat=True)
    )
