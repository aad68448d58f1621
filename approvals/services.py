"""Account requests and their decisions: drafting, submitting, withdrawing, deciding.

Each function locks the request, checks its current state, raises ``ApprovalError``
with a message for the person on an illegal move, writes the audit trail and tells the
people concerned. An approval opens the account on the register (``approvals.register``
keeps it from then on).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Role, User
from accounts.permissions import access_for
from approvals import notices
from approvals.access import can_decide_request
from approvals.approval_rules import rule_for
from approvals.errors import ApprovalError, ApprovalRefused
from approvals.models import (
    AccountMember,
    AccountRequest,
    AccountRole,
    AccountStatus,
    Decision,
    DecisionKind,
    OfficialAccount,
    RequestStatus,
    Runner,
)
from approvals.queries import staff_of
from approvals.training import readiness_gaps
from core.audit import log_action


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
    # The rule for this kind of request, as the organisation set it (approvals.approval_rules).
    rule = rule_for(locked.organisation, locked.kind)
    met = rule.is_met(approvals.count(), approvals.filter(as_lead=True).exists())
    return RequestStatus.APPROVED if met else None


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
    # The lead administers the account; the others named run it as moderators, without its
    # password, until SLT make one of them an administrator (seed 001 §3, 004 §4.2).
    AccountMember.objects.bulk_create(
        [
            AccountMember(
                account=account,
                user=u,
                role=AccountRole.ADMINISTRATOR if u.pk == lead.pk else AccountRole.MODERATOR,
            )
            for u in runners
        ]
    )
    log_action(
        "approvals.account_registered",
        actor=actor,
        organisation=account.organisation,
        obj=account,
        to_state=AccountStatus.PENDING_CREATION,
    )
    return account
