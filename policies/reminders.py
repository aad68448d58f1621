"""The daily reminder sweeps: acknowledgements and annual reviews.

Each reminder for one item and stage goes out once, whatever retries, restarts or
two sweeps running at once do: its emails are written to the outbox with a topic
naming the person (or policy) and the day or stage (``core.outbox``), whose unique
key makes writing it twice a no-op. Acknowledgement requests also keep their stage
and next reminder date (locked rows, updated in the same transaction): that is their
timetable, which lets a sweep read only the people due today. A batch killed midway rolls back and runs
again; one that committed has its emails waiting to be sent.
Work is done in batches of people, so memory stays bounded for a trust of any size.
"""

import datetime as dt
import functools
import logging
from collections import defaultdict

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import Membership, Organisation, Role, today
from core import outbox
from core.emails import Stamp, absolute_url, mark
from policies.models import AcknowledgementRequest, Policy
from policies.services import sync_requests

log = logging.getLogger(__name__)

# Stages of an acknowledgement request's reminders (AcknowledgementRequest.reminder_stage).
ASKED, DUE_SOON, DUE_TODAY, FIRST_OVERDUE = 1, 2, 3, 4
DUE_SOON_DAYS = 3
OVERDUE_EVERY_DAYS = 7
MANAGER_AFTER_DAYS = 7


def stage_on(due_date: dt.date, day: dt.date) -> int:
    """The reminder stage a request has reached on ``day``."""
    if day < due_date - dt.timedelta(days=DUE_SOON_DAYS):
        return ASKED
    if day < due_date:
        return DUE_SOON
    weeks_overdue = (day - due_date).days // OVERDUE_EVERY_DAYS
    return DUE_TODAY + weeks_overdue


def next_stage_date(due_date: dt.date, stage: int) -> dt.date:
    """The day the stage after ``stage`` falls due."""
    if stage < DUE_SOON:
        return due_date - dt.timedelta(days=DUE_SOON_DAYS)
    if stage < DUE_TODAY:
        return due_date
    return due_date + dt.timedelta(days=OVERDUE_EVERY_DAYS * (stage - DUE_TODAY + 1))


def _open_requests():
    """Outstanding requests for the version of each policy that currently counts, of people in post."""
    return AcknowledgementRequest.objects.current().counting(listed=True).outstanding()


