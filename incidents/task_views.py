"""Tasks and takedowns: the task page (its owner may not see the case), and the case page's forms.

Thin views: each fetches through ``incidents.access`` (404 for what the person may not reach),
calls one service in ``incidents.casework`` and redirects with its message. A form sent back
invalid renders its page again (status 400) with the form as typed and the error summary.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from incidents import case_page, casework
from incidents.access import can_see_incident, incident_for, task_for
from incidents.models import Takedown
from incidents.services import IncidentError
from incidents.task_forms import FinishTaskForm, ReassignForm, RemovalForm, TakedownForm, TaskForm


def _back(request, task):
    if can_see_incident(request.user, task.incident):
        return redirect("incidents:detail", pk=task.incident_id)
    return redirect("incidents:task", pk=task.pk)


def _task_page(request, task, status=200, *, finish_form=None, reassign_form=None):
    handler = can_see_incident(request.user, task.incident)
    working = task.is_open and task.incident.is_open
    sent_back = finish_form or reassign_form
    return render(
        request,
        "incidents/task_detail.html",
        {
            "task": task,
            "handler": handler,
            "finish_form": finish_form or (FinishTaskForm(prefix=f"task{task.pk}") if working else None),
            "reassign_form": reassign_form
            or (ReassignForm(owners=casework.possible_owners(task.incident)) if working and handler else None),
            "invalid_form": sent_back,
        },
        status=status,
    )


@login_required
def task(request, pk):
    """One task, for its owner or the case's handlers; the owner sees the task alone, not the case."""
    return _task_page(request, task_for(request.user, pk))


@login_required
@require_POST
def finish_task(request, pk):
    task = task_for(request.user, pk)
    form = FinishTaskForm(request.POST, prefix=f"task{task.pk}")
    if not form.is_valid():
        if can_see_incident(request.user, task.incident) and request.POST.get("from") == "case":
            return case_page.render(request, task.incident, status=400, invalid_form=form)
        return _task_page(request, task, status=400, finish_form=form)
    try:
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
    # choice, so an owner off the case is refused (403) whatever they post.
    if not form.is_valid():
        if not can_see_incident(request.user, task.incident):
            raise PermissionDenied
        return _task_page(request, task, status=400, reassign_form=form)
    try:
        casework.reassign_task(task=task, actor=request.user, owner=form.cleaned_data["owner"])
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
    if not form.is_valid():
        return case_page.render(request, incident, status=400, task_form=form)
    try:
        casework.add_task(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        form.add_error(None, str(exc))  # a day off, say: sent back as typed
        return case_page.render(request, incident, status=400, task_form=form)
    messages.success(request, "Task set; its owner has been told.")
    return redirect("incidents:detail", pk=incident.pk)


@login_required
@require_POST
def add_takedown(request, pk):
    incident = incident_for(request.user, pk)
    form = TakedownForm(request.POST, owners=casework.possible_owners(incident))
    if not form.is_valid():
        return case_page.render(request, incident, status=400, takedown_form=form)
    try:
        casework.record_takedown(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        form.add_error(None, str(exc))  # refused by the service: sent back as typed
        return case_page.render(request, incident, status=400, takedown_form=form)
    messages.success(request, "Takedown recorded, with a follow-up task 48 hours after the report.")
    return redirect("incidents:detail", pk=incident.pk)


@login_required
@require_POST
def takedown_removed(request, pk):
    takedown = get_object_or_404(Takedown.objects.select_related("incident__organisation"), pk=pk)
    incident = incident_for(request.user, takedown.incident_id)  # 404 unless the person handles the case
    form = RemovalForm(request.POST, prefix=f"removal{takedown.pk}")
    if not form.is_valid():
        return case_page.render(request, incident, status=400, invalid_form=form)
    try:
        casework.record_removal(takedown=takedown, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Removal recorded.")
    return redirect("incidents:detail", pk=takedown.incident_id)
