"""Changes to people, memberships and organisations. Each writes the audit trail."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Membership, Organisation, Role, RoleGrant, User
from accounts.permissions import can_change_roles, forget_access
from core.audit import log_action


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Invitation links stop working once the password is set (the hash changes)."""

    key_salt = "accounts.invitation"


invitation_tokens = InvitationTokenGenerator()


class StaffError(Exception):
    """A change to a staff record that the rules do not allow; the message says why."""


def set_roles(membership: Membership, roles) -> None:
    """Make the membership hold exactly ``roles`` (the staff role always included)."""
    roles = frozenset(roles) | {Role.STAFF.value}
    current = {grant.role for grant in membership.role_grants.all()}
    RoleGrant.objects.filter(membership=membership).exclude(role__in=roles).delete()
    RoleGrant.objects.bulk_create([RoleGrant(membership=membership, role=role) for role in roles - current])
    if hasattr(membership, "_prefetched_objects_cache"):
        membership._prefetched_objects_cache.pop("role_grants", None)
    forget_access(membership.user)


def ask_to_acknowledge(*, users) -> None:
    """People who joined or changed roles are asked at once to acknowledge the policies now applying to them."""
    from policies.services import sync_requests

    sync_requests(users=users)


def invitation_path(user: User) -> str:
    from django.urls import reverse

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:accept_invitation", kwargs={"uidb64": uid, "token": invitation_tokens.make_token(user)})


def invite_person(
    *,
    organisation: Organisation,
    email: str,
    first_name: str,
    last_name: str,
    actor,
    staff_type: str = "employee",
    job_title: str = "",
    department: str = "",
    roles=(Role.STAFF,),
) -> Membership:
    """Add a person to the organisation and email them a link to set their password.

    Inviting someone already on the staff list resends the invitation instead
    of creating a second record.
    """
    from accounts.tasks import send_invitation

    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, first_name=first_name, last_name=last_name)
        membership, created = Membership.objects.get_or_create(
            user=user,
            organisation=organisation,
            defaults={"staff_type": staff_type, "job_title": job_title, "department": department},
        )
        if created:
            set_roles(membership, roles)
            ask_to_acknowledge(users=[user])
        log_action(
            "staff.invited",
            actor=actor,
            organisation=organisation,
            obj=membership,
            to_state="invited",
            details={"email": email, "new_record": created},
        )
        send_invitation.delay_on_commit(user.pk, organisation.pk)
    return membership


def accept_invitation(*, user: User, password: str) -> None:
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # The address received the invitation, so it is verified.
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        log_action("account.invitation_accepted", actor=user, obj=user, to_state="active")


MEMBERSHIP_FIELDS = ("staff_type", "job_title", "department", "line_manager", "start_date", "leaving_date")


def update_membership(*, membership: Membership, actor, roles, **values) -> Membership:
    """Change a staff record; records what changed, from what, to what."""
    with transaction.atomic():
        locked = Membership.objects.select_for_update().prefetch_related("role_grants").get(pk=membership.pk)
        if values.get("line_manager") and values["line_manager"].pk == locked.user_id:
            raise StaffError("A person cannot be their own line manager.")
        if not can_change_roles(actor, locked) and locked.roles != frozenset(roles) | {Role.STAFF.value}:
            raise StaffError("You cannot change your own roles: ask another administrator.")
        changes = {}
        for name in MEMBERSHIP_FIELDS:
            if name in values and getattr(locked, name) != values[name]:
                changes[name] = [str(getattr(locked, name) or ""), str(values[name] or "")]
                setattr(locked, name, values[name])
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
        old_roles = locked.roles
        new_roles = frozenset(roles) | {Role.STAFF.value}
        if old_roles != new_roles:
            set_roles(locked, new_roles)
            changes["roles"] = [sorted(old_roles), sorted(new_roles)]
        if changes:
            ask_to_acknowledge(users=[locked.user])
            log_action(
                "staff.updated",
                actor=actor,
                organisation=locked.organisation,
                obj=locked,
                details={"changes": changes},
            )
    return locked


ORGANISATION_SETTINGS = (
    "closing_time",
    "email_domains",
    "acknowledgement_period_days",
    "approvals_needed",
    "lead_approval_required",
    "require_mfa",
)


def update_organisation_settings(*, organisation: Organisation, actor, **values) -> Organisation:
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        changes = {}
        for name in ORGANISATION_SETTINGS:
            if name in values and getattr(locked, name) != values[name]:
                changes[name] = [str(getattr(locked, name)), str(values[name])]
                setattr(locked, name, values[name])
        if changes:
            locked.save(update_fields=list(changes))
            log_action(
                "organisation.settings_changed",
                actor=actor,
                organisation=locked,
                obj=locked,
                details={"changes": changes},
            )
    return locked
