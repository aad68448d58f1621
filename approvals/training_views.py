"""Training pages: a person records their training (or an administrator or SLT member records
their staff's), SLT and administrators verify it, and a certificate downloads only to someone
who may see the record."""

from pathlib import PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from approvals import access as rules
from approvals import queries
from approvals.certificates import EXTENSIONS
from approvals.errors import ApprovalError
from approvals.forms import TrainingForm
from approvals.models import TrainingRecord
from approvals.training import record_training, verify_training
from core.middleware import NO_STORE


def _training_for(user, pk) -> TrainingRecord:
    """A training record the person may see: their own, or one of the staff they oversee."""
    people = User.objects.filter(rules.training_people(user))
    return get_object_or_404(TrainingRecord.objects.filter(user__in=people).select_related("user"), pk=pk)


@login_required
def training(request):
    people = queries.training_people(request.user)
    form = TrainingForm(request.POST or None, request.FILES or None, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = record_training(
                user=data["person"],
                actor=request.user,
                course=data["course"],
                completed_on=data["completed_on"],
                expires_on=data["expires_on"],
                evidence=data["evidence"],
            )
        except ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Training recorded for {data['person'].full_name}."
                + ("" if record.is_verified else " It counts once an administrator or SLT member verifies it."),
            )
            return redirect("approvals:training")
    return render(
        request,
        "approvals/training.html",
        {
            "form": form,
            "records": queries.training_records(request.user, people),
            "for_others": people.count() > 1,
        },
    )


@login_required
@require_POST
def training_verify(request, pk):
    record = _training_for(request.user, pk)
    if not rules.can_verify_training_of(request.user, record.user):
        raise PermissionDenied
    try:
        verify_training(record=record, actor=request.user)
    except ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{record.user.full_name}'s {record.course} training is verified: it now counts.")
    return redirect("approvals:training")


@login_required
def training_evidence(request, pk):
    """Always a download of opaque bytes, never rendered by the browser, never cached."""
    record = _training_for(request.user, pk)
    if not record.evidence:
        raise Http404
    extension = PurePosixPath(record.evidence.name).suffix.lower().lstrip(".")
    response = FileResponse(
        record.evidence.open("rb"),
        as_attachment=True,
        filename=f"training-certificate-{record.pk}" + (f".{extension}" if extension in EXTENSIONS else ""),
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = NO_STORE
    return response
