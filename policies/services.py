"""Changes to policies: drafting, publishing, acknowledging, reviewing.

Each function locks what it changes, checks the current state, raises
``PolicyError`` with a message for the person on an illegal move, and writes
the audit trail.
"""

import datetime as dt
import secrets

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Membership, today
from core import outbox
from core.audit import log_action
from core.queueing import publish_after_commit
from core.validators import check_fields, check_value
from policies import rendering
from policies.access import can_publish
from policies.models import (
    Acknowledgement,
    AcknowledgementRequest,
    CalendarFeed,
    Policy,
    PolicyQuestion,
    PolicyReview,
    PolicyVersion,
    QuizAttempt,
    ReviewOutcome,
    SourceFormat,
    VersionStatus,
)

# Queued by name: policies.tasks imports this module.
ACKNOWLEDGEMENT_DUTY = "policies.tasks.send_acknowledgement_reminders"


class PolicyError(Exception):
    """A move the rules do not allow; the message says why, for the person who tried."""


def _check_can_publish(actor, policy) -> None:
    if not can_publish(actor, policy):
        raise PolicyError(
            f"Only the owner of {policy.title}, or a policy owner of {policy.organisation.name}, "
            "can publish or retire its versions."
        )


# Drafting
# ------------------------------------------------------------------------------


def create_policy(*, organisation, actor, **fields) -> Policy:
    with transaction.atomic():
        if fields.get("is_social_media_policy"):
            _clear_social_media_flag(organisation)
        policy = Policy.objects.create(organisation=organisation, **fields)
        log_action("policy.created", actor=actor, organisation=organisation, obj=policy)
    return policy


def update_policy(*, policy, actor, **fields) -> Policy:
    with transaction.atomic():
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        if fields.get("is_social_media_policy") and not locked.is_social_media_policy:
            _clear_social_media_flag(locked.organisation)
        changes = {}
        for name, value in fields.items():
            if getattr(locked, name) != value:
                changes[name] = [str(getattr(locked, name)), str(value)]
                setattr(locked, name, value)
        if changes:
            locked.save(update_fields=list(changes))
            log_action(
                "policy.updated",
                actor=actor,
                organisation=locked.organisation,
                obj=locked,
                details={"changes": changes},
            )
    return locked


def _clear_social_media_flag(organisation) -> None:
    Policy.objects.filter(organisation=organisation, is_social_media_policy=True).update(is_social_media_policy=False)


def _fill_content(version: PolicyVersion, *, text: str | None, upload) -> None:
    """Render or convert the version's content and hash exactly what readers will see."""
    if version.source_format == SourceFormat.MARKDOWN:
        version.text = text or ""
        version.html = rendering.render_markdown(version.text)
        version.content_sha256 = rendering.text_sha256(version.html)
        return
    if upload is None:
        if version.document:
            return  # keeping the file already uploaded
        raise PolicyError("Choose the file to upload.")
    data = upload.read()
    if version.source_format == SourceFormat.PDF:
        rendering.check_pdf(data)
        version.html = ""
        version.content_sha256 = rendering.text_sha256(data)
    else:
        version.html = rendering.convert_docx(data)
        version.content_sha256 = rendering.text_sha256(version.html)
    version.text = ""
    name = f"v{version.label}.{version.source_format}".replace("/", "-")
    version.document.save(name, ContentFile(data), save=False)


def _check_dates(version: PolicyVersion) -> None:
    """The version's dates in range (core.validators.DateRange on the model), whichever path
    they came by: the form, an imported document, the admin."""
    check_fields(version, "effective_date", "approval_date", raising=PolicyError)


def create_version(*, policy, actor, text=None, upload=None, **fields) -> PolicyVersion:
    """A new draft. Bad content raises ``document_limits.DocumentError`` and saves nothing."""
    with transaction.atomic():
        if policy.versions.filter(label=fields.get("label")).exists():
            raise PolicyError(f"This policy already has a version {fields.get('label')}.")
        version = PolicyVersion(policy=policy, created_by=actor, **fields)
        _check_dates(version)
        _fill_content(version, text=text, upload=upload)
        version.save()
        log_action(
            "policy.version_drafted", actor=actor, organisation=policy.organisation, obj=version, to_state="draft"
        )
    return version


def update_draft(*, version, actor, text=None, upload=None, **fields) -> PolicyVersion:
    with transaction.atomic():
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if not locked.is_draft:
            raise PolicyError("Only a draft can be edited. Start a new version instead.")
        for name, value in fields.items():
            setattr(locked, name, value)
        _check_dates(locked)
        _fill_content(locked, text=text, upload=upload)
        locked.save()
        log_action("policy.version_edited", actor=actor, organisation=locked.policy.organisation, obj=locked)
    return locked


