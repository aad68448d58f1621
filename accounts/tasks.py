from celery import shared_task
from django.conf import settings

from accounts.models import Organisation, User
from accounts.services import invitation_path
from core.emails import send_templated_email


@shared_task
def send_invitation(user_id: int, organisation_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if user is None or organisation is None:
        return
    send_templated_email(
        "accounts/invitation",
        to=[user.email],
        context={
            "user": user,
            "organisation": organisation,
            "link": settings.SITE_URL + invitation_path(user),
        },
    )


@shared_task
def send_role_grant_notice(
    *, to: list[str], person: str, organisation: str, roles: list[str], granted_by: str, via: str, path: str
) -> None:
    """Tells the organisation lead and the DSL of a privileged grant (``accounts.roles``)."""
    send_templated_email(
        "accounts/role_granted",
        to=to,
        context={
            "person": person,
            "organisation": organisation,
            "roles": roles,
            "granted_by": granted_by,
            "via": via,
            "path": path,
        },
    )


@shared_task
def send_offer(offer_id: int) -> None:
    """Asks someone with an account elsewhere whether they will join (``accounts.services.offer_place``)."""
    from accounts.models import Offer
    from accounts.services import offer_path

    offer = Offer.objects.open().select_related("user", "organisation", "offered_by").filter(pk=offer_id).first()
    if offer is None or not offer.user.is_active:
        return
    send_templated_email(
        "accounts/offer",
        to=[offer.user.email],
        context={"offer": offer, "link": settings.SITE_URL + offer_path(offer)},
    )
