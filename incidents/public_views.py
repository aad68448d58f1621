"""The public page: anyone (a parent, a pupil, a member of the public) reports a concern
about an organisation without signing in. Rate-limited per address; a trap field turns bots
away without telling them."""

from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Organisation
from core.middleware import client_ip
from core.ratelimit import over_limit
from incidents import services
from incidents.forms import PublicReportForm
from incidents.reminders import TRIAGE_CLOCK
from incidents.services import IncidentError


def _over_public_limit(request, organisation) -> bool:
    key = f"incidents:public-report:{client_ip(request) or 'unknown'}"
    return over_limit(key, limit=settings.INCIDENT_PUBLIC_REPORTS_PER_HOUR, window=3600)


def public_report(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    form = PublicReportForm(request.POST or None)
    if request.method == "POST":
        if form.is_spam:
            # Say nothing of the trap: the bot sees the same thanks page, and nothing is stored.
            return redirect("incidents:public_thanks", slug=organisation.slug)
        if _over_public_limit(request, organisation):
            return render(
                request,
                "incidents/public_report.html",
                {"organisation": organisation, "form": form, "limited": True},
                status=429,
            )
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = services.report_incident(
                    organisation=organisation,
                    reporter=None,
                    category=data["category"],
                    platform=data["platform"],
                    occurred_at=data["occurred_at"],
                    location=data["location"],
                    description=data["description"],
                    public_reporter=data["public_reporter"],
                    contact_name=data["contact_name"],
                    contact_details=data["contact_details"],
                )
            except IncidentError as exc:
                form.add_error(None, str(exc))
            else:
                request.session["public_report_reference"] = incident.reference
                return redirect("incidents:public_thanks", slug=organisation.slug)
    return render(request, "incidents/public_report.html", {"organisation": organisation, "form": form})


def public_thanks(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    reference = request.session.pop("public_report_reference", None)
    return render(
        request,
        "incidents/public_thanks.html",
        {"organisation": organisation, "reference": reference, "triage_clock": TRIAGE_CLOCK},
    )
