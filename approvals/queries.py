"""Reads for the approvals pages and the home page, each a fixed number of queries."""

import statistics
from collections import defaultdict

from django.db.models import Count, Exists, FilteredRelation, OuterRef, Prefetch, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from approvals import access as rules
from approvals.models import (
    AccountMember,
    AccountRequest,
    AccountStatus,
    Decision,
    OfficialAccount,
    RequestStatus,
    ResponseItem,
)


def awaiting_decision(user):
    """Submitted requests the person may decide and has not yet decided on."""
    mine = Decision.objects.filter(request=OuterRef("pk"), submission=OuterRef("submission"), decider=user)
    return (
        AccountRequest.objects.filter(rules.decidable_requests(user), status=RequestStatus.SUBMITTED)
        .exclude(Exists(mine))
        .select_related("requester", "organisation")
        .order_by("submitted_at")
    )


def own_requests(user):
    return AccountRequest.objects.filter(requester=user).select_related("organisation").order_by("-created_at")


def register(organisation):
    """The organisation's accounts (a trust's register includes its members'), with open-item counts.

    Only unanswered items are joined (``FilteredRelation``), so the counts cost the same however
    long the accounts' answered history grows.
    """
    now = timezone.now()
    return (
        OfficialAccount.objects.filter(organisation_id__in=organisation.family_ids)
        .select_related("organisation", "lead")
        .annotate(open_item=FilteredRelation("items", condition=Q(items__answered_at__isnull=True)))
        .annotate(
            open_items=Count("open_item"),
            overdue_items=Count("open_item", filter=Q(open_item__due_at__lt=now)),
        )
        .order_by("status", "name")
    )


def administered_accounts(user):
    """Live accounts whose log the person keeps: their team's, or their organisation's as its administrator."""
    return OfficialAccount.objects.live().filter(rules.loggable_accounts(user))


def items_due_soonest(user, limit=5):
    return (
        ResponseItem.objects.unanswered()
        .filter(account__in=administered_accounts(user))
        .select_related("account")
        .order_by("due_at")[:limit]
    )


def accounts_needing_attention(user):
    """Accounts the person runs or leads that need a check, a handover or their set-up finished."""
    soon = timezone.localdate() + timezone.timedelta(days=14)
    accounts = OfficialAccount.objects.filter(rules.loggable_accounts(user) | rules.overseen_accounts(user))
    return accounts.filter(
        Q(status__in=[AccountStatus.HANDOVER_NEEDED, AccountStatus.PENDING_CREATION])
        | Q(status=AccountStatus.ACTIVE, next_check_due__lte=soon)
    ).order_by("status", "name")


def log_for(account):
    """(open items by deadline, answered items newest first)."""
    items = ResponseItem.objects.filter(account=account).select_related("logged_by", "answered_by", "incident")
    return items.unanswered().order_by("due_at"), items.filter(answered_at__isnull=False).order_by("-answered_at")[:50]


def monthly_figures(account, months: int = 12) -> list[dict]:
    """Per month: items answered, how many on time, and the median minutes to answer."""
    since = timezone.now() - timezone.timedelta(days=31 * months)
    rows = (
        ResponseItem.objects.filter(account=account, answered_at__isnull=False, received_at__gte=since)
        .annotate(month=TruncMonth("received_at"))
        .values_list("month", "received_at", "answered_at", "due_at")
        .order_by("month")
    )
    by_month = defaultdict(list)
    for month, received, answered, due in rows:
        by_month[month].append(((answered - received).total_seconds() / 60, answered <= due))
    figures = []
    for month, entries in sorted(by_month.items()):
        on_time = sum(1 for _, ok in entries if ok)
        figures.append(
            {
                "month": month,
                "answered": len(entries),
                "on_time": on_time,
                "percent": round(100 * on_time / len(entries)),
                "median_minutes": round(statistics.median(m for m, _ in entries)),
            }
        )
    return figures


def account_with_team(queryset):
    return queryset.select_related("organisation", "lead", "request").prefetch_related(
        Prefetch("members", queryset=AccountMember.objects.select_related("user").order_by("role", "user__last_name"))
    )
