"""Account requests and their decisions, the register, and the 24-hour response log.

Each function locks what it changes, checks the current state, raises
``ApprovalError`` with a message for the person on an illegal move, writes
the audit trail and tells the people concerned.
"""

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Membership, Role, User, today
from accounts.permissions import access_for
from approvals import crypto, notices
from approvals.access import can_decide_request, can_verify_training_of
from approvals.certificates import MAX_BYTES, certificate_type
from approvals.models import (
    AccountCheck,
    AccountMember,
    AccountRequest,
    AccountRole,
    AccountStatus,
    Decision,
    DecisionKind,
    IntakeDelivery,
    OfficialAccount,
    RequestStatus,
    ResponseItem,
    Runner,
    StoredCredentials,
    TrainingRecord,
)
from core.audit import log_action
from core.validators import check_value
from core.workingdays import response_due
from policies.queries import acknowledged_current, social_media_policy_for


class ApprovalError(Exception):
    """A move the rules do not allow; the message says why, for the person who tried."""


class ApprovalRefused(ApprovalError):
    """Approval refused because people named to run the account are not ready."""

    def __init__(self, gaps: list[str]):
        super().__init__("Approval refused: " + " ".join(gaps))
        self.gaps = gaps


# Who may run an account (seed 001 §4)
# ------------------------------------------------------------------------------


def staff_of(organisation):
    """People who may be named to run an account: current staff of the organisation or its trust."""
    return User.objects.filter(memberships__in=Membership.objects.current().reaching(organisation)).distinct()


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


# Requests
# ------------------------------------------------------------------------------


def _check_request(organisation, fields: dict, runners: list[tuple[User, bool]]) -> None:
    if not organisation.owns_email(fields["official_email"]):
        domains = (
            ", ".join(organisation.domains + (organisation.parent.domains if organisation.parent_id else []))
            or "none set"
        )
        raise ApprovalError(f"The official email must be on one of {organisation.name}'s email domains ({domains}).")
    if not runners:
        raise ApprovalError("Name at least one person to run the account.")
    if sum(1 for _, is_lead in runners if is_lead) != 1:
        raise ApprovalError("Name exactly one lead to run the account.")
    allowed = set(staff_of(organisation).filter(pk__in=[u.pk for u, _ in runners]).values_list("pk", flat=True))
    outsiders = [u.full_name for u, _ in runners if u.pk not in allowed]
    if outsiders:
        raise ApprovalError(f"Only staff of {organisation.name} can run its accounts: {', '.join(outsiders)} is not.")


def save_request(
    *, organisation, requester, runners: list[tuple[User, bool]], account_request=None, **fields
) -> AccountRequest:
    """Create a draft, or change a draft or a request sent back for changes."""
    _check_request(organisation, fields, runners)
    with transaction.atomic():
        if account_request is None:
            account_request = AccountRequest.objects.create(organisation=organisation, requester=requester, **fields)
            log_action(
                "approvals.request_drafted",
                actor=requester,
                organisation=organisation,
                obj=account_request,
                to_state="draft",
            )
        else:
            account_request = AccountRequest.objects.select_for_update().get(pk=account_request.pk)
            if account_request.requester_id != requester.pk:
                raise ApprovalError("Only the person who made the request can change it.")
            if not account_request.is_editable:
                raise ApprovalError(
                    f"A request that is {account_request.get_status_display().lower()} cannot be changed."
                )
            for name, value in fields.items():
                setattr(account_request, name, value)
            account_request.save()
            account_request.runners.all().delete()
            log_action("approvals.request_edited", actor=requester, organisation=organisation, obj=account_request)
        Runner.objects.bulk_create([Runner(request=account_request, user=u, is_lead=lead) for u, lead in runners])
    return account_request


def _locked(account_request) -> AccountRequest:
    return (
        AccountRequest.objects.select_for_update()
        .select_related("organisation", "requester")
        .get(pk=account_request.pk)
    )


