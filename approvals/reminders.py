"""Reminders for the response log (every few minutes) and the termly account check (daily).

Each reminder for one item and stage goes once: its emails are written to the outbox
with a topic naming the item and stage (``core.outbox``), and a topic already written
is skipped. The response log's and training's reminder columns only narrow what a sweep
reads; they are set in the same transaction as the emails.
"""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, today
from approvals.models import AccountStatus, OfficialAccount, ResponseItem, TrainingRecord
from approvals.notices import account_path, log_path, send_notice
from approvals.queries import administrator_emails
from core import outbox

log = logging.getLogger(__name__)

WARN_BEFORE = dt.timedelta(hours=4)


def _slt_and_online_safety(organisation) -> list[str]:
    return Membership.objects.current().reaching(organisation).with_role(Role.SLT, Role.ONLINE_SAFETY).emails()


def send_response_reminders(now: dt.datetime | None = None) -> dict:
    """Administrators 4 hours before the deadline; SLT and the online safety coordinator at it."""
    now = now or timezone.now()
    sent = {"warned": 0, "escalated": 0}
    due_soon = ResponseItem.objects.unanswered().filter(admins_reminded_at__isnull=True, due_at__lte=now + WARN_BEFORE)
    for item in due_soon.select_related("account__organisation").prefetch_related("account__members__user"):
        with transaction.atomic():
            # Claim the stage: only one sweep's UPDATE finds the column still empty.
            if not ResponseItem.objects.filter(
                pk=item.pk, admins_reminded_at__isnull=True, answered_at__isnull=True
            ).update(admins_reminded_at=now):
                continue
            send_notice(
                administrator_emails(item.account),
                f"Reply due by {timezone.localtime(item.due_at):%H:%M %a %d %b}: {item.get_kind_display().lower()} on {item.account}",
                [
                    f"A {item.get_kind_display().lower()} received on {item.account} has not been answered yet.",
                    f"“{item.summary[:200]}”",
                ],
                log_path(item.account),
                topic=f"approvals.item:{item.pk}:due-soon",
            )
        sent["warned"] += 1
    overdue = ResponseItem.objects.unanswered().filter(escalated_at__isnull=True, due_at__lte=now)
    for item in overdue.select_related("account__organisation"):
        with transaction.atomic():
            if not ResponseItem.objects.filter(pk=item.pk, escalated_at__isnull=True, answered_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            send_notice(
                _slt_and_online_safety(item.account.organisation),
                f"Not answered within 24 hours: {item.get_kind_display().lower()} on {item.account}",
                [
                    f"A {item.get_kind_display().lower()} received on {item.account} at {timezone.localtime(item.received_at):%H:%M on %d %B} was due an answer by {timezone.localtime(item.due_at):%H:%M on %d %B}, and your organisation's Social Media Policy asks for an answer within 24 hours.",
                    f"“{item.summary[:200]}”",
                ],
                log_path(item.account),
                topic=f"approvals.item:{item.pk}:overdue",
            )
        sent["escalated"] += 1
    return sent


TRAINING_WARN_DAYS = 30


def send_training_expiry_reminders(on: dt.date | None = None) -> int:
    """People who run a live account: told once, 30 days before their training expires,
    unless they already have a newer verified record (an unverified one does not count for
    the approval gate, so it must not silence the reminder)."""
    on = on or today()
    newer = TrainingRecord.objects.verified().filter(user=OuterRef("user"), expires_on__gt=OuterRef("expires_on"))
    expiring = (
        TrainingRecord.objects.filter(
            expires_on__gte=on,
            expires_on__lte=on + dt.timedelta(days=TRAINING_WARN_DAYS),
            expiry_reminded_at__isnull=True,
            user__account_memberships__account__status__in=[AccountStatus.ACTIVE, AccountStatus.PENDING_CREATION],
            user__is_active=True,
        )
        .exclude(Exists(newer))
        .select_related("user")
        .distinct()
    )
    sent = 0
    for record in expiring:
        with transaction.atomic():
            if not TrainingRecord.objects.filter(pk=record.pk, expiry_reminded_at__isnull=True).update(
                expiry_reminded_at=timezone.now()
            ):
                continue
            send_notice(
                [record.user.email],
                f"Your social-media training expires on {record.expires_on:%d %B %Y}",
                [
                    f"Your {record.course} training expires on {record.expires_on:%d %B %Y}.",
                    "You help run an official account, so book a refresher and record it in Policy Portal.",
                ],
                reverse("approvals:training"),
                topic=f"approvals.training:{record.pk}:expiring",
            )
        sent += 1
    return sent


CHECK_WARN_DAYS = 14


def send_check_reminders(on: dt.date | None = None) -> int:
    """The termly check: administrators 14 days before, on the day, then weekly until it is done."""
    on = on or today()
    sent = 0
    accounts = OfficialAccount.objects.filter(
        status=AccountStatus.ACTIVE, next_check_due__lte=on + dt.timedelta(days=CHECK_WARN_DAYS)
    ).prefetch_related("members__user")
    for account in accounts:
        days_left = (account.next_check_due - on).days
        stage = "soon" if days_left > 0 else ("due" if days_left == 0 else f"overdue-week-{(-days_left - 1) // 7}")
        topic = f"approvals.check:{account.pk}:{account.next_check_due}:{stage}"
        if outbox.already_written(topic):
            continue
        if send_notice(
            administrator_emails(account),
            f"Termly check {'due' if days_left >= 0 else 'overdue'}: {account}",
            [
                f"Check that {account}'s administrators are right, two-factor sign-in is still on and the checklist is still true, by {account.next_check_due:%d %B %Y}."
            ],
            account_path(account),
            topic=topic,
        ):
            sent += 1
    return sent
