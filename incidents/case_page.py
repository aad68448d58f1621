"""The case page: one incident for the people handling it, with every form they work it through.

Each of the case page's forms posts to a view of its own; when one comes back invalid, that view
renders this page again with the bound form (status 400), so the summary at the top names each
problem and what was typed is still there (GOV.UK "Error summary").
"""

from django.shortcuts import render as django_render
from django.utils import timezone

from accounts.models import User
from incidents import allegations, casework, queries
from incidents.access import can_decide_threshold, can_triage_incident
from incidents.forms import (
    ActionForm,
    AddendumForm,
    BreachForm,
    CloseForm,
    EvidenceFormSet,
    ReasonForm,
    RetentionReviewForm,
    StatusForm,
    ThresholdForm,
    TriageForm,
)
from incidents.models import STATUS_MOVES, Category, Involvement, Status
from incidents.task_forms import FinishTaskForm, RemovalForm, TakedownForm, TaskForm
from policies.models import Policy, PolicyVersion, VersionStatus


def case_context(incident, forms: dict) -> dict:
    """The case page's tasks and takedowns, with their forms while the case is open; a bound form
    in ``forms`` (one sent back invalid) takes the place of its empty one."""
    # Open tasks first, soonest due; then those settled.
    tasks = sorted(incident.tasks.select_related("owner", "closed_by"), key=lambda t: (not t.is_open, t.due_at, t.pk))
    takedowns = list(incident.takedowns.select_related("follow_up"))
    working = incident.is_open
    owners = casework.possible_owners(incident) if working else None
    sent_back = forms.get("invalid_form")
    for task in tasks:
        prefix = f"task{task.pk}"
        task.finish_form = None
        if working and task.is_open:
            task.finish_form = sent_back if _is(sent_back, FinishTaskForm, prefix) else FinishTaskForm(prefix=prefix)
    for takedown in takedowns:
        prefix = f"removal{takedown.pk}"
        takedown.removal_form = None
        if working and takedown.removed_at is None:
            takedown.removal_form = sent_back if _is(sent_back, RemovalForm, prefix) else RemovalForm(prefix=prefix)
    return {
        "tasks": tasks,
        "open_tasks": sum(1 for t in tasks if t.is_open),
        "takedowns": takedowns,
        "task_form": (forms.get("task_form") or TaskForm(owners=owners)) if working else None,
        "takedown_form": (forms.get("takedown_form") or TakedownForm(owners=owners))
        if working and incident.status != Status.NEW
        else None,
    }


def _is(form, kind, prefix) -> bool:
    return isinstance(form, kind) and form.prefix == prefix


def breach_versions(incident):
    return (
        PolicyVersion.objects.filter(policy__in=Policy.objects.applying_to(incident.organisation))
        .exclude(status=VersionStatus.DRAFT)
        .select_related("policy")
        .order_by("policy__title", "-published_at")
    )


def render(request, incident, status=200, **forms):
    """The case page; ``forms`` holds the one form sent back invalid, by its name in the template
    (``task_form``), or as ``invalid_form`` alone for a task's or a takedown's own form."""
    for form in list(forms.values()):
        if form.is_bound:
            # In the context by a name of its own too, for base.html's summary and "Error: " title:
            # a task's or a takedown's form is otherwise reached only through its row.
            forms["invalid_form"] = form
    named = list(incident.named_people.select_related("user"))
    entries = list(incident.actions.select_related("recorded_by").order_by("happened_at", "pk"))
    addenda = {}
    for entry in entries:
        if entry.corrects_id:
            addenda.setdefault(entry.corrects_id, []).append(entry)
    for entry in entries:
        entry.addenda_list = addenda.get(entry.pk, [])
    may_triage = can_triage_incident(request.user, incident)
    subjects = User.objects.filter(pk__in=[p.user_id for p in named if p.involvement == Involvement.SUBJECT])
    context = {
        "incident": incident,
        "named": named,
        "entries": [e for e in entries if not e.corrects_id],
        "evidence": list(incident.evidence.select_related("uploaded_by")),
        "breaches": list(incident.policy_breaches.select_related("person", "version__policy", "acknowledgement")),
        "may_triage": may_triage,
        "moves": [(m, Status(m).label.lower()) for m in sorted(STATUS_MOVES[incident.status]) if m != Status.CLOSED],
        "can_close": Status.CLOSED in STATUS_MOVES[incident.status],
        "now": timezone.now(),
        "files": EvidenceFormSet(prefix="evidence"),
        "reason_form": ReasonForm(),
        "retention_due": incident.retention_review_on and incident.retention_review_on <= timezone.localdate(),
        **case_context(incident, forms),
    }
    if incident.is_open and may_triage and "triage_form" not in forms:
        initial = {
            "severity": incident.severity or None,
            # Once triaged, the answer on record; before, none: the DSL chooses (no default).
            "is_safeguarding": ("yes" if incident.is_safeguarding else "no") if incident.triaged_at else None,
            "assignee": incident.assignee_id or (request.user.pk if not incident.assignee_id else None),
            "first_assessment": incident.first_assessment,
        }
        forms["triage_form"] = TriageForm(initial=initial, handlers=queries.possible_assignees(incident))
    if incident.status not in (Status.NEW, Status.CLOSED):
        forms.setdefault("action_form", ActionForm())
        forms.setdefault("close_form", CloseForm())
        forms.setdefault("status_form", StatusForm())
        if incident.category == Category.STAFF_BREACH and subjects.exists():
            forms.setdefault("breach_form", BreachForm(subjects=subjects, versions=breach_versions(incident)))
    if entries and incident.status != Status.NEW:
        forms.setdefault("addendum_form", AddendumForm(entries=incident.actions.filter(corrects__isnull=True)))
    # The harm-threshold step: for the DSL team and the lead alone (incidents.access.THRESHOLD).
    if can_decide_threshold(request.user, incident) and allegations.is_about_staff(incident):
        context["threshold_decisions"] = list(incident.threshold_decisions.select_related("decided_by"))
        context["threshold_questions"] = allegations.QUESTIONS
        if incident.status not in (Status.NEW, Status.CLOSED):
            forms.setdefault("threshold_form", ThresholdForm(questions=allegations.QUESTIONS))
    if context["retention_due"] and may_triage and not incident.destroyed_at:
        forms.setdefault("retention_form", RetentionReviewForm())
    context.update(forms)
    return django_render(request, "incidents/incident_detail.html", context, status=status)
