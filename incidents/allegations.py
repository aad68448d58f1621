"""Concerns about a member of staff: the harm-threshold step (Keeping Children Safe in Education, Part 4).

A concern about someone who works with children is an *allegation* for the LADO when any of the four
harm-threshold questions is answered yes; otherwise it is a *low-level concern*, recorded and kept.
The DSL team or the organisation lead takes the step (``incidents.access.THRESHOLD``): the answers,
what it is, the reasons and who decided are kept for them alone. An allegation's LADO referral falls
due as the one the triage asks for (``reminders.lado_due``: within one working day) and is reminded the
same way. The chronology, which everyone handling the case reads, says only that the step was taken.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from core.audit import log_action
from incidents import reminders
from incidents.access import can_decide_threshold
from incidents.models import (
    ActionKind,
    Category,
    Involvement,
    Status,
    ThresholdDecision,
    ThresholdOutcome,
)
from incidents.services import IncidentError, chronicle, lock_incident

# KCSIE Part 4, the harm threshold: the field that keeps each answer, and the question as it is asked.
QUESTIONS = [
    ("harmed_child", "Has the person behaved in a way that has harmed a child, or may have harmed a child?"),
    ("criminal_offence", "Have they possibly committed a criminal offence against or related to a child?"),
    (
        "risk_of_harm",
        "Have they behaved towards a child or children in a way that indicates they may pose a risk of harm "
        "to children?",
    ),
    (
        "unsuitable",
        "Have they behaved, or may they have behaved, in a way that indicates they may not be suitable to work "
        "with children?",
    ),
]
FIELDS = [name for name, _ in QUESTIONS]


def outcome_of(answers: dict) -> str:
    """Any yes makes it an allegation for the LADO; four noes, a low-level concern."""
    return ThresholdOutcome.ALLEGATION if any(answers[name] for name in FIELDS) else ThresholdOutcome.LOW_LEVEL


def is_about_staff(incident) -> bool:
    """The step is for a concern about a member of staff: a staff breach, or a report naming staff it is about."""
    return (
        incident.category == Category.STAFF_BREACH
        or incident.named_people.filter(involvement=Involvement.SUBJECT).exists()
    )


def latest_decision(incident) -> ThresholdDecision | None:
    return incident.threshold_decisions.select_related("decided_by").order_by("-decided_at", "-pk").first()


def decide_threshold(*, incident, actor, answers: dict, reasons: str) -> ThresholdDecision:
    """Record the four answers, what they make the concern, and why; an allegation's LADO referral falls due.

    A decision can be taken again as more is known (each is kept), but an allegation does not become a
    low-level concern: once the harm threshold is met, the LADO advises, and that goes in the chronology.
    """
    if not can_decide_threshold(actor, incident):
        raise PermissionDenied
    if any(answers.get(name) not in (True, False) for name in FIELDS):
        raise IncidentError("Answer each of the four questions: yes or no.")
    reasons = reasons.strip()
    if not reasons:
        raise IncidentError("Give the reasons for the decision: they are part of the record.")
    outcome = outcome_of(answers)
    with transaction.atomic():
        locked = lock_incident(incident)
        if locked.status == Status.NEW:
            raise IncidentError("Triage the incident before the harm-threshold step.")
        if locked.status == Status.CLOSED:
            raise IncidentError("This incident is closed. Reopen it to take the harm-threshold step again.")
        if not is_about_staff(locked):
            raise IncidentError("The harm-threshold step is for a concern about a member of staff.")
        previous = latest_decision(locked)
        if previous and previous.outcome == ThresholdOutcome.ALLEGATION and outcome == ThresholdOutcome.LOW_LEVEL:
            raise IncidentError(
                "This has already been found to meet the harm threshold, so it stays an allegation for the LADO. "
                "Record the LADO's advice in the chronology instead."
            )
        now = timezone.now()
        decision = ThresholdDecision.objects.create(
            incident=locked,
            outcome=outcome,
            reasons=reasons,
            decided_by=actor,
            decided_at=now,
            **{name: answers[name] for name in FIELDS},
        )
        before = locked.status
        fields = ["updated_at"]
        if locked.status == Status.TRIAGED:
            locked.status = Status.IN_PROGRESS
            fields.append("status")
        text = "Harm-threshold step taken; the answers and the decision are kept for the DSL team and the organisation lead."
        if outcome == ThresholdOutcome.ALLEGATION and locked.lado_due_at is None and locked.lado_referred_at is None:
            locked.lado_due_at = reminders.lado_due(now, locked.organisation)
            fields.append("lado_due_at")
            text += f" LADO referral due by {timezone.localtime(locked.lado_due_at):%H:%M on %d %b %Y}."
        locked.save(update_fields=fields)
        chronicle(locked, ActionKind.THRESHOLD, actor, text)
        log_action(
            "incident.threshold_decided",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=before,
            to_state=locked.status,
            details={"outcome": outcome, **{name: answers[name] for name in FIELDS}, "decision": decision.pk},
        )
    return decision
