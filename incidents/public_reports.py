"""The public report (seed 004 §8.4-8.5) and its private status link.

Someone who reports without signing in gets a link with a random token (256 bits from
``secrets``): guessing one is pointless. Only the token's SHA-256 is stored, so nothing in
the database, a backup or an email in the outbox opens the page: the token is shown once,
on the page the form sends them to, and the emails (``incidents.reporters``) carry the
reference and the news, never the link.
"""

import hashlib
import hmac
import secrets

from django.db import transaction

from core import outbox
from incidents import services
from incidents.models import Incident, PublicStatusLink
from incidents.reporters import reporter_view

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100  # a real token is 43 characters; a longer one is not looked up


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_link(incident: Incident, *, email: str = "") -> str:
    """A new status link for ``incident``, and the confirmation email; returns the token (kept only as a hash)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PublicStatusLink.objects.create(incident=incident, token_hash=token_hash(token), email=email)
    if link.email:
        outbox.send(
            "incidents/reporter_confirmation",
            to=[link.email],
            context={"view": reporter_view(incident)},
            # Per incident, not per link: a double click that issues a second link emails once.
            topic=f"incidents.incident:{incident.pk}:reporter-confirmation",
        )
    return token


def incident_for_token(token: str) -> Incident | None:
    """The report a token opens, or None: a wrong token and a case that is gone look the same."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    wanted = token_hash(token)
    link = PublicStatusLink.objects.select_related("incident__organisation").filter(token_hash=wanted).first()
    # Found through the index on the hash; compared in constant time all the same.
    if link is None or not hmac.compare_digest(link.token_hash, wanted):
        return None
    if link.incident.destroyed_at is not None:
        return None
    return link.incident


def report_publicly(*, organisation, email: str = "", files: list | None = None, **report) -> tuple[Incident, str]:
    """The public form's report, its status link and the confirmation email, in one transaction.

    ``report`` goes to ``services.report_incident``, which checks every file before storing any
    (a refused file leaves nothing behind) and alerts the DSL team, and SLT for an unofficial
    account. A resubmission of the same report within minutes finds the first and gets a
    link of its own to it. Returns (incident, token).
    """
    with transaction.atomic():
        incident = services.report_incident(organisation=organisation, reporter=None, files=files or [], **report)
        token = issue_link(incident, email=email.strip())
    return incident, token
