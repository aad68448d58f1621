from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Membership, Organisation, User
from accounts.permissions import Action, access_for, can, get_organisation_for
from approvals.access import can_log_responses
from approvals.models import OfficialAccount, ResponseItem
from core.params import int_param
from incidents import allegations, breaches, case_page, queries, retention, services, support_plan
from incidents import dashboard as figures
from incidents.access import (
    can_decide_threshold,
    can_see_incident,
    incident_for,
    is_reporter,
    triageable,
    visible_incidents,
)
from incidents.forms import (
    ActionForm,
    AddendumForm,
    BreachForm,
    CloseForm,
    EvidenceFormSet,
    ReasonForm,
    ReportForm,
    RetentionPeriodsForm,
    RetentionReviewForm,
    StatusForm,
    ThresholdForm,
    TriageForm,
)
from incidents.models import (
    CATEGORY_RULES,
    NO_UPLOAD_CATEGORIES,
    OPEN_STATUSES,
    Category,
    Incident,
    Involvement,
    Platform,
    Status,
)
from incidents.reminders import TRIAGE_CLOCK
from incidents.reporters import reporter_view
from incidents.services import IncidentError

# Object access: one helper, scoped to the person
# ------------------------------------------------------------------------------


def _incident_for(user, pk, *, triage: bool = False) -> Incident:
    return incident_for(
        user, pk, triage=triage, queryset=Incident.objects.select_related("organisation", "assignee", "reported_by")
    )


def _own_report(user, pk) -> Incident:
    incident = get_object_or_404(Incident.objects.select_related("organisation"), pk=pk)
    if not is_reporter(user, incident):
        raise Http404
    return incident


def _staff_of(organisation):
    return User.objects.filter(memberships__in=Membership.objects.current().filter(organisation=organisation)).order_by(
        "last_name", "first_name"
    )


# Reporting
# ------------------------------------------------------------------------------


def _reporting_organisation(request) -> tuple[Organisation, list[Organisation]]:
    access = access_for(request.user)
    choices = access.organisations_where(Action.REPORT_INCIDENT)
    if not choices:
        raise PermissionDenied
    wanted = request.GET.get("org")
    if wanted:
        for organisation in choices:
            if organisation.slug == wanted:
                return organisation, choices
        raise Http404
    home_org = access.memberships[0].organisation if access.memberships else choices[0]
    return home_org, choices


PLATFORM_OF_ACCOUNT = {"blog": Platform.WEBSITE, "website": Platform.WEBSITE}


def _escalated_item(request, organisation):
    """A response-log item escalated in one step (seed 004 §4.7): its account's team may do it."""
    item_id = int_param(request.GET, "from_item")
    if item_id is None:
        return None
    item = get_object_or_404(ResponseItem.objects.select_related("account"), pk=item_id)
    if item.account.organisation_id not in organisation.family_ids or not can_log_responses(request.user, item.account):
        raise Http404
    return item


def _prefill(item) -> dict:
    account = item.account
    platform = PLATFORM_OF_ACCOUNT.get(account.platform, account.platform)
    return {
        "category": Category.OFFICIAL_ACCOUNT_COMMENT,
        "platform": platform if platform in Platform.values else Platform.OTHER,
        "occurred_at": timezone.localtime(item.received_at).strftime("%Y-%m-%dT%H:%M"),
        "location": item.link or account.url,
        "description": f"{item.get_kind_display()} received on {account} at "
        f"{timezone.localtime(item.received_at):%H:%M on %d %B %Y}: {item.summary}",
        "official_account": account.pk,
    }


