"""The records of closed incidents: legal holds, retention periods and retention reviews.

Nothing is ever deleted automatically. A person decides, when a closed record reaches its
review date (``incidents.queries.retention_years`` from closure), to keep it longer or to
destroy it; a legal hold refuses destruction.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import today
from core.audit import log_action
from core.validators import check_value
from incidents.access import can_triage_incident
from incidents.models import (
    ActionKind,
    Incident,
    RetentionDecision,
    RetentionPeriod,
    RetentionReview,
    Status,
)
from incidents.queries import retention_years
from incidents.services import IncidentError, chronicle, lock_incident


def set_legal_hold(*, incident, actor, hold: bool, reason: str) -> Incident:
    if not can_triage_incident(actor, incident):
        raise PermissionDenied
    if not reason.strip():
        raise IncidentError("Say why the legal hold is being placed or lifted.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.legal_hold == hold:
            raise IncidentError(
                "The record is already under a legal hold." if hold else "There is no legal hold to lift."
            )
        locked.legal_hold = hold
        locked.legal_hold_reason = reason if hold else ""
        locked.save(update_fields=["legal_hold", "legal_hold_reason", "updated_at"])
        chronicle(
            locked, ActionKind.LEGAL_HOLD, actor, ("Legal hold placed: " if hold else "Legal hold lifted: ") + reason
        )
        log_action(
            "incident.legal_hold_placed" if hold else "incident.legal_hold_lifted",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"reason": reason},
        )
    return locked


def set_retention_period(*, organisation, actor, category: str, years: int) -> None:
    if not 1 <= years <= 100:
        raise IncidentError("A retention period is between 1 and 100 years.")
    with transaction.atomic():
        before = retention_years(organisation, category)
        if before == years:
            return
        RetentionPeriod.objects.update_or_create(
            organisation=organisation, category=category, defaults={"years": years}
        )
        log_action(
            "incident.retention_period_set",
            actor=actor,
            organisation=organisation,
            details={"category": category, "from": before, "to": years},
        )


def review_retention(*, incident, actor, decision: str, reason: str, keep_until: dt.date | None = None) -> Incident:
    """A person decides, when a closed record reaches its review date: keep it longer, or destroy it.

    Nothing is ever deleted automatically. Destroying removes the evidence files and the report's
    own words; the reference, dates, outcome and the append-only chronology stay as the record of
    what was held and when it was destroyed. A legal hold refuses destruction.
    """
    if not can_triage_incident(actor, incident):
        raise PermissionDenied
    if not reason.strip():
        raise IncidentError("Give the reason for the decision.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.destroyed_at:
            raise IncidentError("This record has already been destroyed.")
        if locked.status != Status.CLOSED or locked.retention_review_on is None or locked.retention_review_on > today():
            raise IncidentError("This record is not due for a retention review.")
        if decision == RetentionDecision.KEEP:
            if keep_until is None or keep_until <= today():
                raise IncidentError("Choose a date in the future to keep the record until.")
            check_value(RetentionReview, "keep_until", keep_until, raising=IncidentError)
            locked.retention_review_on = keep_until
            locked.save(update_fields=["retention_review_on", "updated_at"])
        elif decision == RetentionDecision.DESTROY:
            if locked.legal_hold:
                raise IncidentError(
                    f"This record is under a legal hold ({locked.legal_hold_reason}). It cannot be destroyed."
                )
            _destroy(locked)
        else:
            raise IncidentError("Choose keep or destroy.")
        RetentionReview.objects.create(
            incident=locked, decision=decision, reason=reason, keep_until=keep_until, decided_by=actor
        )
        chronicle(locked, ActionKind.RETENTION, actor, f"{RetentionDecision(decision).label}: {reason}")
        log_action(
            f"incident.retention_{decision}",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"reason": reason, "keep_until": keep_until.isoformat() if keep_until else None},
        )
    return locked


def _destroy(incident: Incident) -> None:
    files = []
    for item in incident.evidence.all():
        files += [f for f in (item.original, item.viewable) if f]
    incident.description = "[Destroyed under the retention schedule.]"
    incident.location = ""
    incident.pupils = []
    incident.contact_name = ""
    incident.contact_details = ""
    incident.first_assessment = ""
    incident.reporter_message = ""
    incident.destroyed_at = timezone.now()
    incident.status_links.all().delete()  # the reporters' addresses go with the record; their links open nothing
    incident.save(
        update_fields=[
            "description",
            "location",
            "pupils",
            "contact_name",
            "contact_details",
            "first_assessment",
            "reporter_message",
            "destroyed_at",
            "updated_at",
        ]
    )

    def remove_files():
        for file in files:
            file.storage.delete(file.name)

    # Files go only once the decision is committed.
    transaction.on_commit(remove_files)
