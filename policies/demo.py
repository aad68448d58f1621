"""The demo's Social Media Policy: written for the demo, two versions and a spread of acknowledgements."""

import datetime as dt
import hashlib
from pathlib import Path

from django.utils import timezone

from accounts.models import today
from policies import rendering
from policies.models import (
    Acknowledgement,
    AcknowledgementRequest,
    Category,
    Policy,
    PolicyVersion,
    QuizQuestion,
    VersionStatus,
)
from policies.services import sync_requests

TEXTS = Path(__file__).resolve().parent / "demo_texts"
TITLE = "Social Media Policy"


def _share(email: str, salt: str) -> int:
    """A stable number from 0 to 99 per person, so the spread is the same on every run."""
    return int(hashlib.sha256(f"{salt}:{email}".encode()).hexdigest(), 16) % 100


def _version(policy, owner, label, text_file, published, status, summary, approval):
    html = rendering.render_markdown((TEXTS / text_file).read_text())
    return PolicyVersion.objects.create(
        policy=policy,
        label=label,
        status=status,
        text=(TEXTS / text_file).read_text(),
        html=html,
        content_sha256=rendering.text_sha256(html),
        summary_of_changes=summary,
        approval_date=approval,
        effective_date=approval,
        approved_by=policy.approval_body,
        published_at=published,
        published_by=owner,
        due_date=timezone.localdate(published) + dt.timedelta(days=14),
        created_by=owner,
    )


def _acknowledge(version, requests, when):
    for request in requests:
        acknowledgement = Acknowledgement.objects.create(
            user_id=request.user_id,
            version=version,
            acknowledged_at=when(request),
            ip_address="192.0.2.10",
            user_agent="Demo data",
            content_sha256=version.content_sha256,
        )
        AcknowledgementRequest.objects.filter(pk=request.pk).update(acknowledgement=acknowledgement, reminder_stage=1)


def seed_social_media_policy(
    trust,
    owner,
    *,
    sign_ins_outstanding=("staff@", "manager@"),
    always_acknowledged=("osc@", "l.evans@", "k.dunn@", "c.fraser@", "slt@", "head@"),
) -> Policy:
    """Create the trust's Social Media Policy once; later runs leave it as it is."""
    existing = Policy.objects.filter(organisation=trust, title=TITLE).first()
    if existing:
        return existing
    now = timezone.now()
    policy = Policy.objects.create(
        organisation=trust,
        title=TITLE,
        category=Category.SOCIAL_MEDIA,
        owner=owner,
        approval_body="Trust board",
        author="Trust Compliance Lead",
        is_social_media_policy=True,
    )
    v1_published = now - dt.timedelta(days=400)
    v2_published = now - dt.timedelta(days=21)
    v1 = _version(
        policy,
        owner,
        "1",
        "social_media_v1.md",
        v1_published,
        VersionStatus.SUPERSEDED,
        "First version.",
        (v1_published - dt.timedelta(days=7)).date(),
    )
    policy.acknowledgement_version = v1
    policy.save(update_fields=["acknowledgement_version"])
    sync_requests(policies=[policy])
    # Requests made a year ago: due then, and nearly everyone acknowledged.
    v1_requests = AcknowledgementRequest.objects.filter(version=v1).select_related("user")
    v1_requests.update(due_date=v1.due_date, next_reminder_on=v1.due_date)
    _acknowledge(
        v1,
        [r for r in v1_requests if _share(r.user.email, "v1") < 90],
        lambda r: v1_published + dt.timedelta(days=1 + _share(r.user.email, "v1-day") % 12),
    )

    v2 = _version(
        policy,
        owner,
        "2",
        "social_media_v2.md",
        v2_published,
        VersionStatus.PUBLISHED,
        "Personal contact with learners, logging responses, and training for account runners.",
        (v2_published - dt.timedelta(days=5)).date(),
    )
    for position, (prompt, choices, right) in enumerate(
        [
            (
                "A learner sends you a friend request on your personal account. What do you do?",
                [
                    "Accept it if their parents agree",
                    "Decline it, and tell the DSL if you are worried",
                    "Ignore it for now",
                ],
                1,
            ),
            (
                "How quickly must a comment on an official account be answered?",
                ["Within 24 hours", "Within a week", "Only if it is a complaint"],
                0,
            ),
        ]
    ):
        QuizQuestion.objects.create(version=v2, position=position, prompt=prompt, choices=choices, correct_choice=right)
    policy.acknowledgement_version = v2
    policy.next_review_date = policy.review_date_after(v2.approval_date)
    policy.save(update_fields=["acknowledgement_version", "next_review_date"])
    sync_requests(policies=[policy])
    v2_requests = AcknowledgementRequest.objects.filter(version=v2).select_related("user")
    # Everyone was in post when version 2 was published three weeks ago: overdue for those who have not read it.
    AcknowledgementRequest.objects.filter(version=v2).update(
        due_date=v2.due_date, reminder_stage=1, next_reminder_on=today() + dt.timedelta(days=1)
    )
    keep_open = tuple(sign_ins_outstanding)
    done = [
        r
        for r in v2_requests
        if (_share(r.user.email, "v2") < 60 or r.user.email.startswith(tuple(always_acknowledged)))
        and not r.user.email.startswith(keep_open)
    ]
    _acknowledge(v2, done, lambda r: v2_published + dt.timedelta(days=1 + _share(r.user.email, "v2-day") % 10))
    return policy
