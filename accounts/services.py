"""Changes to people, memberships and organisations. Each writes the audit trail."""

from allauth.account.models import EmailAddress
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Membership, Offer, Organisation, Role, User
from accounts.notices import send_invitation, send_offer
from accounts.roles import RoleChangeRefused, change_roles
from accounts.signals import people_changed
from core.audit import log_action


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Invitation links stop working once the password is set (the hash changes)."""

    key_salt = "accounts.invitation"


invitation_tokens = InvitationTokenGenerator()


class StaffError(Exception):
    """A change to a staff record that the rules do not allow; the message says why."""


offer_signer = signing.TimestampSigner(salt="accounts.offer")


def accounts_by_address(organisation: Organisation, emails) -> tuple[dict[str, User], dict[str, User]]:
    """The accounts holding ``emails``, split into (ours, elsewhere).

    An address is a person's identity only once verified (DESIGN.md "Who uses it").
    Ours: accounts with a place somewhere in the organisation's group whose address
    is verified, or was set by the organisation itself and never claimed through
    sign-in (no unconfirmed claim on it). Everyone else is elsewhere: import and
    invitation offer them a place instead of changing their account.
    """
    emails = {e.strip().lower() for e in emails if e}
    unconfirmed = EmailAddress.objects.filter(user=OuterRef("pk"), email__iexact=OuterRef("email"), verified=False)
    in_group = Membership.objects.filter(user=OuterRef("pk"), organisation_id__in=organisation.group_ids)
    ours, elsewhere = {}, {}
    users = User.objects.filter(email__in=emails).annotate(unconfirmed=Exists(unconfirmed), in_group=Exists(in_group))
    for user in users:
        (ours if user.in_group and not user.unconfirmed else elsewhere)[user.email] = user
    return ours, elsewhere


def ask_to_acknowledge(*, users) -> None:
    """People who joined or changed roles are asked at once to acknowledge the policies now
    applying to them: by the policies part, which listens (``accounts.signals``)."""
    people_changed.send(sender=Membership, users=users)


def invitation_path(user: User) -> str:
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
) -> Membership | Offer:
    """Add a person to the organisation and email them a link to set their password.

    Inviting someone already on the staff list resends the invitation instead of
    creating a second record. Someone whose account is outside the organisation's
    group is offered a place (``Offer``) and joins only when they accept.
    """

    email = email.strip().lower()
    if actor is not None and email == actor.email.lower():
        raise StaffError("You cannot invite yourself: ask another administrator.")
    with transaction.atomic():
        ours, elsewhere = accounts_by_address(organisation, [email])
        if email in elsewhere:
            return offer_place(
                organisation=organisation,
                user=elsewhere[email],
                actor=actor,
                roles=roles,
                staff_type=staff_type,
                job_title=job_title,
                department=department,
            )
        user = ours.get(email) or User.objects.create_user(email, first_name=first_name, last_name=last_name)
        membership, created = Membership.objects.get_or_create(
            user=user,
            organisation=organisation,
            defaults={"staff_type": staff_type, "job_title": job_title, "department": department},
        )
        if created:
            try:
                change_roles(membership=membership, roles=roles, actor=actor, via="an invitation")
            except RoleChangeRefused as exc:
                raise StaffError(str(exc)) from None
            ask_to_acknowledge(users=[user])
        log_action(
            "staff.invited",
            actor=actor,
            organisation=organisation,
            obj=membership,
            to_state="invited",
            details={"email": email, "new_record": created},
        )
        send_invitation(user, organisation, invitation_path(user))
    return membership


def add_person_without_email(
    *,
    organisation: Organisation,
    first_name: str,
    last_name: str,
    actor,
    staff_type: str = "employee",
    job_title: str = "",
    department: str = "",
    line_manager: User | None = None,
) -> Membership:
    """A member of staff with no work email or device (seed 000 §2, 002 §3: everyone is in scope).

    They never sign in (no address, no usable password), hold the staff role only, and are asked
    to acknowledge like everyone else; their line manager or an administrator records each
    acknowledgement for them (``policies.services.record_assisted_acknowledgement``).
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name or not last_name:
        raise StaffError("Enter the person's first and last name: their acknowledgements are recorded by name.")
    with transaction.atomic():
        user = User(email=None, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
        membership = Membership.objects.create(
            user=user,
            organisation=organisation,
            staff_type=staff_type,
            job_title=job_title,
            department=department,
            line_manager=line_manager,
        )
        change_roles(membership=membership, roles=(Role.STAFF,), actor=actor, via="a record without email")
        log_action(
            "staff.added_without_email",
            actor=actor,
            organisation=organisation,
            obj=membership,
            details={"name": user.full_name, "line_manager": line_manager.full_name if line_manager else ""},
        )
        ask_to_acknowledge(users=[user])
    return membership


def resend_invitation(membership) -> None:
    """A new invitation link for someone who has not yet signed in."""
    if not membership.user.has_email:
        raise StaffError(f"{membership.user} has no email address, so there is no invitation to send.")
    send_invitation(membership.user, membership.organisation, invitation_path(membership.user))


def offer_place(*, organisation: Organisation, user: User, actor, roles=(), **fields) -> Offer:
    """Offer a place to someone with an account elsewhere; asking again updates the open offer."""
    if actor is not None and actor.pk == user.pk:
        raise StaffError("You cannot add yourself: ask another administrator.")
    roles = sorted(frozenset(roles) | {Role.STAFF.value})
    offer, created = Offer.objects.open().update_or_create(
        user=user, organisation=organisation, defaults={"offered_by": actor, "roles": roles, **fields}
    )
    log_action(
        "staff.offered_place",
        actor=actor,
        organisation=organisation,
        obj=offer,
        to_state="offered",
        details={"email": user.email, "roles": roles, "new_offer": created},
    )
    send_offer(offer, offer_path(offer))
    return offer


def offer_token(offer: Offer) -> str:
    return offer_signer.sign(str(offer.pk))


def offer_path(offer: Offer) -> str:
    return reverse("accounts:offer", kwargs={"token": offer_token(offer)})


def open_offer(token: str, user) -> Offer | None:
    """The open offer the link names, if it was made to ``user`` and is under ``Offer.OPEN_DAYS`` old."""
    try:
        pk = int(offer_signer.unsign(token, max_age=Offer.OPEN_DAYS * 24 * 60 * 60))
    except (signing.BadSignature, ValueError):
        return None
    return Offer.objects.open().select_related("organisation", "offered_by").filter(pk=pk, user_id=user.pk).first()


def decide_offer(*, offer: Offer, user, accept: bool) -> Membership | None:
    """The person accepts (and joins, with the roles offered) or declines."""
    with transaction.atomic():
        locked = (
            Offer.objects.select_for_update(of=("self",)).select_related("organisation", "offered_by").get(pk=offer.pk)
        )
        if locked.decided_at is not None or locked.user_id != user.pk:
            raise StaffError("This offer has already been answered.")
        locked.decided_at = timezone.now()
        locked.accepted = accept
        locked.save(update_fields=["decided_at", "accepted"])
        log_action(
            "staff.offer_accepted" if accept else "staff.offer_declined",
            actor=user,
            organisation=locked.organisation,
            obj=locked,
            from_state="offered",
            to_state="accepted" if accept else "declined",
        )
        if not accept:
            return None
        membership, _ = Membership.objects.get_or_create(
            user=user,
            organisation=locked.organisation,
            defaults={
                name: getattr(locked, name)
                for name in ("staff_type", "job_title", "department", "start_date", "leaving_date")
            },
        )
        # The roles are the offering administrator's grant, not the person's own.
        change_roles(membership=membership, roles=locked.roles, actor=locked.offered_by, via="an accepted offer")
        ask_to_acknowledge(users=[user])
    return membership


def accept_invitation(*, user: User, password: str) -> None:
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # The address received the invitation, so it is verified; nobody else's unconfirmed claim on it stands.
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        EmailAddress.objects.filter(email__iexact=user.email, verified=False).exclude(user=user).delete()
        log_action("account.invitation_accepted", actor=user, obj=user, to_state="active")


MEMBERSHIP_FIELDS = ("staff_type", "job_title", "department", "line_manager", "start_date", "leaving_date")


def update_membership(*, membership: Membership, actor, roles, **values) -> Membership:
    """Change a staff record; records what changed, from what, to what."""
    with transaction.atomic():
        locked = Membership.objects.select_for_update().prefetch_related("role_grants").get(pk=membership.pk)
        if values.get("line_manager") and values["line_manager"].pk == locked.user_id:
            raise StaffError("A person cannot be their own line manager.")
        changes = {}
        for name in MEMBERSHIP_FIELDS:
            if name in values and getattr(locked, name) != values[name]:
                changes[name] = [str(getattr(locked, name) or ""), str(values[name] or "")]
                setattr(locked, name, values[name])
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
        old_roles = locked.roles
        try:
            if change_roles(membership=locked, roles=roles, actor=actor, via="the staff page"):
                changes["roles"] = [sorted(old_roles), sorted(frozenset(roles) | {Role.STAFF.value})]
        except RoleChangeRefused as exc:
            raise StaffError(str(exc)) from None
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
