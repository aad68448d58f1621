"""The review calendar: the page that makes a person's private link, and the iCalendar feed
it opens (``policies.calendar`` builds it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from policies import services
from policies.calendar import calendar_for, user_for_token
from policies.models import CalendarFeed

# The link is a secret: neither it nor the feed it opens is kept by a browser or a proxy.
_no_store = cache_control(no_store=True, private=True)


def _calendar_page(request, token: str | None = None):
    feed = CalendarFeed.objects.filter(user=request.user).first()
    feed_url = request.build_absolute_uri(reverse("policies:review_calendar", args=[token])) if token else None
    return render(
        request,
        "policies/calendar.html",
        {"feed": feed, "expired": feed is not None and feed.has_expired(), "feed_url": feed_url},
    )


@login_required
@_no_store
def calendar_link(request):
    return _calendar_page(request)


@login_required
@require_POST
@_no_store
def new_calendar_link(request):
    token = services.new_calendar_link(user=request.user)
    # Shown in this response only (no redirect): the token is kept nowhere it could be read back from.
    return _calendar_page(request, token)


@login_required
@require_POST
def turn_off_calendar_link(request):
    try:
        services.turn_off_calendar_link(user=request.user)
    except services.PolicyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your calendar link is turned off. Calendars using it will stop updating.")
    return redirect("policies:calendar")


@_no_store
def review_calendar(request, token):
    """An iCalendar feed of review dates; calendar apps cannot sign in, so the link carries a token."""
    user = user_for_token(token)
    if user is None:
        raise Http404
    response = HttpResponse(calendar_for(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="policy-reviews.ics"'
    return response
