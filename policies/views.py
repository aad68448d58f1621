from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.permissions import (
    Action,
    access_for,
    get_organisation_for,
)
from core.csvfiles import csv_download
from core.middleware import client_ip
from core.params import int_param
from policies import compliance, exports, importer, services, textdiff
from policies.access import (
    can_add_addendum,
    can_create_policies,
    can_download_evidence,
    can_edit,
    can_manage,
    can_publish,
    compliance_scope_label,
    eligible_owners,
    evidence_scope,
    policy_to_read,
    recordable_memberships,
)
from policies.document_limits import DocumentError
from policies.forms import (
    AcknowledgeForm,
    AskOwnerForm,
    ImportPolicyForm,
    PolicyForm,
    PublishForm,
    QuestionForm,
    QuizForm,
    ReviewForm,
    VersionForm,
)
from policies.models import (
    Acknowledgement,
    Policy,
    PolicyVersion,
    QuizQuestion,
    SourceFormat,
    VersionStatus,
)
from policies.queries import my_requests

# Object access: one helper per kind of object, scoped to the person
# ------------------------------------------------------------------------------


def _policy_to_read(user, pk) -> Policy:
    return policy_to_read(user, pk)


def _policy_to_edit(user, pk) -> Policy:
    policy = _policy_to_read(user, pk)
    if not can_edit(user, policy):
        raise PermissionDenied
    return policy


def _version_to_edit(user, pk) -> PolicyVersion:
    version = get_object_or_404(PolicyVersion.objects.select_related("policy__organisation"), pk=pk)
    _policy_to_edit(user, version.policy_id)
    return version


def _policy_to_publish(user, pk) -> Policy:
    policy = _policy_to_edit(user, pk)
    if not can_publish(user, policy):
        raise PermissionDenied
    return policy


def _version_to_publish(user, pk) -> PolicyVersion:
    version = get_object_or_404(PolicyVersion.objects.select_related("policy__organisation"), pk=pk)
    _policy_to_publish(user, version.policy_id)
    return version


# Staff: reading and acknowledging
# ------------------------------------------------------------------------------


@login_required
def my_policies(request):
    outstanding, acknowledged = my_requests(request.user)
    return render(
        request,
        "policies/my_policies.html",
        {"outstanding": outstanding, "acknowledged": acknowledged},
    )


def _addenda_for(user, policy):
    """Local addenda of the person's own organisations to a trust policy, as (policy, version) pairs."""
    orgs = [org.pk for org in access_for(user).organisations]
    addenda = policy.addenda.filter(organisation_id__in=orgs, retired_at__isnull=True)
    return [(a, a.versions.published().first()) for a in addenda]


@login_required
def read_policy(request, pk):
    return _read_page(request, _policy_to_read(request.user, pk))


def _read_page(request, policy, *, quiz_form=None, form=None):
    """The reading page; after a refused quiz or acknowledgement, with that form and its errors."""
    version = policy.versions.published().first()
    if version is None:
        raise Http404("This policy has no published version.")
    open_request = services.open_request(request.user, policy)
    previous = (
        Acknowledgement.objects.filter(user=request.user, version__policy=policy)
        .exclude(version=version)
        .select_related("version")
        .order_by("-acknowledged_at")
        .first()
    )
    diff = ""
    if previous and open_request and not open_request.acknowledgement_id and previous.version.html and version.html:
        diff = textdiff.readable_diff(
            textdiff.plain_text_of(previous.version.html), textdiff.plain_text_of(version.html)
        )
    questions = list(version.questions.all())
    return render(
        request,
        "policies/read.html",
        {
            "policy": policy,
            "version": version,
            "request_": open_request,
            "previous": previous,
            "diff": diff,
            "addenda": [(a, v) for a, v in _addenda_for(request.user, policy) if v],
            "questions": questions,
            "quiz_form": quiz_form or QuizForm(questions=questions),
            "quiz_passed": services.has_passed_quiz(request.user, version),
            "form": form or AcknowledgeForm(),
            "ask_form": AskOwnerForm(),
        },
    )


