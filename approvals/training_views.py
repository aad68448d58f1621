"""Training pages: a person records their training (or an administrator or SLT member records
their staff's), SLT and administrators verify it, and a certificate downloads only to someone
who may see the record."""

from pathlib import PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
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
from core.params import int_param


def _training_for(user, pk) -> TrainingRecord:
    """A training record the person may see: their own, or one of the staff they oversee."""
    people = User.objects.filter(rules.training_people(user))
    return get_object_or_404(TrainingRecord.objects.filter(user__in=people).select_related("user"), pk=pk)


@login_required
def training(request):
    """The person's own training and, for administrators and SLT, their staff's: searched and
    paged (a trust's staff run to thousands), with the person to record for found by search."""
    user = request.user
    people = User.objects.filter(rules.training_people(user))
    oversees = rules.oversees_training(user)
    chosen_pk = int_param(request.POST, "person") if request.method == "POST" else int_param(request.GET, "for")
    chosen = (people.filter(pk=chosen_pk).first() if chosen_pk and chosen_pk != user.pk else None) or user
    form = TrainingForm(request.POST or None, request.FILES or None, people=people, person=chosen)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = record_training(
                user=data["person"],
                actor=user,
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
    elif request.method == "POST" and form.errors.get("person"):
        form.add_error(None, "Choose the person from the search: you can record training for your own staff.")
    context = {
        "form": form,
        "own": queries.own_training(user),
        "oversees": oversees,
        "chosen": chosen,
    }
    if oversees:
        query = request.GET.get("q", "").strip()[:100]
        status = request.GET.get("status", "")
        status = status if status in queries.TRAINING_FILTERS else ""
        who = request.GET.get("who", "").strip()[:100]
        page = Paginator(queries.staff_training(user, query, status), TRAINING_PAGE).get_page(request.GET.get("page"))
        page.object_list = queries.mark_verifiable(user, page.object_list)
        found, more = queries.people_to_record_for(user, who)
        context.update(
            page=page,
            query=query,
            status=status,
            filters=queries.TRAINING_FILTERS.items(),
            page_params=urlencode({k: v for k, v in (("q", query), ("status", status)) if v}),
            who=who,
            found=found,
            more_found=more,
        )
    return render(request, "approvals/training.html", context)


TRAINING_PAGE = 25


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