# Publishing
# ------------------------------------------------------------------------------


def publish_version(*, version, actor, due_date: dt.date | None = None) -> PolicyVersion:
    """Publish a draft: it supersedes the published version and, unless it is a minor
    correction, asks everyone in the audience to acknowledge it by ``due_date``."""
    with transaction.atomic():
        policy = Policy.objects.select_for_update().select_related("organisation").get(pk=version.policy_id)
        _check_can_publish(actor, policy)
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if not locked.is_draft:
            raise PolicyError(
                f"Version {locked.label} is {locked.get_status_display().lower()}, not a draft: only a draft can be published."
            )
        if not locked.content_sha256:
            raise PolicyError("This version has no text yet.")
        published_on = today()
        period = policy.organisation.acknowledgement_period_days
        due_date = due_date or published_on + dt.timedelta(days=period)
        if due_date < published_on:
            raise PolicyError("The date to acknowledge by cannot be before the publication date.")
        previous = policy.versions.published().first()
        if not locked.requires_acknowledgement and policy.acknowledgement_version_id is None:
            raise PolicyError("The first version staff see must ask them to acknowledge it.")
        if previous:
            previous.status = VersionStatus.SUPERSEDED
            previous.save(update_fields=["status"])
            log_action(
                "policy.version_superseded",
                actor=actor,
                organisation=policy.organisation,
                obj=previous,
                from_state="published",
                to_state="superseded",
            )
        locked.status = VersionStatus.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = actor
        locked.due_date = due_date
        locked.save(update_fields=["status", "published_at", "published_by", "due_date"])
        policy.next_review_date = policy.review_date_after(locked.approval_date or published_on)
        policy.retired_at = None
        update_fields = ["next_review_date", "retired_at"]
        if locked.requires_acknowledgement:
            policy.acknowledgement_version = locked
            update_fields.append("acknowledgement_version")
        policy.save(update_fields=update_fields)
        if previous:
            # A new version is how a review that changes the policy ends.
            PolicyReview.objects.create(
                policy=policy,
                outcome=ReviewOutcome.NEW_VERSION,
                reviewed_by=actor,
                reviewed_on=published_on,
                next_review_date=policy.next_review_date,
                version=locked,
            )
        log_action(
            "policy.version_published",
            actor=actor,
            organisation=policy.organisation,
            obj=locked,
            from_state="draft",
            to_state="published",
            details={"due_date": due_date.isoformat(), "asks_acknowledgement": locked.requires_acknowledgement},
        )
        if locked.requires_acknowledgement:
            sync_requests(policies=[policy])
            # The first emails go at once (the sweep sends each person one digest); if the broker
            # cannot be reached they go with the daily sweep instead.
            publish_after_commit(ACKNOWLEDGEMENT_DUTY)
    return locked


def retire_policy(*, policy, actor) -> Policy:
    """Withdraw a policy: its published version is retired and nobody is asked to acknowledge it."""
    with transaction.atomic():
        locked = Policy.objects.select_for_update().select_related("organisation").get(pk=policy.pk)
        _check_can_publish(actor, locked)
        if locked.retired_at:
            raise PolicyError("This policy is already retired.")
        current = locked.versions.published().first()
        if current:
            current.status = VersionStatus.RETIRED
            current.save(update_fields=["status"])
        locked.retired_at = timezone.now()
        locked.acknowledgement_version = None
        locked.is_social_media_policy = False
        locked.save(update_fields=["retired_at", "acknowledgement_version", "is_social_media_policy"])
        log_action(
            "policy.retired",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state="published",
            to_state="retired",
        )
    return locked


def due_date_for(version: PolicyVersion, membership: Membership) -> dt.date:
    """Staff in post at publication: the version's date. New starters: their start plus the period."""
    published_on = timezone.localdate(version.published_at)
    joined = max(filter(None, [membership.start_date, timezone.localdate(membership.created_at)]))
    if joined <= published_on:
        return version.due_date
    return joined + dt.timedelta(days=membership.organisation.acknowledgement_period_days)


def ask_people_changed(sender, *, users, **kwargs) -> None:
    """People who joined or whose roles or records changed (``accounts.signals.people_changed``)
    are asked at once to acknowledge the policies now applying to them."""
    sync_requests(users=users)