def _in_batches(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def people_batches(on: dt.date, batch_size: int = 500):
    """The people with a reminder due on ``on``, in batches of ids.

    One query for every id (a few hundred kilobytes for the largest trust): each query
    that pages through the open requests costs about as much as reading them all.
    """
    user_ids = list(
        _open_requests()
        .filter(next_reminder_on__lte=on)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    return _in_batches(user_ids, batch_size)


def manager_batches(on: dt.date, batch_size: int = 500):
    """Line managers with overdue requests in their team not yet told about, in batches of ids.

    A manager's digest lists a whole team's overdue requests: batches a tenth the size of
    people's keep the rows held at once (and the memory) about the same.
    """
    manager_ids = list(
        _open_requests()
        .filter(manager_told_at__isnull=True, due_date__lte=on - dt.timedelta(days=MANAGER_AFTER_DAYS))
        .exclude(membership__line_manager_id=None)
        .order_by("membership__line_manager_id")
        .values_list("membership__line_manager_id", flat=True)
        .distinct()
    )
    return _in_batches(manager_ids, max(1, batch_size // 10))


def send_acknowledgement_reminders(on: dt.date | None = None, batch_size: int = 500) -> dict:
    """The whole sweep in this process: one digest per person with reminders due, listing
    everything they have outstanding, then the line managers.

    The daily duty (``policies.tasks.send_acknowledgement_reminders``) sends the same
    batches as separate tasks instead, so that every worker process shares the work.
    """
    on = on or today()
    sync_requests()
    return {
        "staff": sum(remind_people(user_ids, on) for user_ids in people_batches(on, batch_size)),
        "managers": sum(tell_managers(manager_ids, on) for manager_ids in manager_batches(on, batch_size)),
    }


def remind_people(user_ids: list[int], on: dt.date) -> int:
    """Claim the due stage of these people's open requests, then send each one digest. Returns digests sent."""
    with transaction.atomic():
        # Rows another claim holds (a managers' batch running at the same time, another sweep,
        # a person acknowledging) are waited for, then read again: a row that has moved on is
        # not claimed twice, and none is left out. Locked in id order, so claims never deadlock.
        claimed = list(
            _open_requests()
            .select_for_update(of=("self",))
            .filter(user_id__in=user_ids, next_reminder_on__lte=on)
            .order_by("pk")
            .values_list("pk", "user_id", "reminder_stage", "due_date")
        )
        # One UPDATE per (stage, next date): a batch holds a few dozen of them, where
        # bulk_update's one CASE arm per row grows with the square of the batch.
        moves = defaultdict(list)
        for pk, _, reminder_stage, due_date in claimed:
            stage = max(reminder_stage + 1, stage_on(due_date, on))
            moves[stage, next_stage_date(due_date, stage)].append(pk)
        for (stage, next_on), pks in moves.items():
            AcknowledgementRequest.objects.filter(pk__in=pks).update(reminder_stage=stage, next_reminder_on=next_on)
        reminded = {user_id for _, user_id, _, _ in claimed}
        if not reminded:
            return 0
        # Plain rows and dicts, not model instances: a batch lists thousands of requests, and
        # templates find a dict's keys at the first try.
        digests = defaultdict(list)
        people = {}
        # Each line of a digest (a policy, its version, due date and whether it is overdue) is
        # rendered once per batch, from its own small templates, however many people's digests
        # list it: a batch's thousands of requests are of a few dozen policies and dates.
        lines = {}
        for user_id, email, first_name, title, label, policy_id, due_date, summary in (
            _open_requests()
            .filter(user_id__in=reminded)
            .order_by("user_id", "due_date", "version__policy__title")
            .values_list(
                "user_id",
                "user__email",
                "user__first_name",
                "version__policy__title",
                "version__label",
                "version__policy_id",
                "due_date",
                "version__summary_of_changes",
            )
        ):
            people[user_id] = (email, first_name)
            key = (policy_id, title, label, due_date)
            if key not in lines:
                lines[key] = _digest_line(title, label, policy_id, due_date, on, summary)
            digests[user_id].append(lines[key])
        rows = []
        stamp = Stamp(DIGEST)
        for user_id, items in digests.items():
            email, first_name = people[user_id]
            if not email:
                # Staff without an email address (seed 002 §3) are reminded by no one's inbox: their
                # stages still move on, and their line manager is told once they are overdue.
                continue
            rows += outbox.compose(
                DIGEST,
                to=[email],
                parts=_digest_parts(stamp, first_name, items),
                topic=f"policies.digest:{user_id}:{on.isoformat()}",
            )
        outbox.write(rows, send_after_commit=True)
    return sum(1 for user_id in digests if people[user_id][0])


DIGEST = "policies/acknowledgement_reminder"


def digest_context(first_name: str, items: list[dict]) -> dict:
    """What the digest template (``DIGEST``) reads: the person, their lines, whether any is overdue."""
    return {
        "person": {"first_name": first_name},
        "requests": items,
        "overdue": any(item["overdue"] for item in items),
    }


def _digest_parts(stamp: Stamp, first_name: str, items: list[dict]) -> tuple[str, str, str]:
    """One person's digest, stamped from the batch's frame for its shape (how many lines, any
    overdue): value 0 is the first name, then the lines in order. The same text as rendering
    ``digest_context`` (tests compare them); a batch renders a few dozen frames, not thousands."""
    overdue = any(item["overdue"] for item in items)

    def frame() -> dict:
        marked = [{"text": mark(i), "html": mark(i), "overdue": overdue} for i in range(1, len(items) + 1)]
        return digest_context(mark(0), marked)

    values = [(first_name, first_name)] + [(item["text"], item["html"]) for item in items]
    return stamp.parts((len(items), overdue), frame, values)


def _digest_line(title: str, label: str, policy_id: int, due_date: dt.date, on: dt.date, summary: str = "") -> dict:
    """One policy's line in a digest, in text and HTML (``emails/policies/_digest_line.*``): with the
    version's summary of changes and a link to what changed, when the version says what changed."""
    context = {
        "title": title,
        "label": label,
        "summary": summary.strip(),
        "site_url": absolute_url(),
        "path": reverse("policies:read", args=[policy_id]),
        "due": _long_date(due_date),
        "overdue": due_date < on,
    }
    return {
        "overdue": context["overdue"],
        "text": render_to_string("emails/policies/_digest_line.txt", context),
        "html": render_to_string("emails/policies/_digest_line.html", context),
    }


@functools.lru_cache(maxsize=512)
def _long_date(day: dt.date) -> str:
    """ "5 March 2026": a batch's requests share a few due dates, each formatted once."""
    return formats.date_format(day, "j F Y")


def tell_managers(manager_ids: list[int], on: dt.date) -> int:
    """Claim these managers' teams' overdue requests not yet told about, then tell each manager once."""
    # The teams' staff records in post, and the versions that count, as lists of ids first: so the
    # claim reads only these teams' requests. (Joined instead, the planner takes "the version that
    # counts" for one row and reads every overdue request of the trust for each batch.)
    team = list(Membership.objects.current().filter(line_manager_id__in=manager_ids).values_list("pk", flat=True))
    counting = list(
        Policy.objects.exclude(acknowledgement_version=None).values_list("acknowledgement_version_id", flat=True)
    )
    with transaction.atomic():
        # As in remind_people: held rows are waited for and read again, locked in id order.
        claimed = list(
            AcknowledgementRequest.objects.select_for_update(of=("self",))
            .filter(
                membership_id__in=team,
                version_id__in=counting,
                acknowledgement=None,
                manager_told_at__isnull=True,
                due_date__lte=on - dt.timedelta(days=MANAGER_AFTER_DAYS),
            )
            .order_by("pk")
            .values_list(
                "pk",
                "membership__line_manager_id",
                "membership__line_manager__email",
                "membership__line_manager__first_name",
                "membership__line_manager__is_active",
                "user__first_name",
                "user__last_name",
                "version__policy__title",
                "version__label",
                "due_date",
            )
        )
        AcknowledgementRequest.objects.filter(pk__in=[row[0] for row in claimed]).update(manager_told_at=timezone.now())
        return _tell(claimed, on)


def _tell(claimed, on: dt.date) -> int:
    # One line per late person (a manager reads who, how many and since when), built here:
    # a team's first digest can hold hundreds of requests.
    managers, late = {}, defaultdict(lambda: defaultdict(list))
    for _, manager_id, email, first_name, active, person_first, person_last, title, label, due_date in claimed:
        managers[manager_id] = (email, first_name, active)
        late[manager_id][person_last, person_first].append((due_date, f"{title} (version {label})"))
    rows = []
    for manager_id, people in late.items():
        email, first_name, active = managers[manager_id]
        if not active or not email:  # a manager who has left, or one without an address to tell
            continue
        lines = []
        for (last, first), overdue in sorted(people.items()):
            overdue.sort()
            lines.append(
                {
                    "person": f"{first} {last}".strip(),
                    "count": len(overdue),
                    "since": _long_date(overdue[0][0]),
                    "policies": "; ".join(policy for _, policy in overdue),
                }
            )
        rows += outbox.compose(
            "policies/manager_overdue",
            to=[email],
            context={"manager": {"first_name": first_name}, "people": lines, "late_after_days": MANAGER_AFTER_DAYS},
            topic=f"policies.team-overdue:{manager_id}:{on.isoformat()}",
        )
    # Written at once, and sent by this process after the commit, as the digests are.
    outbox.write(rows, send_after_commit=True)
    return len(late)


REVIEW_STAGES = (60, 30, 7, 0)


def send_review_reminders(on: dt.date | None = None) -> int:
    """Owners 60, 30 and 7 days before and on the review date; then SLT weekly while overdue."""
    on = on or today()
    sent = 0
    policies = (
        Policy.objects.filter(retired_at__isnull=True, next_review_date__lte=on + dt.timedelta(days=REVIEW_STAGES[0]))
        .exclude(acknowledgement_version__isnull=True)
        .select_related("owner", "organisation")
    )
    for policy in policies:
        days_left = (policy.next_review_date - on).days
        if days_left >= 0:
            stage = str(min(s for s in REVIEW_STAGES if s >= days_left))
            # An owner who has left cannot review it: the leaders hear instead.
            owner_in_post = (
                Membership.objects.current().reaching(policy.organisation).filter(user=policy.owner).exists()
            )
            recipients = [policy.owner.email] if owner_in_post else _slt_emails(policy.organisation)
            template = "policies/review_due"
        else:
            stage = f"overdue-week-{(-days_left - 1) // 7}"
            recipients = _slt_emails(policy.organisation)
            template = "policies/review_overdue"
        topic = f"policies.review:{policy.pk}:{policy.next_review_date}:{stage}"
        if outbox.already_written(topic):
            continue
        if outbox.send(
            template, to=recipients, context={"policy": policy, "days_left": days_left, "today": on}, topic=topic
        ):
            sent += 1
    return sent


def _slt_emails(organisation: Organisation) -> list[str]:
    return Membership.objects.current().reaching(organisation).with_role(Role.SLT, Role.LEAD).emails()
