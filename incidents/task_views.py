"""Tasks and takedowns: the task page (its owner may not see the case), and the case page's forms.

Thin views: each fetches through ``incidents.access`` (404 for what the person may not reach),
calls one service in ``incidents.casework`` and redirects with its message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from incidents import casework
from incidents.access import can_see_incident, incident_for, task_for
from incidents.models import Status, Takedown
from incidents.services import IncidentError
from incidents.task_forms import FinishTaskForm, ReassignForm, RemovalForm, TakedownForm, TaskForm


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form and try again."


def case_context(incident, user) -> dict:
    """The case page's tasks and takedowns, with their forms while the case is open."""
    # Open tasks first, soonest due; then those settled.
    tasks = sorted(incident.tasks.select_related("owner", "closed_by"), key=lambda t: (not t.is_open, t.due_at, t.pk))
    takedowns = list(incident.takedowns.select_related("follow_up"))
    working = incident.is_open
    owners = casework.possible_owners(incident) if working else None
    for task in tasks:
        task.finish_form = FinishTaskForm(prefix=f"task{task.pk}") if working and task.is_open else None
    for takedown in takedowns:
        takedown.removal_form = (
            RemovalForm(prefix=f"removal{takedown.pk}") if working and takedown.removed_at is None else None
        )
    return {
        "tasks": tasks,
        "open_tasks": sum(1 for t in tasks if t.is_open),
        "takedowns": takedowns,
        "task_form": TaskForm(owners=owners) if working else None,
        "takedown_form": TakedownForm(owners=owners) if working and incident.status != Status.NEW else None,
    }


def _back(request, task):
    if can_see_incident(request.user, task.incident):
        return redirect("incidents:detail", pk=task.incident_id)
    return redirect("incidents:task", pk=task.pk)


@login_required
def task(request, pk):
    """One task, for its owner or the case's handlers; the owner sees the task alone, not the case."""
    task = task_for(request.user, pk)
    handler = can_see_incident(request.user, task.incident)
    working = task.is_open and task.incident.is_open
    return render(
        request,
        "incidents/task_detail.html",
        {
            "task": task,
            "handler": handler,
            "finish_form": FinishTaskForm(prefix=f"task{task.pk}") if working else None,
            "reassign_form": ReassignForm(owners=casework.possible_owners(task.incident))
            if working and handler
            else None,
        },
    )


@login_required
@require_POST
def finish_task(request, pk):
    task = task_for(request.user, pk)
    form = FinishTaskForm(request.POST, prefix=f"task{task.pk}")
    try:
        if not form.is_valid():
            raise IncidentError(_first_error(form))
        finished = casework.finish_task(
            task=task, actor=request.user, done=form.cleaned_data["result"] == "done", note=form.cleaned_data["note"]
        )
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Task marked {finished.get_status_display().lower()}.")
    return _back(request, task)


@login_required
@require_POST
def reassign_task(request, pk):
    task = task_for(request.user, pk)
    form = ReassignForm(request.POST, owners=casework.possible_owners(task.incident))
    # The service decides who may hand a task on (the handlers, not its owner) before it looks at the
    # choice, so an owner off the case is refused (403) whatever they post; no choice is its message.
    owner = form.cleaned_data["owner"] if form.is_valid() else None
    try:
        casework.reassign_task(task=task, actor=request.user, owner=owner)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Task given to someone else; they have been told.")
    return redirect("incidents:detail", pk=task.incident_id)


@login_required
@require_POST
def add_task(request, pk):
    incident = incident_for(request.user, pk)
    form = TaskForm(request.POST, owners=casework.possible_owners(incident))
    try:
        if not form.is_valid():
            raise IncidentError(_first_error(form))
        casework.add_task(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Task set; its owner has been told.")
    return redirect("incidents:detail", pk=incident.pk)


@login_required
@require_POST
def add_takedown(request, pk):
    incident = incident_for(request.user, pk)
    form = TakedownForm(request.POST, owners=casework.possible_owners(incident))
    try:
        if not form.is_valid():
            raise IncidentError(_first_error(form))
        casework.record_takedown(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Takedown recorded, with a follow-up task 48 hours after the report.")
    return redirect("incidents:detail", pk=incident.pk)


@login_required
@require_POST
def takedown_removed(request, pk):
    takedown = get_object_or_404(Takedown.objects.select_related("incident__organisation"), pk=pk)
    incident_for(request.user, takedown.incident_id)  # 404 unless the person handles the case
    form = RemovalForm(request.POST, prefix=f"removal{takedown.pk}")
    try:
        if not form.is_valid():
            raise IncidentError(_first_error(form))
        casework.record_removal(takedown=takedown, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Removal recorded.")
    return redirect("incidents:detail", pk=takedown.incident_id)
