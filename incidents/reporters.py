"""What a public reporter sees and hears of their report (seed 004 §8.4-8.5), decided once.

The status page and the emails show the reference, a status in plain words and, at closure,
the outcome in plain words with the message the DSL wrote for the reporter. Never the
category, the handlers' notes, names or evidence. The status a reporter sees changes only at
triage (being looked into), closure and reopening: moves between the handlers' own stages
(in progress, referred) tell them nothing they could read into.
"""

from dataclasses import dataclass

from django.db import models

from core import outbox
from incidents.models import Incident, Outcome, Status


class ReporterStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    BEING_LOOKED_INTO = "being_looked_into", "Being looked into"
    CLOSED = "closed", "Closed"


EXPLANATIONS = {
    ReporterStatus.RECEIVED: "Your report has reached the staff responsible for safeguarding. "
    "They will read it and decide what needs to happen.",
    ReporterStatus.BEING_LOOKED_INTO: "The staff responsible for safeguarding have read your report and are "
    "dealing with it. What they do stays confidential to them.",
    ReporterStatus.CLOSED: "The organisation has finished dealing with your report.",
}

# The outcome as a reporter may hear it. A staff matter (a disciplinary) stays confidential.
DEALT_WITH = "It has been dealt with by the organisation."
OUTCOME_WORDS = {
    Outcome.NO_FURTHER_ACTION: "It was looked into, and no further action was needed.",
    Outcome.RESOLVED: DEALT_WITH,
    Outcome.CONTENT_REMOVED: "The account or content you reported has been removed.",
    Outcome.DISCIPLINARY: DEALT_WITH,
    Outcome.EXTERNAL: "It has been passed to an outside agency that deals with matters like this.",
    Outcome.UNFOUNDED: "It was looked into, and no cause for concern was found.",
}


def reporter_status(status: str) -> ReporterStatus:
    if status == Status.NEW:
        return ReporterStatus.RECEIVED
    if status == Status.CLOSED:
        return ReporterStatus.CLOSED
    return ReporterStatus.BEING_LOOKED_INTO


@dataclass(frozen=True)
class ReporterView:
    """Everything the status page and the emails show: nothing else of the case reaches them."""

    reference: str
    organisation: str
    reported_at: object
    status: str
    explanation: str
    is_closed: bool
    outcome: str = ""
    message: str = ""


def reporter_view(incident: Incident) -> ReporterView:
    status = reporter_status(incident.status)
    closed = status == ReporterStatus.CLOSED
    return ReporterView(
        reference=incident.reference,
        organisation=incident.organisation.name,
        reported_at=incident.reported_at,
        status=status.label,
        explanation=EXPLANATIONS[status],
        is_closed=closed,
        outcome=OUTCOME_WORDS.get(incident.outcome, DEALT_WITH) if closed else "",
        message=incident.reporter_message if closed else "",
    )


def tell_public_reporters(incident: Incident, *, before: str, entry) -> int:
    """Email the addresses public reporters left, when the status they see has changed.

    Called by the transitions (``incidents.services``) in their own transaction, after saving.
    ``entry`` is the chronology entry of the change: its id keeps each change's email apart, so
    closing, reopening and closing again tells them each time, and a retry of one change once.
    """
    if reporter_status(before) == reporter_status(incident.status):
        return 0
    emails = sorted(set(incident.status_links.exclude(email="").values_list("email", flat=True)), key=str.lower)
    if not emails:
        return 0
    return outbox.send(
        "incidents/reporter_update",
        to=emails,
        context={"view": reporter_view(incident)},
        topic=f"incidents.incident:{incident.pk}:reporter-update:{entry.pk}",
    )