def sync_requests(*, policies=None, users=None, batch_size: int = 2000) -> int:
    """Ask everyone now in each policy's audience to acknowledge its current version.

    Idempotent: people already asked are left alone, so it runs at publication,
    when staff join or change roles (``users``) and before every reminder sweep.
    Returns how many were asked.
    """
    if policies is None:
        policies = Policy.objects.filter(acknowledgement_version__isnull=False).select_related(
            "acknowledgement_version"
        )
    created = 0
    today_ = today()
    for policy in policies:
        version = policy.acknowledgement_version
        if version is None:
            continue
        # Only the people not yet asked leave the database (usually none): an anti-join there,
        # rather than every member of a large trust's audience compared in Python.
        audience = (
            policy.audience()
            .exclude(Exists(AcknowledgementRequest.objects.filter(version=version, user_id=OuterRef("user_id"))))
            .select_related("organisation")
            .order_by("user_id", "pk")
        )
        if users is not None:
            audience = audience.filter(user__in=users)
        asked = set()  # a person in two of the audience's organisations is asked once
        new = []
        for membership in audience.iterator(chunk_size=batch_size):
            if membership.user_id in asked:
                continue
            asked.add(membership.user_id)
            new.append(
                AcknowledgementRequest(
                    version=version,
                    user_id=membership.user_id,
                    membership=membership,
                    due_date=due_date_for(version, membership),
                    next_reminder_on=today_,
                )
            )
            if len(new) >= batch_size:
                created += len(AcknowledgementRequest.objects.bulk_create(new, ignore_conflicts=True))
                new = []
        created += len(AcknowledgementRequest.objects.bulk_create(new, ignore_conflicts=True))
    return created


# Reading and acknowledging
# ------------------------------------------------------------------------------


def open_request(user, policy) -> AcknowledgementRequest | None:
    return (
        AcknowledgementRequest.objects.current().filter(user=user, version_id=policy.acknowledgement_version_id).first()
        if policy.acknowledgement_version_id
        else None
    )


def answer_quiz(*, user, version, answers: dict[int, int]) -> bool:
    """Record an attempt at the version's questions; True when every answer is right."""
    questions = list(version.questions.all())
    passed = bool(questions) and all(answers.get(q.pk) == q.correct_choice for q in questions)
    QuizAttempt.objects.create(
        user=user, version=version, answers={str(k): v for k, v in answers.items()}, passed=passed
    )
    return passed


def has_passed_quiz(user, version) -> bool:
    if not version.questions.exists():
        return True
    return QuizAttempt.objects.filter(user=user, version=version, passed=True).exists()


def acknowledge(*, user, version, ip_address=None, user_agent="") -> Acknowledgement:
    """Record that ``user`` has read and understood ``version``.

    A double click or a resubmission returns the acknowledgement already made.
    """
    with transaction.atomic():
        locked_version = PolicyVersion.objects.select_related("policy__organisation").get(pk=version.pk)
        existing = Acknowledgement.objects.filter(user=user, version=locked_version).first()
        if existing:
            return existing
        if locked_version.status != VersionStatus.PUBLISHED:
            raise PolicyError(
                f"Version {locked_version.label} is {locked_version.get_status_display().lower()}: only the published version can be acknowledged."
            )
        request = (
            AcknowledgementRequest.objects.current()
            .select_for_update(of=("self",))
            .filter(user=user, version_id=locked_version.policy.acknowledgement_version_id)
            .first()
        )
        if request is None:
            raise PolicyError("You are not asked to acknowledge this policy.")
        if request.acknowledgement_id:
            return request.acknowledgement
        if not has_passed_quiz(user, locked_version):
            raise PolicyError("Answer the questions about the policy correctly before acknowledging it.")
        try:
            with transaction.atomic():
                acknowledgement = Acknowledgement.objects.create(
                    user=user,
                    version=locked_version,
                    acknowledged_at=timezone.now(),
                    ip_address=ip_address,
                    user_agent=(user_agent or "")[:500],
                    content_sha256=locked_version.content_sha256,
                )
        except IntegrityError:  # the same person's other request won the race
            return Acknowledgement.objects.get(user=user, version=locked_version)
        request.acknowledgement = acknowledgement
        request.save(update_fields=["acknowledgement"])
        log_action(
            "policy.acknowledged",
            actor=user,
            organisation=request.membership.organisation,
            obj=locked_version,
            details={"sha256": acknowledgement.content_sha256},
        )
    return acknowledgement


def acknowledge_together(*, user, versions, ip_address=None, user_agent="") -> Acknowledgement:
    """A trust's policy and the school's local addendum, read on one page, acknowledged
    together or not at all. Returns the first version's acknowledgement."""
    for version in versions:
        if not has_passed_quiz(user, version):
            raise PolicyError(f"Answer the questions about {version.policy.title} correctly before acknowledging it.")
    with transaction.atomic():
        acknowledgements = [
            acknowledge(user=user, version=v, ip_address=ip_address, user_agent=user_agent) for v in versions
        ]
    return acknowledgements[0]


