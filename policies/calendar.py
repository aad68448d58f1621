"""Review dates as an iCalendar feed for policy owners and SLT.

The feed's address carries a random token kept only as a hash (``CalendarFeed``):
its person can replace it or turn it off, and a link unused for 12 months stops
working. An unknown, replaced, turned-off or expired token gets the same 404.
"""

import datetime as dt

from django.utils import timezone
from icalendar import Calendar, Event

from accounts.permissions import access_for
from policies.access import reviewed_policies
from policies.models import CalendarFeed, Policy

# Calendar apps fetch every few hours: "last used" is kept to the hour, not written on every fetch.
LAST_USED_PRECISION = dt.timedelta(hours=1)


def user_for_token(token: str):
    """The person whose live calendar link carries ``token``, or None."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_sha256=CalendarFeed.digest(token), user__is_active=True)
        .first()
    )
    now = timezone.now()
    if feed is None or feed.has_expired(now):
        return None
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_PRECISION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


def policies_for_calendar(user):
    """Policies the person owns, and every policy of organisations where they lead."""
    if not access_for(user).has_access:
        return Policy.objects.none()
    return (
        Policy.objects.filter(retired_at__isnull=True, next_review_date__isnull=False)
        .filter(reviewed_policies(user))
        .select_related("organisation", "owner")
        .order_by("next_review_date")
    )


def calendar_for(user) -> bytes:
    stamp = timezone.now()  # DTSTAMP, required in every VEVENT (RFC 5545 §3.6.1): when this copy was made
    calendar = Calendar()
    calendar.add("prodid", "-//Policy Portal//Policy reviews//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Policy reviews")
    for policy in policies_for_calendar(user):
        event = Event()
        event.add("uid", f"policy-review-{policy.pk}-{policy.next_review_date:%Y%m%d}@policyportal")
        event.add("dtstamp", stamp)
        event.add("summary", f"Review due: {policy.title} ({policy.organisation.name})")
        event.add("dtstart", policy.next_review_date)
        event.add("dtend", policy.next_review_date + dt.timedelta(days=1))
        event.add(
            "description", f"Owner: {policy.owner.full_name}. Review every {policy.review_frequency_months} months."
        )
        calendar.add_component(event)
    return calendar.to_ical()