def _deciders(organisation) -> list[str]:
    return Membership.objects.current().reaching(organisation).with_role(Role.SLT, Role.LEAD).emails()


def submit_request(*, account_request, actor) -> AccountRequest:
    with transaction.atomic():
        locked = _locked(account_request)
        if locked.requester_id != actor.pk:
            raise ApprovalError("Only the person who made the request can submit it.")
        if not locked.is_editable:
            raise ApprovalError(f"A request that is {locked.get_status_display().lower()} cannot be submitted.")
        missing = [
            str(AccountRequest._meta.get_field(n).verbose_name)
            for n in ("aim", "audience", "promotion", "visibility")
            if not getattr(locked, n).strip()
        ]
        if missing:
            raise ApprovalError("The business case is missing: " + "; ".join(missing) + ".")
        previous = locked.status
        locked.status = RequestStatus.SUBMITTED
        locked.submission += 1
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["status", "submission", "submitted_at"])
        entry = log_action(
            "approvals.request_submitted",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=previous,
            to_state="submitted",
        )
        recipients = [e for e in _deciders(locked.organisation) if e != actor.email]
        notices.after_change(
            entry,
            recipients,
            f"Account request to decide: {locked}",
            [
                f"{actor.full_name} asks to run {locked} for {locked.organisation.name}.",
                "Read the business case and decide.",
            ],
            notices.request_path(locked),
        )
    return locked


def withdraw_request(*, account_request, actor, reason: str = "") -> AccountRequest:
    with transaction.atomic():
        locked = _locked(account_request)
        if locked.requester_id != actor.pk:
            raise ApprovalError("Only the person who made the request can withdraw it.")
        if not locked.is_open:
            raise ApprovalError(f"The request is already {locked.get_status_display().lower()}.")
        previous = locked.status
        locked.status = RequestStatus.WITHDRAWN
        locked.decision_reason = reason
        locked.save(update_fields=["status", "decision_reason"])
        entry = log_action(
            "approvals.request_withdrawn",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=previous,
            to_state="withdrawn",
            details={"reason": reason},
        )
        if previous == RequestStatus.SUBMITTED:
            notices.after_change(
                entry,
                [e for e in _deciders(locked.organisation) if e != actor.email],
                f"Account request withdrawn: {locked}",
                [f"{actor.full_name} withdrew the request for {locked}; there is nothing to decide."]
                + ([f"Reason: {reason}"] if reason else []),
                notices.request_path(locked),
            )
    return locked