@login_required
@require_POST
def acknowledge(request, pk):
    version = get_object_or_404(PolicyVersion.objects.select_related("policy"), pk=pk)
    policy = _policy_to_read(request.user, version.policy_id)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _read_page(request, policy, form=form)
    addenda = [v for a, v in _addenda_for(request.user, policy) if v and services.open_request(request.user, a)]
    try:
        acknowledgement = services.acknowledge_together(
            user=request.user,
            versions=[version, *addenda],
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except services.PolicyError as exc:
        messages.error(request, str(exc))
        return redirect("policies:read", pk=policy.pk)
    messages.success(
        request,
        f"Thank you. You acknowledged {policy.title} (version {acknowledgement.version.label}) on {timezone.localtime(acknowledgement.acknowledged_at):%d %B %Y at %H:%M}.",
    )
    return redirect("policies:my_policies")


@login_required
@require_POST
def answer_quiz(request, pk):
    version = get_object_or_404(PolicyVersion, pk=pk, status=VersionStatus.PUBLISHED)
    policy = _policy_to_read(request.user, version.policy_id)
    questions = list(version.questions.all())
    for question in questions:  # an answer that is not a number was not sent from the page: 400
        int_param(request.POST, f"question-{question.pk}", message="Choose one of the answers offered.")
    quiz = QuizForm(request.POST, questions=questions)
    if quiz.is_valid():
        if services.answer_quiz(user=request.user, version=version, answers=quiz.answers()):
            messages.success(request, "All your answers are right. You can now acknowledge the policy.")
            return redirect(reverse("policies:read", args=[version.policy_id]) + "#ack-title")
        quiz.add_error(None, "Not all your answers are right. Read the policy again and have another go.")
    return _read_page(request, policy, quiz_form=quiz)


@login_required
@require_POST
def ask_owner(request, pk):
    version = get_object_or_404(PolicyVersion.objects.select_related("policy"), pk=pk)
    _policy_to_read(request.user, version.policy_id)
    form = AskOwnerForm(request.POST)
    if form.is_valid():
        services.ask_owner(user=request.user, version=version, question=form.cleaned_data["question"])
        messages.success(
            request, f"Your question was sent to {version.policy.owner.full_name}, who will reply by email."
        )
    else:
        messages.error(request, "Write your question first (at most 2,000 characters).")
    return redirect("policies:read", pk=version.policy_id)


@login_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def version_document(request, pk):
    """The uploaded file, shown in the page (a PDF) or downloaded (a Word original)."""
    version = get_object_or_404(PolicyVersion.objects.select_related("policy"), pk=pk)
    policy = _policy_to_read(request.user, version.policy_id)
    if not version.document:
        raise Http404
    if version.status == VersionStatus.DRAFT and not can_edit(request.user, policy):
        raise Http404
    is_pdf = version.source_format == SourceFormat.PDF
    response = FileResponse(
        version.document.open("rb"),
        as_attachment=not is_pdf,
        filename=f"{policy.title} v{version.label}.{version.source_format}",
        content_type="application/pdf"
        if is_pdf
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Owners: writing, publishing and reviewing
# ------------------------------------------------------------------------------


@login_required
def manage_policies(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_POLICY_RECORDS)
    policies = list(
        Policy.objects.applying_to(organisation)
        .select_related("owner", "organisation", "acknowledgement_version")
        .prefetch_related(Prefetch("versions", queryset=PolicyVersion.objects.order_by("-created_at")))
    )
    for policy in policies:
        policy.may_manage = can_manage(request.user, policy)
        policy.may_add_addendum = can_add_addendum(request.user, policy, organisation)
    return render(
        request,
        "policies/manage_list.html",
        {
            "organisation": organisation,
            "policies": policies,
            "may_create": can_create_policies(request.user, organisation),
        },
    )


@login_required
def create_policy(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_POLICIES)
    form = PolicyForm(request.POST or None, owners=eligible_owners(organisation), initial={"owner": request.user.pk})
    addendum_to = None
    trust_policy = int_param(request.GET, "addendum_to")
    if trust_policy is not None and organisation.parent_id:
        addendum_to = get_object_or_404(Policy, pk=trust_policy, organisation_id=organisation.parent_id)
        form.initial.update(title=f"{addendum_to.title}: {organisation.name} addendum", category=addendum_to.category)
    if request.method == "POST" and form.is_valid():
        policy = services.create_policy(
            organisation=organisation, actor=request.user, addendum_to=addendum_to, **form.cleaned_data
        )
        messages.success(request, "Policy created. Now write its first version.")
        return redirect("policies:create_version", pk=policy.pk)
    return render(
        request, "policies/policy_form.html", {"organisation": organisation, "form": form, "addendum_to": addendum_to}
    )


@login_required
def import_policy(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_POLICIES)
    form = ImportPolicyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            parsed = importer.parse_policy_file(upload.read(), upload.name)
            policy = services.import_policy(organisation=organisation, actor=request.user, parsed=parsed)
        except (DocumentError, services.PolicyError) as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"Imported “{policy.title}” as a draft. Check it, then publish it.")
            return redirect("policies:manage", pk=policy.pk)
    return render(request, "policies/import.html", {"organisation": organisation, "form": form})


@login_required
def manage_policy(request, pk):
    policy = _policy_to_edit(request.user, pk)
    versions = policy.versions.select_related("published_by", "created_by").order_by("-created_at")
    return render(
        request,
        "policies/manage.html",
        {
            "policy": policy,
            "versions": versions,
            "reviews": policy.reviews.select_related("reviewed_by")[:10],
            "review_form": ReviewForm(),
            "has_draft": any(v.is_draft for v in versions),
            "may_publish": can_publish(request.user, policy),
        },
    )


@login_required
def edit_policy(request, pk):
    policy = _policy_to_edit(request.user, pk)
    form = PolicyForm(request.POST or None, instance=policy, owners=eligible_owners(policy.organisation))
    if request.method == "POST" and form.is_valid():
        services.update_policy(policy=Policy.objects.get(pk=pk), actor=request.user, **form.cleaned_data)
        messages.success(request, "Policy saved.")
        return redirect("policies:manage", pk=policy.pk)
    return render(
        request, "policies/policy_form.html", {"organisation": policy.organisation, "form": form, "policy": policy}
    )


@login_required
def create_version(request, pk):
    policy = _policy_to_edit(request.user, pk)
    latest = policy.versions.order_by("-created_at").first()
    initial = {"approved_by": policy.approval_body}
    if latest:
        initial.update(text=latest.text, source_format=latest.source_format)
    form = VersionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        text, upload = data.pop("text"), data.pop("upload")
        try:
            version = services.create_version(policy=policy, actor=request.user, text=text, upload=upload, **data)
        except (DocumentError, services.PolicyError) as exc:
            form.add_error(None, str(exc))
        else:
            if latest:
                services.copy_questions(source=latest, target=version)
            messages.success(request, f"Draft version {version.label} saved.")
            return redirect("policies:manage", pk=policy.pk)
    return render(request, "policies/version_form.html", {"policy": policy, "form": form})


@login_required
def edit_version(request, pk):
    version = _version_to_edit(request.user, pk)
    if not version.is_draft:
        messages.error(request, "Only a draft can be edited. Start a new version instead.")
        return redirect("policies:manage", pk=version.policy_id)
    form = VersionForm(request.POST or None, request.FILES or None, instance=version)
    question_form = QuestionForm(request.POST if "add_question" in request.POST else None)
    if request.method == "POST" and "add_question" in request.POST:
        if question_form.is_valid():
            services.add_question(version=version, actor=request.user, **question_form.cleaned_data)
            messages.success(request, "Question added.")
            return redirect("policies:edit_version", pk=version.pk)
        form = VersionForm(instance=version)
    elif request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        text, upload = data.pop("text"), data.pop("upload")
        try:
            services.update_draft(version=version, actor=request.user, text=text, upload=upload, **data)
        except (DocumentError, services.PolicyError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Draft saved.")
            return redirect("policies:manage", pk=version.policy_id)
    return render(
        request,
        "policies/version_form.html",
        {
            "policy": version.policy,
            "version": version,
            "form": form,
            "question_form": question_form,
            "questions": version.questions.all(),
        },
    )


@login_required
@require_POST
def delete_question(request, pk):
    question = get_object_or_404(QuizQuestion.objects.select_related("version"), pk=pk)
    version = _version_to_edit(request.user, question.version_id)
    try:
        services.remove_question(question=question, actor=request.user)
    except services.PolicyError as exc:
        messages.error(request, str(exc))
    return redirect("policies:edit_version", pk=version.pk)


@login_required
def preview_version(request, pk):
    version = _version_to_edit(request.user, pk)
    return render(request, "policies/preview.html", {"policy": version.policy, "version": version})


@login_required
def publish_version(request, pk):
    version = _version_to_publish(request.user, pk)
    policy = version.policy
    default_due = timezone.localdate() + timezone.timedelta(days=policy.organisation.acknowledgement_period_days)
    form = PublishForm(request.POST or None, initial={"due_date": default_due})
    audience = policy.audience().count() if version.requires_acknowledgement else 0
    if request.method == "POST" and form.is_valid():
        try:
            services.publish_version(version=version, actor=request.user, due_date=form.cleaned_data["due_date"])
        except services.PolicyError as exc:
            messages.error(request, str(exc))
            return redirect("policies:manage", pk=policy.pk)
        if version.requires_acknowledgement:
            messages.success(
                request, f"Version {version.label} is published. {audience} people have been asked to acknowledge it."
            )
        else:
            messages.success(request, f"Version {version.label} is published. Earlier acknowledgements still count.")
        return redirect("policies:manage", pk=policy.pk)
    return render(
        request, "policies/publish.html", {"policy": policy, "version": version, "form": form, "audience": audience}
    )


@login_required
@require_POST
def review_no_change(request, pk):
    policy = _policy_to_edit(request.user, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = services.review_without_change(policy=policy, actor=request.user, notes=form.cleaned_data["notes"])
        except services.PolicyError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Review recorded. The next review is due by {review.next_review_date:%d %B %Y}.")
    return redirect("policies:manage", pk=policy.pk)


@login_required
@require_POST
def retire(request, pk):
    policy = _policy_to_publish(request.user, pk)
    try:
        services.retire_policy(policy=policy, actor=request.user)
    except services.PolicyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{policy.title} is retired. Nobody will be asked to acknowledge it.")
    return redirect("policies:manage", pk=policy.pk)


# Compliance: dashboards, drill-downs, exports, evidence
# ------------------------------------------------------------------------------


@login_required
def dashboard(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_COMPLIANCE)
    by = request.GET.get("by", "organisation" if organisation.members.exists() else "department")
    if by not in compliance.BREAKDOWNS:
        by = "department"
    totals, versions, breakdown = compliance.dashboard(request.user, organisation, by)
    compliance.add_previous_figures(request.user, organisation, versions)
    return render(
        request,
        "policies/dashboard.html",
        {
            "organisation": organisation,
            "totals": totals,
            "versions": versions,
            "breakdown": breakdown,
            "by": by,
            "by_label": compliance.BREAKDOWNS[by][-1],
            "breakdowns": {key: names[-1] for key, names in compliance.BREAKDOWNS.items()},
            "scope": compliance_scope_label(request.user, organisation),
            # The policies whose evidence the person may download (ids, so the template tests membership only).
            "evidence_for": {
                version.policy_id for version, _ in versions if can_download_evidence(request.user, version.policy)
            },
        },
    )


def _drilldown_rows(request, organisation):
    requests = compliance.visible_requests(request.user, organisation)
    filters = {key: request.GET[key] for key in compliance.BREAKDOWNS if key in request.GET}
    return compliance.people(
        requests, status=request.GET.get("status", ""), version=int_param(request.GET, "version"), filters=filters
    )


@login_required
def people(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_COMPLIANCE)

    page = Paginator(_drilldown_rows(request, organisation), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # Staff without an email whose acknowledgements the viewer may record for them (policies.assisted).
    unsigned = []
    for row in page:
        if row.acknowledgement_id is None and not row.user.has_email:
            row.membership.user = row.user  # the same person, already read
            unsigned.append(row.membership)
    return render(
        request,
        "policies/people.html",
        {
            "organisation": organisation,
            "page": page,
            "query_string": query.urlencode(),
            "status": request.GET.get("status", ""),
            "recordable": recordable_memberships(request.user, unsigned),
        },
    )


@login_required
def export_csv(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.VIEW_COMPLIANCE)
    response, writer = csv_download(f"acknowledgements-{organisation.slug}-{timezone.localdate()}.csv")
    exports.write_acknowledgements(writer, _drilldown_rows(request, organisation))
    return response


def _policy_for_evidence(user, pk) -> tuple[Policy, list[int] | None]:
    policy = _policy_to_read(user, pk)
    scope = evidence_scope(user, policy)
    if scope == []:
        raise PermissionDenied
    return policy, scope


@login_required
def evidence_csv(request, pk):
    policy, scope = _policy_for_evidence(request.user, pk)
    response, writer = csv_download(f"evidence-{policy.pk}-{timezone.localdate()}.csv")
    exports.write_evidence(
        writer, compliance.evidence(policy, scope), waiting=compliance.not_yet_acknowledged(policy, scope)
    )
    return response


@login_required
def evidence_pdf(request, pk):
    policy, scope = _policy_for_evidence(request.user, pk)
    response = HttpResponse(exports.evidence_pack_pdf(policy, scope), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="evidence-{policy.pk}-{timezone.localdate()}.pdf"'
    return response
