"""The page where a line manager or administrator records acknowledgements for a member of staff
without an email address (``policies.assisted``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Membership
from core.middleware import NO_STORE
from policies import assisted
from policies.access import can_record_acknowledgement_for, can_see_signed_sheet
from policies.forms import AssistedAcknowledgementForm
from policies.models import Acknowledgement
from policies.services import PolicyError


@login_required
def record_acknowledgement(request, pk):
    membership = get_object_or_404(Membership.objects.select_related("user", "organisation"), pk=pk)
    if not can_record_acknowledgement_for(request.user, membership):
        raise Http404  # whether the record exists is not for everyone to learn
    open_requests = list(assisted.open_requests_of(membership))
    form = AssistedAcknowledgementForm(
        request.POST or None,
        request.FILES or None,
        open_requests=open_requests,
        initial={"requests": [v for v in request.GET.getlist("request") if v.isdigit()]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            recorded = assisted.record_assisted_acknowledgement(
                actor=request.user,
                membership=membership,
                request_ids=form.cleaned_data["requests"],
                method=form.cleaned_data["method"],
                made_on=form.cleaned_data["made_on"],
                signed_sheet=form.cleaned_data["signed_sheet"],
            )
        except PolicyError as exc:
            form.add_error(None, str(exc))
        else:
            titles = ", ".join(f"{a.version.policy.title} (version {a.version.label})" for a in recorded)
            messages.success(
                request,
                f"Recorded: {membership.user} acknowledged {titles} "
                f"{assisted.method_label(form.cleaned_data['method']).lower()}, "
                f"on {form.cleaned_data['made_on']:%-d %B %Y}.",
            )
            return redirect("policies:record_acknowledgement", pk=membership.pk)
    done = (
        Acknowledgement.objects.filter(user=membership.user)
        .select_related("version__policy", "recorded_by")
        .order_by("-acknowledged_at", "-pk")[:50]
    )
    return render(
        request,
        "policies/record_acknowledgement.html",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "form": form,
            "done": done,
            "open_requests": open_requests,
        },
    )


@login_required
def signed_sheet(request, pk):
    """Always a download of opaque bytes, never rendered by the browser, never cached."""
    acknowledgement = get_object_or_404(Acknowledgement.objects.exclude(signed_sheet=""), pk=pk)
    if not can_see_signed_sheet(request.user, acknowledgement):
        raise Http404
    extension = acknowledgement.signed_sheet.name.rpartition(".")[2]
    response = FileResponse(
        acknowledgement.signed_sheet.open("rb"),
        as_attachment=True,
        filename=f"signed-sheet-{acknowledgement.pk}.{extension}",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = NO_STORE
    return response