def decide(*, account_request, decider, kind: str, reason: str = "") -> AccountRequest:
    """Record one decider's decision; the request is decided when the organisation's rule is met.

    Two deciders acting at once, or a double click, produce exactly one decision:
    the request row is locked and its state checked again.
    """
    reason = reason.strip()
    if kind in (DecisionKind.REJECT, DecisionKind.REQUEST_CHANGES) and not reason:
        raise ApprovalError("Give the reason, so the requester knows what to do.")
    with transaction.atomic():
        locked = _locked(account_request)
        if locked.requester_id == decider.pk:
            raise ApprovalError("You cannot decide on your own request.")
        if not can_decide_request(decider, locked):
            raise ApprovalError("Only the senior leadership team or the organisation lead decide account requests.")
        if locked.status != RequestStatus.SUBMITTED:
            raise ApprovalError(
                f"This request is {locked.get_status_display().lower()}, so there is nothing to decide."
            )
        if Decision.objects.filter(request=locked, submission=locked.submission, decider=decider).exists():
            raise ApprovalError("You have already given your decision on this submission.")
        runners = [r.user for r in locked.runners.select_related("user")]
        if kind == DecisionKind.APPROVE:
            gaps = readiness_gaps(locked.organisation, runners)
            if gaps:
                raise ApprovalRefused(gaps)
        as_lead = access_for(decider).has_role(locked.organisation, Role.LEAD)
        try:
            with transaction.atomic():
                Decision.objects.create(
                    request=locked,
                    submission=locked.submission,
                    decider=decider,
                    kind=kind,
                    as_lead=as_lead,
                    reason=reason,
                )
        except IntegrityError:
            raise ApprovalError("You have already given your decision on this submission.") from None
        new_status = _outcome(locked, kind)
        if new_status is None:
            log_action(
                "approvals.approval_given",
                actor=decider,
                organisation=locked.organisation,
                obj=locked,
                details={"reason": reason},
            )
            return locked
        locked.status = new_status
        locked.decided_at = timezone.now() if new_status != RequestStatus.CHANGES_REQUESTED else None
        locked.decision_reason = reason
        locked.save(update_fields=["status", "decided_at", "decision_reason"])
        log_action(
            "approvals.request_decided",
            actor=decider,
            organisation=locked.organisation,
            obj=locked,
            from_state="submitted",
            to_state=new_status,
            details={"reason": reason},
        )
        if new_status == RequestStatus.APPROVED:
            _open_account(locked, runners, decider)
        words = {
            RequestStatus.APPROVED: "was approved. The account can now be set up and added to the register.",
            RequestStatus.REJECTED: "was rejected.",
            RequestStatus.CHANGES_REQUESTED: "needs changes before it can be approved.",
        }[new_status]
        lines = [f"Your request for {locked} {words}"] + ([f"Reason: {reason}"] if reason else [])
        notices.send_notice(
            sorted({locked.requester.email, *(u.email for u in runners)}),
            f"Account request {locked.get_status_display().lower()}: {locked}",
            lines,
            notices.request_path(locked),
            topic=f"approvals.request:{locked.pk}:{locked.submission}:{new_status}",
        )
    return locked


def _outcome(locked: AccountRequest, kind: str) -> str | None:
    """The request's new status after this decision, or None while approvals are still needed."""
    if kind == DecisionKind.REJECT:
        return RequestStatus.REJECTED
    if kind == DecisionKind.REQUEST_CHANGES:
        return RequestStatus.CHANGES_REQUESTED
    approvals = Decision.objects.filter(request=locked, submission=locked.submission, kind=DecisionKind.APPROVE)
    organisation = locked.organisation
    enough_slt = approvals.count() >= organisation.approvals_needed
    lead_ok = not organisation.lead_approval_required or approvals.filter(as_lead=True).exists()
    return RequestStatus.APPROVED if enough_slt and lead_ok else None


def _open_account(account_request, runners, actor) -> OfficialAccount:
    lead = next(r.user for r in account_request.runners.select_related("user") if r.is_lead)
    account = OfficialAccount.objects.create(
        request=account_request,
        organisation=account_request.organisation,
        name=account_request.proposed_name,
        platform=account_request.platform,
        official_email=account_request.official_email,
        lead=lead,
    )
    AccountMember.objects.bulk_create(
        [AccountMember(account=account, user=u, role=AccountRole.ADMINISTRATOR) for u in runners]
    )
    log_action(
        "approvals.account_registered",
        actor=actor,
        organisation=account.organisation,
        obj=account,
        to_state=AccountStatus.PENDING_CREATION,
    )
    return account


# Training
# ------------------------------------------------------------------------------


TRAINING_LASTS_AT_MOST_YEARS = 5


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _certificate_extension(evidence) -> str:
    """The certificate's type from its content; refused unless it is a PDF, PNG or JPEG."""
    if evidence.size is not None and evidence.size > MAX_BYTES:
        raise ApprovalError("The certificate is larger than 10 MB.")
    head = evidence.read(16)
    evidence.seek(0)
    extension = certificate_type(head)
    if extension is None:
        raise ApprovalError("The certificate must be a PDF, PNG or JPEG file, whatever its name says.")
    return extension


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
    extension = _certificate_extension(evidence) if evidence else None
    with transaction.atomic():
        record = TrainingRecord(
            user=user, course=course, completed_on=completed_on, expires_on=expires_on, recorded_by=actor
        )
        if for_someone_else:
            record.verified_by, record.verified_at = actor, timezone.now()
        if evidence:
            # Stored under a random name (models._training_path), never the one uploaded.
            record.evidence.save(f"certificate.{extension}", evidence, save=False)
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