@login_required
def report(request):
    organisation, choices = _reporting_organisation(request)
    staff = _staff_of(organisation)
    item = _escalated_item(request, organisation)
    accounts = OfficialAccount.objects.live().filter(
        organisation_id__in=organisation.family_ids + organisation.reach_ids
    )
    form = ReportForm(request.POST or None, staff=staff, accounts=accounts, initial=_prefill(item) if item else None)
    files = EvidenceFormSet(request.POST or None, request.FILES or None, prefix="evidence")
    if request.method == "POST" and form.is_valid() and files.is_valid():
        data = form.cleaned_data
        uploads = files.files_with_times()
        try:
            incident = services.report_incident(
                organisation=organisation,
                reporter=request.user,
                category=data["category"],
                platform=data["platform"],
                occurred_at=data["occurred_at"],
                location=data["location"],
                description=data["description"],
                pupils=data["pupils"],
                subjects=list(data["subjects"]),
                affected=list(data["affected"]),
                files=uploads,
                official_account=data["official_account"] or (item.account if item else None),
                response_item=item,
            )
        except IncidentError as exc:
            field = "category" if data["category"] in NO_UPLOAD_CATEGORIES else None
            form.add_error(field, str(exc))
        else:
            return redirect("incidents:submitted", pk=incident.pk)
    return render(
        request,
        "incidents/incident_report.html",
        {
            "organisation": organisation,
            "choices": choices,
            "form": form,
            "files": files,
            "nude_imagery": Category.NUDE_IMAGERY,
            "escalated_item": item,
        },
    )


@login_required
def submitted(request, pk):
    incident = _own_report(request.user, pk)
    plan = support_plan.progress_for(request.user, incident)
    return render(
        request,
        "incidents/incident_submitted.html",
        {
            "incident": incident,
            "triage_clock": TRIAGE_CLOCK,
            "plan": plan,
            # Seed 002 §7.1: the member of staff abused learns who was told so support can start.
            "told": support_plan.told_at_report(incident) if plan else "",
        },
    )


@login_required
def my_reports(request):
    reports = Incident.objects.filter(reported_by=request.user).select_related("organisation").order_by("-reported_at")
    return render(request, "incidents/incident_mine.html", {"reports": reports})


@login_required
def my_report(request, pk):
    incident = _own_report(request.user, pk)
    return render(
        request,
        "incidents/incident_my_report.html",
        {
            "incident": incident,
            "evidence": incident.evidence.filter(uploaded_by=request.user),
            # Seed 002 App. 1: the member of staff sees their support plan's steps and status, not the notes.
            "plan": support_plan.progress_for(request.user, incident),
            "files": EvidenceFormSet(prefix="evidence"),
            "triage_clock": TRIAGE_CLOCK,
            "told": reporter_view(incident),  # the outcome and the message written for the reporter
        },
    )


@login_required
@require_POST
def add_evidence(request, pk):
    incident = get_object_or_404(Incident.objects.select_related("organisation"), pk=pk)
    handler = can_see_incident(request.user, incident)
    if not handler and not is_reporter(request.user, incident):
        raise Http404
    back = reverse("incidents:detail" if handler else "incidents:my_report", args=[incident.pk])
    files = EvidenceFormSet(request.POST, request.FILES, prefix="evidence")
    if not files.is_valid():
        errors = [e for form in files.forms for errs in form.errors.values() for e in errs] + list(
            files.non_form_errors()
        )
        messages.error(request, errors[0] if errors else "Check the files and try again.")
        return redirect(back)
    try:
        stored = services.add_evidence(incident=incident, actor=request.user, files=files.files_with_times())
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{len(stored)} file{'s' if len(stored) != 1 else ''} added to {incident.reference}.")
    return redirect(back)


# Handling
# ------------------------------------------------------------------------------


@login_required
def detail(request, pk):
    incident = get_object_or_404(Incident.objects.select_related("organisation", "assignee", "reported_by"), pk=pk)
    if not can_see_incident(request.user, incident):
        if is_reporter(request.user, incident):
            return redirect("incidents:my_report", pk=incident.pk)
        raise Http404
    return case_page.render(request, incident)


def _done(request, incident, message):
    messages.success(request, message)
    return redirect("incidents:detail", pk=incident.pk)


