"""Social-media training records, and whether the people named to run an account are ready.

A person is ready when they have acknowledged the current Social Media Policy and hold
an in-date training record that counts: recorded, or verified, by an administrator or
SLT (seed 001 §4). Requests check it at approval, the register at a handover.
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from approvals.access import can_verify_training_of
from approvals.certificates import UploadError, checked_certificate
from approvals.errors import ApprovalError
from approvals.models import TrainingRecord
from core.audit import log_action
from core.validators import check_value
from policies.queries import acknowledged_current, social_media_policy_for


def readiness_gaps(organisation, users) -> list[str]:
    """What each person lacks to run an account: the current Social Media Policy acknowledged
    and an in-date social-media training record that SLT can be satisfied with, i.e. made or
    verified by an administrator or SLT (seed 001 §4). Empty when all are ready."""
    users = list(users)
    policy = social_media_policy_for(organisation)
    if policy is None:
        return [f"{organisation.name} has no published Social Media Policy: mark one in Manage policies first."]
    acknowledged = acknowledged_current(policy, [u.pk for u in users])
    in_date = TrainingRecord.objects.in_date().filter(user__in=users).values_list("user_id", "verified_at")
    trained, unverified = set(), set()
    for user_id, verified_at in in_date:
        (trained if verified_at else unverified).add(user_id)
    gaps = []
    for user in users:
        lacks = []
        if user.pk not in acknowledged:
            lacks.append(f"has not acknowledged version {policy.acknowledgement_version.label} of the {policy.title}")
        if user.pk in unverified and user.pk not in trained:
            lacks.append(
                "has an in-date social-media training record that no administrator or SLT member has verified yet"
            )
        elif user.pk not in trained:
            lacks.append("has no in-date social-media training record")
        if lacks:
            gaps.append(f"{user.full_name} {' and '.join(lacks)}.")
    return gaps


# Training records
# ------------------------------------------------------------------------------


TRAINING_LASTS_AT_MOST_YEARS = 5


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _checked_certificate(evidence) -> tuple[bytes, str]:
    """The certificate as it will be kept; refused, with the reason, as evidence would be."""
    try:
        return checked_certificate(evidence)
    except UploadError as exc:
        raise ApprovalError(str(exc)) from None


def record_training(
    *, user, actor, course: str, completed_on: dt.date, expires_on: dt.date, evidence=None
) -> TrainingRecord:
    """Record a course. Made by an administrator or SLT for one of their staff, it counts at
    once; recorded by the person themselves, it counts once one of them verifies it."""
    check_value(TrainingRecord, "completed_on", completed_on, raising=ApprovalError)
    check_value(TrainingRecord, "expires_on", expires_on, raising=ApprovalError)
    if expires_on <= completed_on:
        raise ApprovalError("The expiry date must be after the completion date.")
    latest = _years_after(completed_on, TRAINING_LASTS_AT_MOST_YEARS)
    if expires_on > latest:
        raise ApprovalError(
            f"The expiry date can be at most {TRAINING_LASTS_AT_MOST_YEARS} years after the completion date "
            f"(by {latest:%d %B %Y}). Most courses last two years."
        )
    for_someone_else = user.pk != actor.pk
    if for_someone_else and not can_verify_training_of(actor, user):
        raise ApprovalError(
            "You can record training for yourself, or for staff you oversee as an administrator or SLT."
        )
    certificate = _checked_certificate(evidence) if evidence else None
    with transaction.atomic():
        record = TrainingRecord(
            user=user, course=course, completed_on=completed_on, expires_on=expires_on, recorded_by=actor
        )
        if for_someone_else:
            record.verified_by, record.verified_at = actor, timezone.now()
        if certificate:
            # Stored under a random name (models._training_path), never the one uploaded.
            content, extension = certificate
            record.evidence.save(f"certificate.{extension}", ContentFile(content), save=False)
        record.save()
        log_action(
            "approvals.training_recorded",
            actor=actor,
            obj=record,
            to_state="verified" if record.is_verified else "unverified",
            details={"person": user.email, "course": course},
        )
    return record


def verify_training(*, record, actor) -> TrainingRecord:
    """An administrator or SLT vouches for a self-declared record, which then counts (seed 001 §4)."""
    with transaction.atomic():
        locked = TrainingRecord.objects.select_for_update().select_related("user").get(pk=record.pk)
        if locked.is_verified:
            raise ApprovalError(
                f"This record was already verified by {locked.verified_by.full_name} on {timezone.localtime(locked.verified_at):%d %B %Y}."
            )
        if not can_verify_training_of(actor, locked.user):
            raise ApprovalError(
                "Only an administrator or SLT member of the person's organisation can verify their training, "
                "and nobody verifies their own."
            )
        locked.verified_by, locked.verified_at = actor, timezone.now()
        locked.save(update_fields=["verified_by", "verified_at"])
        log_action(
            "approvals.training_verified",
            actor=actor,
            obj=locked,
            from_state="unverified",
            to_state="verified",
            details={"person": locked.user.email, "course": locked.course},
        )
    return locked