# The register
# ------------------------------------------------------------------------------

TERM_ENDS = ((12, 20), (3, 31), (7, 20))  # the end of the autumn, spring and summer terms


def next_check_date(after: dt.date) -> dt.date:
    """The end of the next school term after ``after``: the termly check is due then."""
    candidates = [dt.date(after.year + offset, month, day) for offset in (0, 1) for month, day in TERM_ENDS]
    return min(d for d in candidates if d > after)


def _locked_account(account) -> OfficialAccount:
    return OfficialAccount.objects.select_for_update().select_related("organisation").get(pk=account.pk)


CHECKLIST_FIELDS = (
    "url",
    "linked_to_official_email",
    "policy_link_in_about",
    "official_branding",
    "two_factor_on",
    "credentials_location",
    "credentials_changed_on",
    "shared_with_slt",
)


def update_checklist(*, account, actor, **fields) -> OfficialAccount:
    """Record the provisioning checklist; a complete checklist makes a new account active."""
    with transaction.atomic():
        locked = _locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is closed.")
        changes = {}
        for name in CHECKLIST_FIELDS:
            if name in fields and getattr(locked, name) != fields[name]:
                changes[name] = [str(getattr(locked, name)), str(fields[name])]
                setattr(locked, name, fields[name])
        previous = locked.status
        if locked.status == AccountStatus.PENDING_CREATION and not locked.checklist_gaps():
            locked.status = AccountStatus.ACTIVE
            locked.activated_at = timezone.now()
            locked.next_check_due = next_check_date(today())
        locked.save()
        log_action(
            "approvals.checklist_updated",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=previous,
            to_state=locked.status,
            details={"changes": changes},
        )
    return locked


def _slt_emails(organisation) -> list[str]:
    return Membership.objects.current().reaching(organisation).with_role(Role.SLT).emails()


def _admin_emails(account) -> list[str]:
    return sorted(
        account.members.filter(role=AccountRole.ADMINISTRATOR, user__is_active=True).values_list(
            "user__email", flat=True
        )
    )


def store_credentials(*, account, actor, secret: str) -> StoredCredentials:
    """Keep the sign-in details encrypted; SLT are told of every change (seed 004 §4.2)."""
    secret = secret.strip()
    if not secret:
        raise ApprovalError("Enter the sign-in details to keep.")
    ciphertext = crypto.encrypt(secret)  # raises CredentialsUnavailable without a key
    with transaction.atomic():
        locked = _locked_account(account)
        stored, _ = StoredCredentials.objects.update_or_create(
            account=locked, defaults={"ciphertext": ciphertext, "changed_at": timezone.now(), "changed_by": actor}
        )
        locked.credentials_changed_on = today()
        locked.credentials_location = "Encrypted in Policy Portal"
        locked.save(update_fields=["credentials_changed_on", "credentials_location"])
        entry = log_action("approvals.credentials_changed", actor=actor, organisation=locked.organisation, obj=locked)
        notices.after_change(
            entry,
            _slt_emails(locked.organisation),
            f"Sign-in details changed: {locked}",
            [f"{actor.full_name} changed the sign-in details of {locked} kept in Policy Portal."],
            notices.account_path(locked),
        )
    return stored


def reveal_credentials(*, account, actor) -> str:
    """The sign-in details in clear; every reveal is logged and SLT are told (seed 001 §3)."""
    stored = StoredCredentials.objects.filter(account=account).first()
    if stored is None:
        raise ApprovalError("No sign-in details are kept in the portal for this account.")
    secret = crypto.decrypt(stored.ciphertext)
    with transaction.atomic():
        entry = log_action(
            "approvals.credentials_revealed", actor=actor, organisation=account.organisation, obj=account
        )
        notices.after_change(
            entry,
            [e for e in _slt_emails(account.organisation) if e != actor.email],
            f"Sign-in details viewed: {account}",
            [
                f"{actor.full_name} viewed the sign-in details of {account} kept in Policy Portal, "
                f"at {timezone.localtime():%H:%M on %d %B %Y}."
            ],
            notices.account_path(account),
        )
    return secret


