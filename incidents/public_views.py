"""The public pages: anyone (a parent, a pupil, a member of the public) reports a concern about an
organisation without signing in (seed 004 §8.4-8.5), with screenshots if they have them, and
follows it with a private status link. Reports are rate-limited per address; a trap field turns
bots away without telling them; status-link lookups that match nothing are counted per address."""

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from accounts.models import Organisation
from core.middleware import NO_STORE, client_ip, takes_anonymous_uploads
from core.ratelimit import over_limit
from incidents import public_reports
from incidents.forms import PublicEvidenceFormSet, PublicReportForm
from incidents.models import NO_UPLOAD_CATEGORIES
from incidents.reminders import TRIAGE_CLOCK
from incidents.reporters import reporter_view
from incidents.services import IncidentError

SENT = "public_report_sent"  # the session remembers which report was just sent, never its token


def _over_public_limit(request, organisation) -> bool:
    key = f"incidents:public-report:{client_ip(request) or 'unknown'}"
    return over_limit(key, limit=settings.INCIDENT_PUBLIC_REPORTS_PER_HOUR, window=3600)


def _files(request):
    """The screenshots part of the form. A report sent without it (no files, by a client that
    leaves the section out) is a report without files; files sent without it are refused."""
    if request.method == "POST" and "evidence-TOTAL_FORMS" not in request.POST and not request.FILES:
        return None
    return PublicEvidenceFormSet(request.POST or None, request.FILES or None, prefix="evidence")


@takes_anonymous_uploads
def public_report(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    form = PublicReportForm(request.POST or None)
    files = _files(request)
    context = {"organisation": organisation, "form": form, "files": files or PublicEvidenceFormSet(prefix="evidence")}
    if request.method == "POST":
        if form.is_spam:
            # Say nothing of the trap: the bot sees a thanks page, and nothing is stored.
            return redirect("incidents:public_thanks", slug=organisation.slug)
        if _over_public_limit(request, organisation):
            return render(request, "incidents/public_report.html", {**context, "limited": True}, status=429)
        files_valid = files is None or files.is_valid()  # both checked, so every error shows at once
        if form.is_valid() and files_valid:
            data = form.cleaned_data
            try:
                incident, token = public_reports.report_publicly(
                    organisation=organisation,
                    email=data["email"],
                    files=files.files_with_times() if files is not None else [],
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
                form.add_error("category" if data["category"] in NO_UPLOAD_CATEGORIES else None, str(exc))
                context["files_again"] = bool(request.FILES)  # a browser does not keep them after a refusal
            else:
                request.session[SENT] = incident.pk
                return redirect("incidents:public_status", token=token)
    return render(request, "incidents/public_report.html", context)


@require_safe
def public_thanks(request, slug):
    """Where the spam trap sends a bot (and an old bookmark lands): thanks, and nothing more."""
    organisation = get_object_or_404(Organisation, slug=slug)
    return render(request, "incidents/public_thanks.html", {"organisation": organisation, "triage_clock": TRIAGE_CLOCK})


def _private(response):
    # The page is the reporter's alone: no cache keeps it, and no link on it passes its address on.
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def public_status(request, token):
    """The private status link: a wrong token, a case that is gone and no case give one answer."""
    misses = f"incidents:status-link-misses:{client_ip(request) or 'unknown'}"
    if (cache.get(misses) or 0) >= settings.INCIDENT_STATUS_LINK_MISSES_PER_HOUR:
        # Found or not, the same answer: the limit tells nobody which tokens are real.
        return _private(render(request, "incidents/public_status_limited.html", status=429))
    incident = public_reports.incident_for_token(token)
    if incident is None:
        over_limit(misses, limit=settings.INCIDENT_STATUS_LINK_MISSES_PER_HOUR, window=3600)
        return _private(render(request, "incidents/public_status_missing.html", status=404))
    just_sent = request.session.pop(SENT, None) == incident.pk
    return _private(
        render(
            request,
            "incidents/public_status.html",
            {
                "view": reporter_view(incident),
                "just_sent": just_sent,
                "link": request.build_absolute_uri(request.path),
                "triage_clock": TRIAGE_CLOCK,
            },
        )
    )