def _refused(request, incident, exc):
    messages.error(request, str(exc))
    return redirect("incidents:detail", pk=incident.pk)


@login_required
@require_POST
def triage(request, pk):
    incident = _incident_for(request.user, pk, triage=True)
    form = TriageForm(request.POST, handlers=queries.possible_assignees(incident))
    if not form.is_valid():
        return case_page.render(request, incident, status=400, triage_form=form)
    try:
        services.triage(
            incident=incident,
            actor=request.user,
            severity=form.cleaned_data["severity"],
            is_safeguarding=form.cleaned_data["is_safeguarding"],
            assignee=form.cleaned_data["assignee"],
            first_assessment=form.cleaned_data["first_assessment"],
            lado_referral_needed=form.cleaned_data["lado_referral_needed"],
        )
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, f"{incident.reference} is triaged.")


@login_required
@require_POST
def decide_threshold(request, pk):
    incident = _incident_for(request.user, pk)
    if not can_decide_threshold(request.user, incident):
        raise PermissionDenied
    form = ThresholdForm(request.POST, questions=allegations.QUESTIONS)
    if not form.is_valid():
        return case_page.render(request, incident, status=400, threshold_form=form)
    data = dict(form.cleaned_data)
    try:
        decision = allegations.decide_threshold(
            incident=incident, actor=request.user, reasons=data.pop("reasons"), answers=data
        )
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, f"Harm-threshold step recorded. {decision.get_outcome_display()}.")


@login_required
@require_POST
def add_action(request, pk):
    incident = _incident_for(request.user, pk)
    form = ActionForm(request.POST)
    if not form.is_valid():
        return case_page.render(request, incident, status=400, action_form=form)
    try:
        services.record_action(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, "Added to the chronology.")


@login_required
@require_POST
def add_addendum(request, pk):
    incident = _incident_for(request.user, pk)
    form = AddendumForm(request.POST, entries=incident.actions.filter(corrects__isnull=True))
    if not form.is_valid():
        return case_page.render(request, incident, status=400, addendum_form=form)
    try:
        services.record_action(
            incident=incident,
            actor=request.user,
            kind="addendum",
            happened_at=timezone.now(),
            text=form.cleaned_data["text"],
            corrects=form.cleaned_data["corrects"],
        )
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, "Correction added. The original entry stays as it was.")


@login_required
@require_POST
def move_status(request, pk):
    incident = _incident_for(request.user, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "Choose where to move the incident.")
    try:
        services.move_status(incident=incident, actor=request.user, to=form.cleaned_data["to"])
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, f"{incident.reference} is now {Status(form.cleaned_data['to']).label.lower()}.")


@login_required
@require_POST
def close(request, pk):
    incident = _incident_for(request.user, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        return case_page.render(request, incident, status=400, close_form=form)
    try:
        services.close_incident(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, f"{incident.reference} is closed.")


@login_required
@require_POST
def reopen(request, pk):
    incident = _incident_for(request.user, pk)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise IncidentError("Say why the incident is being reopened.")
        services.reopen_incident(incident=incident, actor=request.user, reason=form.cleaned_data["reason"])
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, f"{incident.reference} is reopened.")


@login_required
@require_POST
def record_breach(request, pk):
    incident = _incident_for(request.user, pk)
    subjects = User.objects.filter(
        pk__in=incident.named_people.filter(involvement=Involvement.SUBJECT).values("user_id")
    )
    form = BreachForm(request.POST, subjects=subjects, versions=case_page.breach_versions(incident))
    if not form.is_valid():
        return case_page.render(request, incident, status=400, breach_form=form)
    try:
        breaches.record_policy_breach(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, "Policy breach recorded.")


@login_required
@require_POST
def legal_hold(request, pk):
    incident = _incident_for(request.user, pk, triage=True)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise IncidentError("Say why the legal hold is being placed or lifted.")
        retention.set_legal_hold(
            incident=incident,
            actor=request.user,
            hold=request.POST.get("hold") == "on",
            reason=form.cleaned_data["reason"],
        )
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, "Legal hold updated.")


