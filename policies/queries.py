"""Reads for a person's own policies and for the home page."""

from django.db.models import F

from accounts.models import today
from policies.models import AcknowledgementRequest


def my_requests(user):
    """(outstanding, acknowledged) requests of the person, overdue first."""
    rows = list(
        AcknowledgementRequest.objects.current()
        .filter(user=user, version_id=F("version__policy__acknowledgement_version_id"))
        .select_related("version__policy", "acknowledgement__version")
        .order_by("due_date", "version__policy__title")
    )
    earlier = list(
        AcknowledgementRequest.objects.filter(user=user, acknowledgement__isnull=False)
        .exclude(version_id=F("version__policy__acknowledgement_version_id"))
        .select_related("version__policy", "acknowledgement__version")
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
    from policies.calendar import policies_for_calendar

    on = on or today()
    return [p for p in policies_for_calendar(user) if (p.next_review_date - on).days <= 60]


def leadership_rates(user):
    """(organisation, figures) for each organisation where the person sees all staff."""
    from accounts.permissions import COMPLIANCE_ALL_STAFF, access_for
    from policies import compliance

    access = access_for(user)
    return [
        (org, compliance.totals(compliance.visible_requests(user, org)))
        for org in access.organisations
        if access.roles_in(org) & COMPLIANCE_ALL_STAFF
    ]
