"""Reads for the approvals pages, the home page and the services (who may run an account,
which accounts need a handover), each a fixed number of queries."""

import datetime as dt
import statistics
from collections import defaultdict

from django.db.models import Count, Exists, FilteredRelation, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from accounts.models import Membership, User, today
from approvals import access as rules
from approvals.models import (
    AccountMember,
    AccountRequest,
    AccountRole,
    AccountStatus,
    Decision,
    OfficialAccount,
    RequestStatus,
    ResponseItem,
    TrainingRecord,
)
from core.models import AuditEntry

# What each step in a request's history is called on its page (the audit trail keeps its own names).
HISTORY_LABELS = {
    "approvals.request_drafted": "Drafted",
    "approvals.request_edited": "Edited",
    "approvals.request_submitted": "Submitted for a decision",
    "approvals.approval_given": "Approval given (another approval is still needed)",
    "approvals.request_withdrawn": "Withdrawn",
}


def history_label(entry) -> str:
    if entry.action == "approvals.request_decided" and entry.to_state in RequestStatus.values:
        return f"Decided: {RequestStatus(entry.to_state).label.lower()}"
    return HISTORY_LABELS.get(entry.action) or entry.action.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def request_history(account_request) -> list:
    """The request's audit entries, oldest first, each with ``label``: what happened, in words."""
    entries = list(AuditEntry.objects.for_object(account_request).select_related("actor").order_by("created_at"))
    for entry in entries:
        entry.label = history_label(entry)
    return entries


REVEALS_SHOWN = 20


def credential_reveals(account, limit: int = REVEALS_SHOWN) -> list:
    """The latest reveals of the account's sign-in details, newest first: who, when and from
    which address (the audit trail's own rows; seed 001 §3)."""
    return list(
        AuditEntry.objects.for_object(account)
        .filter(action="approvals.credentials_revealed")
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )


def staff_of(organisation):
    """People who may be named to run an account: current staff of the organisation or its trust."""
    return User.objects.filter(memberships__in=Membership.objects.current().reaching(organisation)).distinct()


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


def training_people(user):
    """The people whose training the person sees and may record: themselves and the staff they oversee."""
    return User.objects.filter(rules.training_people(user)).order_by("last_name", "first_name")


TRAINING_FILTERS = {
    "": "All records",
    "unverified": "Waiting to be verified",
    "expiring": "Expiring soon",
    "expired": "Expired",
}
EXPIRING_DAYS = 60  # flagged this long before it lapses: a refresher takes time to book


def expiring_soon_by(on=None):
    """The last expiry date that counts as expiring soon (``EXPIRING_DAYS`` ahead)."""
    return (on or today()) + dt.timedelta(days=EXPIRING_DAYS)


def _matching_people(search: str) -> Q:
    """Names and addresses containing each word of ``search`` (a filter on ``User``)."""
    q = Q()
    for word in search.split()[:5]:
        q &= Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
    return q


def staff_training(user, search: str = "", status: str = ""):
    """The training records of everyone the person oversees (``access.training_people``), for a
    searchable, paged list: by name, address or course, and by where they stand."""
    records = TrainingRecord.objects.filter(user__in=User.objects.filter(rules.training_people(user)))
    if search:
        words = Q()
        for word in search.split()[:5]:
            words &= (
                Q(user__first_name__icontains=word)
                | Q(user__last_name__icontains=word)
                | Q(user__email__icontains=word)
                | Q(course__icontains=word)
            )
        records = records.filter(words)
    on = today()
    if status == "unverified":
        records = records.filter(verified_at__isnull=True, expires_on__gte=on)
    elif status == "expiring":
        records = records.filter(expires_on__gte=on, expires_on__lte=expiring_soon_by(on))
    elif status == "expired":
        records = records.filter(expires_on__lt=on)
    return records.select_related("user", "recorded_by", "verified_by").order_by(
        "user__last_name", "user__first_name", "-completed_on", "-pk"
    )


