"""Review dates as an iCalendar feed for policy owners and SLT."""

import datetime as dt

from django.core import signing
from icalendar import Calendar, Event

from accounts.models import Role, User
from accounts.permissions import COMPLIANCE_ALL_STAFF, access_for
from policies.models import Policy

_SALT = "policies.review-calendar"


def feed_token(user) -> str:
    return signing.dumps(user.pk, salt=_SALT)


def user_for_token(token: str):
    try:
        user_id = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def policies_for_calendar(user):
    """Policies the person owns, and every policy of organisations where they lead."""
    access = access_for(user)
    led = [
        org.pk for org in access.organisations if access.roles_in(org) & (COMPLIANCE_ALL_STAFF | {Role.POLICY_OWNER})
    ]
    if not access.has_access:
        return Policy.objects.none()
    return (
        Policy.objects.filter(retired_at__isnull=True, next_review_date__isnull=False)
        .filter(organisation_id__in=led)
        .select_related("organisation", "owner")
        .order_by("next_review_date")
    )


def calendar_for(user) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Policy Portal//Policy reviews//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Policy reviews")
    for policy in policies_for_calendar(user):
        event = Event()
        event.add("uid", f"policy-review-{policy.pk}-{policy.next_review_date:%Y%m%d}@policyportal")
        event.add("summary", f"Review due: {policy.title} ({policy.organisation.name})")
        event.add("dtstart", policy.next_review_date)
        event.add("dtend", policy.next_review_date + dt.timedelta(days=1))
        event.add(
            "description", f"Owner: {policy.owner.full_name}. Review every {policy.review_frequency_months} months."
        )
        calendar.add_component(event)
    return calendar.to_ical()
