"""Links to the policies part: a staff breach names the clause of the version breached (002 §8)."""

from django.db import transaction
from django.utils import timezone

from core.audit import log_action
from incidents.models import ActionKind, Involvement, PolicyBreach, Status
from incidents.services import IncidentError, _require_handler, chronicle, lock_incident
from policies.models import Acknowledgement, Policy


def record_policy_breach(*, incident, actor, person, version, clause: str) -> PolicyBreach:
    """For a staff breach: the clause of the version breached, and the person's acknowledgement of that version."""
    _require_handler(actor, incident)
    if not clause.strip():
        raise IncidentError("Give the clause breached, for example 5.4(c).")
    if not incident.named_people.filter(user=person, involvement=Involvement.SUBJECT).exists():
        raise IncidentError("Name the member of staff in the report (as the person the concern is about) first.")
    if not Policy.objects.applying_to(incident.organisation).filter(pk=version.policy_id).exists():
        raise IncidentError("That policy does not apply to this organisation.")
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.status in (Status.NEW, Status.CLOSED):
            raise IncidentError("Record a breach on a triaged, open incident.")
        acknowledgement = Acknowledgement.objects.filter(user=person, version=version).first()
        breach = PolicyBreach.objects.create(
            incident=locked,
            person=person,
            version=version,
            clause=clause.strip(),
            acknowledgement=acknowledgement,
            recorded_by=actor,
        )
        acknowledged = (
            f"acknowledged on {timezone.localtime(acknowledgement.acknowledged_at):%d %b %Y at %H:%M}"
            if acknowledgement
            else "no acknowledgement of this version on record"
        )
        chronicle(
            locked,
            ActionKind.POLICY_BREACH,
            actor,
            f"{person.full_name}: {version} clause {breach.clause}; {acknowledged}.",
        )
        log_action(
            "incident.policy_breach_recorded",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            details={"person": person.pk, "version": version.pk, "clause": breach.clause},
        )
    return breach