@dataclass
class KeyRotation:
    rotated: int = 0
    current: int = 0
    unreadable: list[int] = field(default_factory=list)  # account ids


def rotate_credentials_key() -> KeyRotation:
    """Re-encrypt every stored row with the newest key; rows already on it are left as they are,
    so running it twice changes nothing the second time."""
    crypto.key_count()  # raises CredentialsUnavailable without a key
    report = KeyRotation()
    for pk in StoredCredentials.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            # Locked, so a change of the details at the same moment is never overwritten with the old ones.
            stored = StoredCredentials.objects.select_for_update().get(pk=pk)
            if crypto.is_on_newest_key(stored.ciphertext):
                report.current += 1
                continue
            try:
                stored.ciphertext = crypto.reencrypt(stored.ciphertext)
            except crypto.CredentialsUnavailable:
                report.unreadable.append(stored.account_id)
                continue
            stored.save(update_fields=["ciphertext"])
            report.rotated += 1
    log_action(
        "approvals.credentials_key_rotated",
        details={
            "rotated": report.rotated,
            "already_current": report.current,
            "unreadable_accounts": report.unreadable,
            "keys": crypto.key_count(),
        },
    )
    return report


def record_check(
    *, account, actor, admins_confirmed: bool, two_factor_still_on: bool, checklist_still_true: bool, notes: str = ""
) -> AccountCheck:
    if not (admins_confirmed and two_factor_still_on and checklist_still_true) and not notes.strip():
        raise ApprovalError("Say in the notes what is no longer right and what you are doing about it.")
    with transaction.atomic():
        locked = _locked_account(account)
        if locked.status != AccountStatus.ACTIVE:
            raise ApprovalError("Only an active account has a termly check.")
        if locked.checks.filter(checked_on=today()).exists():
            raise ApprovalError("The termly check was already recorded today.")
        check = AccountCheck.objects.create(
            account=locked,
            checked_by=actor,
            checked_on=today(),
            admins_confirmed=admins_confirmed,
            two_factor_still_on=two_factor_still_on,
            checklist_still_true=checklist_still_true,
            notes=notes,
        )
        # Due by the end of the next term, counted from the later of today and the date it was due.
        locked.next_check_due = next_check_date(max(today(), locked.next_check_due or today()))
        if not two_factor_still_on:
            locked.two_factor_on = False
        locked.save(update_fields=["next_check_due", "two_factor_on"])
        log_action(
            "approvals.account_checked",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"all_right": admins_confirmed and two_factor_still_on and checklist_still_true},
        )
    return check


def accounts_needing_handover():
    """Live accounts whose lead has left the organisation (leaving date passed or deactivated)."""
    lead_in_post = Membership.objects.current().filter(
        Q(organisation=OuterRef("organisation")) | Q(organisation=OuterRef("organisation__parent")),
        user=OuterRef("lead"),
    )
    return OfficialAccount.objects.filter(status__in=[AccountStatus.ACTIVE, AccountStatus.PENDING_CREATION]).exclude(
        Exists(lead_in_post)
    )


def flag_handovers() -> int:
    """Daily: accounts whose lead left need a handover; SLT and the administrators are told."""
    flagged = 0
    for account in accounts_needing_handover().select_related("organisation", "lead"):
        with transaction.atomic():
            locked = _locked_account(account)
            if locked.status not in (AccountStatus.ACTIVE, AccountStatus.PENDING_CREATION):
                continue
            previous = locked.status
            locked.status = AccountStatus.HANDOVER_NEEDED
            locked.save(update_fields=["status"])
            entry = log_action(
                "approvals.handover_needed",
                organisation=locked.organisation,
                obj=locked,
                from_state=previous,
                to_state=locked.status,
                details={"lead": account.lead.email},
            )
            notices.after_change(
                entry,
                sorted(set(_slt_emails(locked.organisation) + _admin_emails(locked))),
                f"Handover needed: {locked}",
                [
                    f"{account.lead.full_name}, who leads {locked}, has left.",
                    "Name a new lead who has read the Social Media Policy and been trained, or close the account.",
                ],
                notices.account_path(locked),
            )
            flagged += 1
    return flagged