@login_required
@require_POST
def retention_review(request, pk):
    incident = _incident_for(request.user, pk, triage=True)
    form = RetentionReviewForm(request.POST)
    if not form.is_valid():
        return case_page.render(request, incident, status=400, retention_form=form)
    try:
        retention.review_retention(incident=incident, actor=request.user, **form.cleaned_data)
    except IncidentError as exc:
        return _refused(request, incident, exc)
    return _done(request, incident, "Retention decision recorded.")


# Lists and dashboard
# ------------------------------------------------------------------------------

LIST_FILTERS = {
    "open": ("Open", Q(status__in=OPEN_STATUSES)),
    "new": ("Awaiting triage", Q(status=Status.NEW)),
    "mine": ("Assigned to me", None),
    "closed": ("Closed", Q(status=Status.CLOSED)),
    "all": ("All", Q()),
}


@login_required
def incident_list(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_INCIDENTS)
    show = request.GET.get("show", "open")
    if show not in LIST_FILTERS:
        show = "open"
    label, condition = LIST_FILTERS[show]
    incidents = figures.scoped(request.user, organisation)
    incidents = incidents.filter(assignee=request.user) if show == "mine" else incidents.filter(condition)
    incidents = incidents.select_related("organisation", "assignee").order_by("status", "reported_at")

    page = Paginator(incidents, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/incident_list.html",
        {
            "organisation": organisation,
            "page": page,
            "show": show,
            "filters": [(key, text) for key, (text, _) in LIST_FILTERS.items()],
            "label": label,
            "now": timezone.now(),
            "may_manage_records": can(request.user, Action.MANAGE_INCIDENT_RECORDS, organisation),
        },
    )


@login_required
def dashboard(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_INCIDENTS)
    incidents = figures.scoped(request.user, organisation)
    now = timezone.now()
    deadlines = figures.deadlines(incidents, now)
    context = {
        "organisation": organisation,
        "alerts": {key: bool(deadlines[key]) for key in ("untriaged_overdue", "triaged_late", "lado_overdue")},
        "may_manage_records": can(request.user, Action.MANAGE_INCIDENT_RECORDS, organisation),
    }
    takedowns = queries.takedown_figures(incidents, now)
    if figures.is_trust_level(organisation):
        # A trust's figures are protected (incidents.suppression), here and in its export alike.
        trust = figures.trust_figures(incidents, organisation, now)
        deadlines = figures.trust_deadlines(deadlines)
        takedowns = figures.trust_takedowns(takedowns)
        context |= {"grid": trust["grid"], "trends": trust["trends"], "rollup": trust, "footnote": trust["footnote"]}
    else:
        context |= {"grid": figures.open_grid(incidents), "trends": figures.trends(incidents, now)}
    context |= {
        "deadlines": deadlines,
        "median": deadlines["median_hours"],
        "takedowns": takedowns,
    }
    return render(request, "incidents/dashboard.html", context)


@login_required
def records(request, slug):
    """Retention periods and the review queue. Nothing is deleted automatically."""
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_INCIDENT_RECORDS)
    current = {c.value: queries.retention_years(organisation, c.value) for c in Category}
    form = RetentionPeriodsForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        for category, years in form.cleaned_data.items():
            retention.set_retention_period(
                organisation=organisation, actor=request.user, category=category, years=years
            )
        messages.success(request, "Retention periods saved. They apply to incidents closed from now on.")
        return redirect("incidents:records", slug=organisation.slug)
    due = (
        visible_incidents(request.user)
        .filter(triageable(request.user), organisation=organisation)
        .due_for_retention_review(timezone.localdate())
        .order_by("retention_review_on")
    )
    return render(
        request,
        "incidents/records.html",
        {"organisation": organisation, "form": form, "due": due, "rules": CATEGORY_RULES},
    )