def ask_owner(*, user, version, question: str) -> PolicyQuestion:
    question = question.strip()
    if not question:
        raise PolicyError("Write your question first.")
    with transaction.atomic():
        asked = PolicyQuestion.objects.create(policy=version.policy, version=version, asked_by=user, question=question)
        log_action("policy.question_asked", actor=user, organisation=version.policy.organisation, obj=version.policy)
        outbox.send(
            "policies/question_for_owner",
            to=[version.policy.owner.email],
            context={"question": asked},
            reply_to=user.email,
            topic=f"policies.question:{asked.pk}",
        )
    return asked


# Review
# ------------------------------------------------------------------------------


def review_without_change(*, policy, actor, notes: str = "") -> PolicyReview:
    """The owner has reviewed the policy and it stands: a new next review date."""
    with transaction.atomic():
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        if not locked.versions.published().exists():
            raise PolicyError("Only a published policy can be reviewed.")
        reviewed_on = today()
        previous_date = locked.next_review_date
        locked.next_review_date = locked.review_date_after(reviewed_on)
        locked.save(update_fields=["next_review_date"])
        review = PolicyReview.objects.create(
            policy=locked,
            outcome=ReviewOutcome.NO_CHANGE,
            reviewed_by=actor,
            reviewed_on=reviewed_on,
            next_review_date=locked.next_review_date,
            notes=notes,
        )
        log_action(
            "policy.reviewed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={
                "outcome": "no_change",
                "previous_review_date": str(previous_date),
                "next_review_date": str(locked.next_review_date),
            },
        )
    return review


# Questions that check understanding, and importing
# ------------------------------------------------------------------------------


def add_question(*, version, actor, prompt: str, choices: list[str], correct_choice: int) -> None:
    """``correct_choice`` counts from 1, as the owner sees the answers."""
    with transaction.atomic():
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if not locked.is_draft:
            raise PolicyError("Questions can only be changed on a draft.")
        position = locked.questions.count()
        question = locked.questions.create(
            prompt=prompt, choices=choices, correct_choice=correct_choice - 1, position=position
        )
        log_action(
            "policy.question_added",
            actor=actor,
            organisation=locked.policy.organisation,
            obj=locked,
            details={"question": question.prompt},
        )


def remove_question(*, question, actor) -> None:
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().get(pk=question.version_id)
        if not version.is_draft:
            raise PolicyError("Questions can only be changed on a draft.")
        log_action(
            "policy.question_removed",
            actor=actor,
            organisation=version.policy.organisation,
            obj=version,
            details={"question": question.prompt},
        )
        question.delete()


def copy_questions(*, source, target) -> None:
    target.questions.bulk_create(
        [
            target.questions.model(
                version=target, position=q.position, prompt=q.prompt, choices=q.choices, correct_choice=q.correct_choice
            )
            for q in source.questions.all()
        ]
    )


def import_policy(*, organisation, actor, parsed) -> Policy:
    """A policy and its first draft from a document shaped like the seed policies."""
    with transaction.atomic():
        policy = create_policy(
            organisation=organisation,
            actor=actor,
            title=parsed.title[:200],
            owner=actor,
            approval_body=parsed.approval_body[:150],
            author=parsed.author[:150],
            review_frequency_months=parsed.review_frequency_months or 12,
        )
        create_version(
            policy=policy,
            actor=actor,
            text=parsed.body_markdown,
            label=(parsed.version_label or "1")[:30],
            approval_date=parsed.date_reviewed,
            approved_by=parsed.approval_body[:150],
            summary_of_changes="Imported from a document.",
        )
        if parsed.next_review_date:
            check_value(Policy, "next_review_date", parsed.next_review_date, raising=PolicyError)
            policy.next_review_date = parsed.next_review_date
            policy.save(update_fields=["next_review_date"])
    return policy


# The review calendar's private link
# ------------------------------------------------------------------------------


def new_calendar_link(*, user) -> str:
    """Make the person's calendar link, or replace it: the old link stops working at once.

    Returns the new token. Only its hash is kept, so this is the one time it can be shown.
    """
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed, created = CalendarFeed.objects.update_or_create(
            user=user,
            defaults={"token_sha256": CalendarFeed.digest(token), "created_at": timezone.now(), "last_used_at": None},
        )
        log_action("policy.calendar_link_made" if created else "policy.calendar_link_replaced", actor=user, obj=feed)
    return token


def turn_off_calendar_link(*, user) -> None:
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        if feed is None:
            raise PolicyError("You have no calendar link to turn off.")
        log_action(
            "policy.calendar_link_turned_off",
            actor=user,
            obj=feed,
            details={"last_used_at": feed.last_used_at.isoformat() if feed.last_used_at else None},
        )
        feed.delete()