def mark_verifiable(user, records) -> list[TrainingRecord]:
    """``records`` (one page), each marked ``can_verify`` and ``expiring``, in one more query."""
    records = list(records)
    verifiable = set(
        TrainingRecord.objects.filter(
            pk__in=[r.pk for r in records],
            verified_at__isnull=True,
            user__in=User.objects.filter(rules.training_verifiable_people(user)),
        ).values_list("pk", flat=True)
    )
    soon = expiring_soon_by()
    for record in records:
        record.can_verify = record.pk in verifiable
        record.expiring = not record.has_expired() and record.expires_on <= soon
    return records


def own_training(user) -> list[TrainingRecord]:
    return mark_verifiable(user, TrainingRecord.objects.filter(user=user).select_related("recorded_by", "verified_by"))


def people_to_record_for(user, search: str, limit: int = 20) -> tuple[list, bool]:
    """Up to ``limit`` of the people the person oversees matching ``search``, and whether there were more."""
    if not search.strip():
        return [], False
    people = list(
        User.objects.filter(rules.training_people(user))
        .filter(_matching_people(search))
        .order_by("last_name", "first_name")[: limit + 1]
    )
    return people[:limit], len(people) > limit


def _members_count(members) -> Coalesce:
    return Coalesce(
        Subquery(members.order_by().values("account").annotate(n=Count("pk")).values("n")[:1]),
        0,
        output_field=IntegerField(),
    )


def team_training(on=None) -> dict:
    """Annotations for accounts: how many of the team have no in-date training that counts
    (``training_lapsed``), and how many hold only training that lapses within ``EXPIRING_DAYS``
    (``training_expiring``), as the approval gate counts it (verified, seed 001 §4)."""
    on = on or today()
    counting = TrainingRecord.objects.verified().filter(user=OuterRef("user"))
    in_date = Exists(counting.filter(expires_on__gte=on))
    lasting = Exists(counting.filter(expires_on__gt=expiring_soon_by(on)))
    team = AccountMember.objects.filter(account=OuterRef("pk"))
    return {
        "training_lapsed": _members_count(team.exclude(in_date)),
        "training_expiring": _members_count(team.filter(in_date).exclude(lasting)),
    }


def register(organisation, search: str = ""):
    """The organisation's accounts (a trust's register includes its members'), with open-item counts;
    ``search`` keeps those whose name, or their organisation's, contains it.

    Only unanswered items are joined (``FilteredRelation``), so the counts cost the same however
    long the accounts' answered history grows.
    """
    now = timezone.now()
    accounts = (
        OfficialAccount.objects.filter(organisation_id__in=organisation.family_ids)
        .select_related("organisation", "lead")
        .annotate(open_item=FilteredRelation("items", condition=Q(items__answered_at__isnull=True)))
        .annotate(
            open_items=Count("open_item"),
            overdue_items=Count("open_item", filter=Q(open_item__due_at__lt=now)),
            **team_training(),
        )
        .order_by("status", "name")
    )
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(organisation__name__icontains=search))
    return accounts


def accounts_needing_handover():
    """Live accounts whose lead has left the organisation (leaving date passed or deactivated)."""
    lead_in_post = Membership.objects.current().filter(
        Q(organisation=OuterRef("organisation")) | Q(organisation=OuterRef("organisation__parent")),
        user=OuterRef("lead"),
    )
    return OfficialAccount.objects.filter(status__in=[AccountStatus.ACTIVE, AccountStatus.PENDING_CREATION]).exclude(
        Exists(lead_in_post)
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


def administrator_emails(account) -> list[str]:
    """The account's administrators still in post at its organisation: who is told of its
    reminders, reveals and handovers (a leaver is told nothing more)."""
    return (
        Membership.objects.current()
        .reaching(account.organisation)
        .filter(user__account_memberships__account=account, user__account_memberships__role=AccountRole.ADMINISTRATOR)
        .emails()
    )
