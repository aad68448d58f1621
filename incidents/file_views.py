"""Files out of a case: evidence downloads and the chronology exports (CSV and PDF), each only to
someone who may open the incident, never cached, and each recorded in the audit trail; and a trust's
figures (CSV), protected as its dashboard shows them."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.permissions import Action, get_organisation_for
from core.audit import log_action
from core.csvfiles import csv_download
from core.middleware import NO_STORE
from incidents import dashboard as figures
from incidents import exports
from incidents.access import can_see_incident, incident_for
from incidents.models import Evidence, Incident

# What the exports read of the case itself, in the one query that fetches it.
CASE = Incident.objects.select_related("organisation", "assignee", "reported_by")


@login_required
def evidence_file(request, pk):
    """Evidence only through here: the viewer must be able to open the incident; always a download."""
    item = get_object_or_404(Evidence.objects.select_related("incident__organisation"), pk=pk)
    incident = item.incident
    if not can_see_incident(request.user, incident):
        raise Http404
    if incident.destroyed_at:
        raise Http404
    original = request.GET.get("original") == "1" or not item.viewable
    file = item.original if original else item.viewable
    stem = item.original_name.rsplit(".", 1)[0][:80] or "evidence"
    extension = file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        file.open("rb"),
        as_attachment=True,
        filename=f"{incident.reference}-{stem}{'' if original else '-clean'}.{extension}",
        content_type="application/octet-stream" if original else item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = NO_STORE
    log_action(
        "incident.evidence_downloaded",
        actor=request.user,
        organisation=incident.organisation,
        obj=incident,
        details={"evidence": item.pk, "original": original},
    )
    return response


def _export_parts(incident):
    named = list(incident.named_people.select_related("user"))
    evidence = list(incident.evidence.all())
    entries = list(incident.actions.select_related("recorded_by").order_by("happened_at", "pk"))
    return named, evidence, entries


def _log_export(request, incident, kind):
    log_action(
        "incident.exported",
        actor=request.user,
        organisation=incident.organisation,
        obj=incident,
        details={"format": kind},
    )


@login_required
def export_csv(request, pk):
    incident = incident_for(request.user, pk, queryset=CASE)
    response, writer = csv_download(f"{incident.reference}-chronology.csv")
    exports.write_chronology_csv(writer, incident, *_export_parts(incident))
    response["Cache-Control"] = NO_STORE
    _log_export(request, incident, "csv")
    return response


@login_required
def export_pdf(request, pk):
    incident = incident_for(request.user, pk, queryset=CASE)
    pdf = exports.chronology_pdf(incident, *_export_parts(incident), produced_by=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-chronology.pdf"'
    response["Cache-Control"] = NO_STORE
    _log_export(request, incident, "pdf")
    return response


@login_required
def trust_figures_csv(request, slug):
    """The trust's dashboard figures, as protected on the page (``incidents.suppression``), for those who
    see its dashboard. A single organisation has no roll-up to export."""
    organisation = get_organisation_for(request.user, slug, Action.VIEW_INCIDENTS)
    if not figures.is_trust_level(organisation):
        raise Http404
    incidents = figures.scoped(request.user, organisation)
    now = timezone.now()
    trust = figures.trust_figures(incidents, organisation, now)
    deadlines = figures.trust_deadlines(figures.deadlines(incidents, now))
    response, writer = csv_download(f"{organisation.slug}-incident-figures-{timezone.localdate(now):%Y-%m-%d}.csv")
    writer.writerows(exports.trust_figures_rows(trust, deadlines))
    response["Cache-Control"] = NO_STORE
    log_action("incident.figures_exported", actor=request.user, organisation=organisation, obj=organisation)
    return response