def hand_over(*, account, actor, new_lead) -> OfficialAccount:
    with transaction.atomic():
        locked = _locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is closed.")
        if not staff_of(locked.organisation).filter(pk=new_lead.pk).exists():
            raise ApprovalError(f"Only staff of {locked.organisation.name} can lead its accounts.")
        gaps = readiness_gaps(locked.organisation, [new_lead])
        if gaps:
            raise ApprovalRefused(gaps)
        previous_lead, previous = locked.lead, locked.status
        locked.lead = new_lead
        if locked.status == AccountStatus.HANDOVER_NEEDED:
            locked.status = AccountStatus.ACTIVE if locked.activated_at else AccountStatus.PENDING_CREATION
        locked.save(update_fields=["lead", "status"])
        AccountMember.objects.update_or_create(
            account=locked, user=new_lead, defaults={"role": AccountRole.ADMINISTRATOR}
        )
        AccountMember.objects.filter(account=locked, user=previous_lead).exclude(user=new_lead).delete()
        log_action(
            "approvals.handed_over",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=previous,
            to_state=locked.status,
            details={"from": previous_lead.email, "to": new_lead.email},
        )
    return locked


def close_account(*, account, actor, reason: str) -> OfficialAccount:
    if not reason.strip():
        raise ApprovalError("Give the reason for closing the account.")
    with transaction.atomic():
        locked = _locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is already closed.")
        previous = locked.status
        locked.status = AccountStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.close_reason = reason.strip()
        locked.save(update_fields=["status", "closed_at", "close_reason"])
        log_action(
            "approvals.account_closed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=previous,
            to_state="closed",
            details={"reason": reason},
        )
    return locked


def set_team_member(*, account, actor, user, role: str | None) -> None:
    """Add a person to the account's team, change their role, or (role None) remove them."""
    with transaction.atomic():
        locked = _locked_account(account)
        if role is None:
            if user.pk == locked.lead_id:
                raise ApprovalError("The lead cannot be removed: hand the account over first.")
            AccountMember.objects.filter(account=locked, user=user).delete()
        else:
            if not staff_of(locked.organisation).filter(pk=user.pk).exists():
                raise ApprovalError(f"Only staff of {locked.organisation.name} can help run its accounts.")
            AccountMember.objects.update_or_create(account=locked, user=user, defaults={"role": role})
        log_action(
            "approvals.team_changed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"person": user.email, "role": role or "removed"},
        )


# The 24-hour response log (seed 001 §5)
# ------------------------------------------------------------------------------


_link_validator = URLValidator(schemes=["http", "https"])


def log_item(
    *, account, actor, kind: str, received_at: dt.datetime, summary: str, link: str = "", external_id: str = ""
) -> tuple[ResponseItem, bool]:
    """Log a comment, query or complaint; the same external id twice is stored once. Returns (item, created)."""
    check_value(ResponseItem, "received_at", received_at, raising=ApprovalError)
    if not summary.strip():
        raise ApprovalError("Say briefly what was received.")
    if link:
        try:
            _link_validator(link)
        except ValidationError:
            raise ApprovalError("The link must be a web address starting with http:// or https://.") from None
    if account.status == AccountStatus.CLOSED:
        raise ApprovalError("This account is closed.")
    if external_id:
        existing = ResponseItem.objects.filter(account=account, external_id=external_id).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            item = ResponseItem.objects.create(
                account=account,
                kind=kind,
                received_at=received_at,
                due_at=response_due(received_at, account.organisation),
                summary=summary.strip(),
                link=link,
                external_id=external_id,
                logged_by=actor,
            )
            log_action(
                "approvals.item_logged",
                actor=actor,
                organisation=account.organisation,
                obj=item,
                to_state="open",
                details={"due_at": item.due_at.isoformat()},
            )
    except IntegrityError:  # the same external id posted twice at once
        return ResponseItem.objects.get(account=account, external_id=external_id), False
    return item, True


