"""One helper that renders every email: subject, text and HTML templates.

``make_message("accounts/invitation", to=[...], context={...})`` renders
``templates/emails/accounts/invitation_subject.txt``, ``..._body.txt`` and
``..._body.html`` (after healthchecks' ``make_message``). Nothing sends it directly:
``core.outbox`` writes it with the change that causes it and sends it.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def make_message(
    template: str, *, to: list[str], context: dict, reply_to: list[str] | None = None
) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    subject = " ".join(subject.split())  # one line, whatever the template's whitespace
    text = render_to_string(f"emails/{template}_body.txt", context)
    html = render_to_string(f"emails/{template}_body.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=to, from_email=settings.DEFAULT_FROM_EMAIL, reply_to=reply_to
    )
    message.attach_alternative(html, "text/html")
    return message
