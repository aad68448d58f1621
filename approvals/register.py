"""The register of official accounts, from set-up to closing.

The provisioning checklist, custody of the sign-in details (stored encrypted, revealed
with a trail, re-encrypted on a key rotation), the termly check, the handover when a
lead leaves, closing, and the account's team. Each change locks the account row.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Role, today
from approvals import access, crypto, notices
from approvals.errors import ApprovalError, ApprovalRefused
from approvals.models import AccountCheck, AccountMember, AccountRole, AccountStatus, OfficialAccount, StoredCredentials
from approvals.queries import accounts_needing_handover, administrator_emails, staff_of
from approvals.training import readiness_gaps
from core.audit import log_action

TERM_ENDS = ((12, 20), (3, 31), (7, 20))  # the end of the autumn, spring and summer terms


def next_check_date(after: dt.date) -> dt.date:
    """The end of the next school term after ``after``: the termly check is due then."""
    candidates = [dt.date(after.year + offset, month, day) for offset in (0, 1) for month, day in TERM_ENDS]
    return min(d for d in candidates if d > after)


def locked_account(account) -> OfficialAccount:
    """The account's row, locked until the transaction ends, so two changes at once take turns."""
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
        locked = locked_account(account)
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


def store_credentials(*, account, actor, secret: str) -> StoredCredentials:
    """Keep the sign-in details encrypted; SLT are told of every change (seed 004 §4.2)."""
    if not access.can_store_credentials(actor, account):
        raise ApprovalError(
            "Only the organisation's administrator and the account's administrators keep its sign-in details."
        )
    secret = secret.strip()
    if not secret:
        raise ApprovalError("Enter the sign-in details to keep.")
    ciphertext = crypto.encrypt(secret)  # raises CredentialsUnavailable without a key
    with transaction.atomic():
        locked = locked_account(account)
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
    if not access.can_reveal_credentials(actor, account):
        raise ApprovalError("Only the senior leadership team and those who keep the sign-in details can see them.")
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
        locked = locked_account(account)
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


def flag_handovers() -> int:
    """Daily: accounts whose lead left need a handover; SLT and the administrators are told."""
    flagged = 0
    for account in accounts_needing_handover().select_related("organisation", "lead"):
        with transaction.atomic():
            locked = locked_account(account)
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
                sorted(set(_slt_emails(locked.organisation) + administrator_emails(locked))),
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
        locked = locked_account(account)
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
        locked = locked_account(account)
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
    """Add a person to the account's team, change their role, or (role None) remove them.

    Only SLT make someone an administrator, who keeps and sees the password (seed 001 §3,
    004 §4.2); anyone else added joins as a moderator, the least they need to run it."""
    with transaction.atomic():
        locked = locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is closed.")
        if role is None:
            if user.pk == locked.lead_id:
                raise ApprovalError("The lead cannot be removed: hand the account over first.")
            AccountMember.objects.filter(account=locked, user=user).delete()
        else:
            if role not in AccountRole.values:
                raise ApprovalError("Choose administrator or moderator.")
            if not staff_of(locked.organisation).filter(pk=user.pk).exists():
                raise ApprovalError(f"Only staff of {locked.organisation.name} can help run its accounts.")
            if user.pk == locked.lead_id and role != AccountRole.ADMINISTRATOR:
                raise ApprovalError("The lead stays an administrator: hand the account over first.")
            already = AccountMember.objects.filter(account=locked, user=user, role=role).exists()
            if (
                role == AccountRole.ADMINISTRATOR
                and not already
                and not access.can_appoint_administrators(actor, locked)
            ):
                raise ApprovalError(
                    "Only the senior leadership team can make someone an administrator of an account: "
                    "administrators keep and see its password. Add them as a moderator."
                )
            AccountMember.objects.update_or_create(account=locked, user=user, defaults={"role": role})
        log_action(
            "approvals.team_changed",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"person": user.email, "role": role or "removed"},
        )
