"""The home page: what needs the person now, from every part of the portal."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import access_for, menu_of
from approvals import queries as approvals
from approvals.models import OPEN_STATUSES
from incidents.queries import HOME_LIMIT, incidents_needing
from policies.access import can_manage
from policies.queries import leadership_rates, my_outstanding, reviews_needing


@login_required
def home(request):
    """The person's organisations and roles, and what needs them now."""
    access = access_for(request.user)
    listed = menu_of(access.organisations)  # a trust's leaders: the trust, and a link to its schools
    outstanding = my_outstanding(request.user)
    reviews = reviews_needing(request.user)
    for policy in reviews:
        policy.may_manage = can_manage(request.user, policy)
    return render(
        request,
        "portal/home.html",
        {
            "organisations": [(org, access.role_labels(org)) for org in listed.organisations],
            "more_organisations": listed.more,
            "to_acknowledge": outstanding,
            "reviews": reviews,
            "rates": leadership_rates(request.user),
            "to_decide": approvals.awaiting_decision(request.user),
            "my_requests": approvals.own_requests(request.user).filter(status__in=OPEN_STATUSES),
            "items_due": approvals.items_due_soonest(request.user),
            # A trust's leaders could see hundreds: the first few, and the register for the rest.
            "accounts_attention": list(approvals.accounts_needing_attention(request.user)[: HOME_LIMIT + 1]),
            "home_limit": HOME_LIMIT,
            "registers": access.menus["view_register"].organisations,
            "incidents": incidents_needing(request.user),
            "now": timezone.now(),
        },
    )


def accessibility(request):
    """The accessibility statement, as UK public-sector bodies publish one: open to anyone."""
    return render(request, "portal/accessibility.html")