def answer_item(*, item, actor, response: str) -> ResponseItem:
    if not response.strip():
        raise ApprovalError("Say how it was answered.")
    with transaction.atomic():
        locked = ResponseItem.objects.select_for_update().select_related("account__organisation").get(pk=item.pk)
        if locked.answered_at:
            raise ApprovalError(
                f"This was already answered by {locked.answered_by.full_name if locked.answered_by else 'someone'}."
            )
        locked.answered_at = timezone.now()
        locked.answered_by = actor
        locked.response = response.strip()
        locked.save(update_fields=["answered_at", "answered_by", "response"])
        log_action(
            "approvals.item_answered",
            actor=actor,
            organisation=locked.account.organisation,
            obj=locked,
            from_state="open",
            to_state="answered",
            details={"on_time": locked.answered_on_time},
        )
    return locked


# The signed intake
# ------------------------------------------------------------------------------

INTAKE_CLOCK_SKEW = dt.timedelta(minutes=5)


def intake_secret(account) -> str:
    """The per-account secret automation tools sign with: derived from INTAKE_SIGNING_KEY (never
    SECRET_KEY) and the account's key version, so it is never stored and each account's can be rotated."""
    message = f"approvals.intake:{account.pk}:{account.intake_key_version}".encode()
    return hmac.new(settings.INTAKE_SIGNING_KEY.encode(), message, hashlib.sha256).hexdigest()


def intake_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``{timestamp}.{body}``: what X-Portal-Signature carries after ``sha256=``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def intake_time(timestamp: str) -> dt.datetime | None:
    """When a request was signed (X-Portal-Timestamp, Unix seconds); None when malformed or
    more than five minutes from now either way, so a captured request cannot be replayed later."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return None
    signed_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    return signed_at if abs(timezone.now() - signed_at) <= INTAKE_CLOCK_SKEW else None


def signature_ok(account, timestamp: str, body: bytes, header: str) -> bool:
    """``account`` may be None (no such account): the same work is done, and the same answer
    given, so the intake never tells which account ids exist."""
    secret = intake_secret(account) if account is not None else hmac.new(b"none", b"", hashlib.sha256).hexdigest()
    expected = "sha256=" + intake_signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), (header or "").encode()) and account is not None


def receive_intake(*, account, signature: str, signed_at: dt.datetime, **item) -> tuple[ResponseItem, bool]:
    """Log an item an automation tool posted. The item's external id stores it once; the
    signature is kept too, so the very same signed request posted again is a no-op that
    answers with the item it made the first time."""
    with transaction.atomic():
        delivery = IntakeDelivery.objects.filter(account=account, signature=signature).select_related("item").first()
        if delivery is not None:
            return delivery.item, False
        logged, created = log_item(account=account, actor=None, **item)
        try:
            with transaction.atomic():
                IntakeDelivery.objects.create(account=account, signature=signature, signed_at=signed_at, item=logged)
        except IntegrityError:  # the same request twice at once: the other one recorded it
            pass
    return logged, created


def rotate_intake_secret(*, account, actor) -> OfficialAccount:
    """A new intake secret for the account; the old one stops working at once."""
    with transaction.atomic():
        locked = _locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is closed.")
        previous = locked.intake_key_version
        locked.intake_key_version = previous + 1
        locked.save(update_fields=["intake_key_version"])
        log_action(
            "approvals.intake_secret_rotated",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=f"version {previous}",
            to_state=f"version {locked.intake_key_version}",
        )
    return locked
