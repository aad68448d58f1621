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
