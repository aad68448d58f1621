"""Email about people's places: invitations, offers to join, and privileged role grants.

Each is written to the outbox (``core.outbox``) in the transaction of the change that
causes it, so it goes if and only if the change is kept, whatever the broker does.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Offer
from core import outbox
from core.emails import absolute_url


def invitation_days() -> int:
    """How long an invitation link works: Django's password-reset timeout, which signs it."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60))


def send_invitation(user, organisation, path: str) -> None:
    """The invitation to set a password and sign in (``path`` carries its token). Sending again is
    a new message; a double click within the same minute is one."""
    if not user.is_active:
        return
    outbox.send(
        "accounts/invitation",
        to=[user.email],
        context={
            "user": user,
            "organisation": organisation,
            "link": absolute_url(path),
            "link_days": invitation_days(),
        },
        topic=f"accounts.invitation:{user.pk}:{organisation.pk}:{timezone.now():%Y%m%d%H%M}",
    )


def send_offer(offer, path: str) -> None:
    """Asks someone with an account elsewhere whether they will join (``accounts.services.offer_place``)."""
    if not offer.user.is_active:
        return
    outbox.send(
        "accounts/offer",
        to=[offer.user.email],
        context={"offer": offer, "link": absolute_url(path), "link_days": Offer.OPEN_DAYS},
        topic=f"accounts.offer:{offer.pk}:{timezone.now():%Y%m%d%H%M}",
    )


def send_role_grant_notice(*, to, membership, roles, granted_by: str, via: str, grant_id) -> None:
    """Tells the organisation lead and the DSL of a privileged grant (``accounts.roles``)."""
    organisation = membership.organisation
    outbox.send(
        "accounts/role_granted",
        to=to,
        context={
            "person": membership.user.full_name or membership.user.email,
            "organisation": organisation.name,
            "roles": roles,
            "granted_by": granted_by,
            "via": via,
            "path": reverse("accounts:staff_list", args=[organisation.slug]),
        },
        topic=f"accounts.role-granted:{grant_id}",
    )
