import json

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import (
    Action,
    access_for,
    can_administer_account,
    can_decide_request,
    can_handle_credentials,
    can_log_responses,
    can_record_training_for_others,
    can_see_account,
    can_see_request,
    get_organisation_for,
)
from approvals import queries, services
from approvals.crypto import CredentialsUnavailable
from approvals.forms import (
    AnswerForm,
    CheckForm,
    ChecklistForm,
    CloseForm,
    CredentialsForm,
    DecisionForm,
    HandoverForm,
    ItemForm,
    RequestForm,
    TeamForm,
    TrainingForm,
)
from approvals.models import AccountRequest, AccountStatus, ItemKind, OfficialAccount, ResponseItem, TrainingRecord
from core.models import AuditEntry

# Object access: one helper per kind of object, scoped to the person
# ------------------------------------------------------------------------------


def _request_for(user, pk) -> AccountRequest:
    account_request = get_object_or_404(AccountRequest.objects.select_related("organisation", "requester"), pk=pk)
    if account_request.organisation not in access_for(user).organisations or not can_see_request(user, account_request):
        raise Http404
    return account_request


def _account_for(user, pk) -> OfficialAccount:
    account = get_object_or_404(queries.account_with_team(OfficialAccount.objects.all()), pk=pk)
    if account.organisation not in access_for(user).organisations or not can_see_account(user, account):
        raise Http404
    return account


def _refused(request, exc: Exception):
    if isinstance(exc, services.ApprovalRefused):
        messages.error(request, "Approval refused. " + " ".join(exc.gaps))
    else:
        messages.error(request, str(exc))


# Requests
# ------------------------------------------------------------------------------


@login_required
def requests_list(request):
    access = access_for(request.user)
    return render(
        request,
        "approvals/requests.html",
        {
            "to_decide": queries.awaiting_decision(request.user),
            "mine": queries.own_requests(request.user),
            "organisations": access.organisations_where(Action.REQUEST_ACCOUNT),
        },
    )


@login_required
def request_create(request, slug):
    organisation = get_organisation_for(request.user, slug, Action.REQUEST_ACCOUNT)
    form = RequestForm(request.POST or None, staff=services.staff_of(organisation), initial={"lead": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("lead", "others")}
        try:
            account_request = services.save_request(
                organisation=organisation, requester=request.user, runners=form.runners(), **data
            )
        except services.ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Draft saved. Check it, then submit it for a decision.")
            return redirect("approvals:request", pk=account_request.pk)
    return render(request, "approvals/request_form.html", {"organisation": organisation, "form": form})


@login_required
def request_edit(request, pk):
    account_request = _request_for(request.user, pk)
    if account_request.requester_id != request.user.pk or not account_request.is_editable:
        raise PermissionDenied
    form = RequestForm(
        request.POST or None, instance=account_request, staff=services.staff_of(account_request.organisation)
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("lead", "others")}
        try:
            services.save_request(
                organisation=account_request.organisation,
                requester=request.user,
                runners=form.runners(),
                account_request=account_request,
                **data,
            )
        except services.ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Changes saved.")
            return redirect("approvals:request", pk=account_request.pk)
    return render(
        request,
        "approvals/request_form.html",
        {"organisation": account_request.organisation, "form": form, "account_request": account_request},
    )


@login_required
def request_detail(request, pk):
    account_request = _request_for(request.user, pk)
    runners = list(account_request.runners.select_related("user"))
    return render(
        request,
        "approvals/request_detail.html",
        {
            "r": account_request,
            "runners": runners,
            "gaps": services.readiness_gaps(account_request.organisation, [x.user for x in runners])
            if account_request.is_open
            else [],
            "decisions": account_request.decisions.select_related("decider"),
            "history": AuditEntry.objects.for_object(account_request).select_related("actor").order_by("created_at"),
            "can_decide": account_request.status == "submitted" and can_decide_request(request.user, account_request),
            "decision_form": DecisionForm(),
            "is_requester": account_request.requester_id == request.user.pk,
            "account": getattr(account_request, "account", None) if account_request.status == "approved" else None,
        },
    )


def _move(request, pk, action):
    account_request = _request_for(request.user, pk)
    try:
        action(account_request)
    except services.ApprovalError as exc:
        _refused(request, exc)
    return redirect("approvals:request", pk=account_request.pk)


@login_required
@require_POST
def request_submit(request, pk):
    def submit(account_request):
        services.submit_request(account_request=account_request, actor=request.user)
        messages.success(request, "Submitted. The senior leadership team has been told.")

    return _move(request, pk, submit)


@login_required
@require_POST
def request_withdraw(request, pk):
    def withdraw(account_request):
        services.withdraw_request(
            account_request=account_request, actor=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(request, "Request withdrawn.")

    return _move(request, pk, withdraw)


@login_required
@require_POST
def request_decide(request, pk):
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, ask for changes or reject.")
        return redirect("approvals:request", pk=pk)

    def decide(account_request):
        decided = services.decide(
            account_request=account_request,
            decider=request.user,
            kind=form.cleaned_data["kind"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, f"Decision recorded. The request is now {decided.get_status_display().lower()}.")

    return _move(request, pk, decide)


# Training
# ------------------------------------------------------------------------------


@login_required
def training(request):
    access = access_for(request.user)
    admin_orgs = [org for org in access.organisations if can_record_training_for_others(request.user, org)]
    scope = Q(pk=request.user.pk)
    for org in admin_orgs:
        scope |= Q(pk__in=services.staff_of(org).values("pk"))
    people = User.objects.filter(scope).order_by("last_name", "first_name")
    form = TrainingForm(request.POST or None, request.FILES or None, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_training(
                user=data["person"],
                actor=request.user,
                course=data["course"],
                completed_on=data["completed_on"],
                expires_on=data["expires_on"],
                evidence=data["evidence"],
            )
        except services.ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Training recorded for {data['person'].full_name}.")
            return redirect("approvals:training")
    records = TrainingRecord.objects.filter(user__in=people).select_related("user", "recorded_by")
    return render(
        request,
        "approvals/training.html",
        {"form": form, "records": records, "today": timezone.localdate(), "for_others": bool(admin_orgs)},
    )


@login_required
def training_evidence(request, pk):
    record = get_object_or_404(TrainingRecord, pk=pk)
    access = access_for(request.user)
    allowed = record.user_id == request.user.pk or any(
        can_record_training_for_others(request.user, org) and services.staff_of(org).filter(pk=record.user_id).exists()
        for org in access.organisations
    )
    if not allowed or not record.evidence:
        raise Http404
    response = FileResponse(record.evidence.open("rb"), as_attachment=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# The register
# ------------------------------------------------------------------------------


@login_required
def register(request, slug):
    """The register, 50 accounts a page (a trust's runs to hundreds), searchable by name."""
    organisation = get_organisation_for(request.user, slug, Action.VIEW_REGISTER)
    query = request.GET.get("q", "").strip()
    accounts = queries.register(organisation)
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(organisation__name__icontains=query))
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    return render(request, "approvals/register.html", {"organisation": organisation, "page": page, "query": query})


@login_required
def account_detail(request, pk):
    account = _account_for(request.user, pk)
    administer = can_administer_account(request.user, account)
    staff = services.staff_of(account.organisation)
    return render(
        request,
        "approvals/account.html",
        {
            "account": account,
            "administer": administer,
            "handle_credentials": can_handle_credentials(request.user, account),
            "has_credentials": hasattr(account, "credentials"),
            "checklist_form": ChecklistForm(instance=account),
            "credentials_form": CredentialsForm(),
            "check_form": CheckForm(),
            "handover_form": HandoverForm(staff=staff),
            "close_form": CloseForm(),
            "team_form": TeamForm(staff=staff),
            "checks": account.checks.select_related("checked_by")[:5],
            "gaps": account.checklist_gaps(),
            "intake_url": request.build_absolute_uri(f"/approvals/intake/{account.pk}/") if administer else "",
            "intake_secret": services.intake_secret(account) if administer else "",
            "today": timezone.localdate(),
        },
    )


def _account_action(request, pk, permission, action, success):
    account = _account_for(request.user, pk)
    if not permission(request.user, account):
        raise PermissionDenied
    try:
        action(account)
    except (services.ApprovalError, CredentialsUnavailable) as exc:
        _refused(request, exc)
    else:
        messages.success(request, success)
    return redirect("approvals:account", pk=account.pk)


@login_required
@require_POST
def account_checklist(request, pk):
    account = _account_for(request.user, pk)
    if not can_administer_account(request.user, account):
        raise PermissionDenied
    form = ChecklistForm(request.POST, instance=OfficialAccount.objects.get(pk=account.pk))
    if not form.is_valid():
        messages.error(
            request, "Check the checklist: " + "; ".join(e for errors in form.errors.values() for e in errors)
        )
        return redirect("approvals:account", pk=account.pk)
    try:
        updated = services.update_checklist(account=account, actor=request.user, **form.cleaned_data)
    except services.ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        activated = account.status == AccountStatus.PENDING_CREATION and updated.status == AccountStatus.ACTIVE
        messages.success(request, "Checklist complete: the account is now active." if activated else "Checklist saved.")
    return redirect("approvals:account", pk=account.pk)


@login_required
@require_POST
def account_credentials(request, pk):
    def store(account):
        form = CredentialsForm(request.POST)
        if not form.is_valid():
            raise services.ApprovalError("Enter the sign-in details to keep.")
        services.store_credentials(account=account, actor=request.user, secret=form.cleaned_data["secret"])

    return _account_action(
        request, pk, can_handle_credentials, store, "Sign-in details saved, encrypted. SLT have been told."
    )


@login_required
@reauthentication_required
def account_reveal(request, pk):
    """Shown only after the person confirms their password again; every reveal is logged."""
    account = _account_for(request.user, pk)
    if not can_handle_credentials(request.user, account):
        raise PermissionDenied
    try:
        secret = services.reveal_credentials(account=account, actor=request.user)
    except (services.ApprovalError, CredentialsUnavailable) as exc:
        messages.error(request, str(exc))
        return redirect("approvals:account", pk=account.pk)
    response = render(request, "approvals/credentials.html", {"account": account, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def account_check(request, pk):
    def check(account):
        form = CheckForm(request.POST)
        form.is_valid()
        services.record_check(account=account, actor=request.user, **form.cleaned_data)

    return _account_action(request, pk, can_administer_account, check, "Termly check recorded.")


@login_required
@require_POST
def account_handover(request, pk):
    def hand_over(account):
        form = HandoverForm(request.POST, staff=services.staff_of(account.organisation))
        if not form.is_valid():
            raise services.ApprovalError("Choose the new lead from the staff list.")
        services.hand_over(account=account, actor=request.user, new_lead=form.cleaned_data["new_lead"])

    return _account_action(request, pk, can_administer_account, hand_over, "Account handed over to its new lead.")


@login_required
@require_POST
def account_close(request, pk):
    def close(account):
        services.close_account(account=account, actor=request.user, reason=request.POST.get("reason", ""))

    return _account_action(request, pk, can_administer_account, close, "Account closed.")


@login_required
@require_POST
def account_team(request, pk):
    def change(account):
        if request.POST.get("remove"):
            person = get_object_or_404(User, pk=request.POST["remove"])
            services.set_team_member(account=account, actor=request.user, user=person, role=None)
            return
        form = TeamForm(request.POST, staff=services.staff_of(account.organisation))
        if not form.is_valid():
            raise services.ApprovalError("Choose a person from the staff list and their role.")
        services.set_team_member(
            account=account, actor=request.user, user=form.cleaned_data["person"], role=form.cleaned_data["role"]
        )

    return _account_action(request, pk, can_administer_account, change, "Team updated.")


# The response log
# ------------------------------------------------------------------------------


@login_required
def account_log(request, pk):
    account = _account_for(request.user, pk)
    can_log = can_log_responses(request.user, account)
    form = ItemForm(request.POST or None)
    if request.method == "POST":
        if not can_log:
            raise PermissionDenied
        if form.is_valid():
            try:
                item, _ = services.log_item(account=account, actor=request.user, **form.cleaned_data)
            except services.ApprovalError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Logged. Reply by {timezone.localtime(item.due_at):%H:%M on %A %d %B}.")
                return redirect("approvals:log", pk=account.pk)
    open_items, answered = queries.log_for(account)
    return render(
        request,
        "approvals/log.html",
        {
            "account": account,
            "open_items": open_items,
            "answered": answered,
            "form": form,
            "can_log": can_log,
            "answer_form": AnswerForm(),
            "figures": queries.monthly_figures(account),
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def item_answer(request, pk):
    item = get_object_or_404(ResponseItem, pk=pk)
    account = _account_for(request.user, item.account_id)
    if not can_log_responses(request.user, account):
        raise PermissionDenied
    form = AnswerForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ApprovalError("Say how it was answered.")
        answered = services.answer_item(item=item, actor=request.user, response=form.cleaned_data["response"])
    except services.ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Answered on time." if answered.answered_on_time else "Answered, after the deadline.")
    return redirect("approvals:log", pk=account.pk)


@csrf_exempt
@require_POST
def intake(request, pk):
    """Automation tools post items here, signed with the account's HMAC-SHA256 secret."""
    account = OfficialAccount.objects.select_related("organisation").filter(pk=pk).first()
    if account is None:
        return JsonResponse({"error": "No such account."}, status=404)
    if not services.signature_ok(account, request.body, request.headers.get("X-Portal-Signature", "")):
        return JsonResponse(
            {"error": "Missing or wrong signature (X-Portal-Signature: sha256=<hex HMAC of the body>)."}, status=403
        )
    try:
        data = json.loads(request.body)
        received_at = parse_datetime(data["received_at"])
        if received_at is None or received_at.tzinfo is None:
            raise ValueError("received_at must be an ISO 8601 time with its offset")
        kind = data.get("kind", ItemKind.COMMENT)
        if kind not in ItemKind.values:
            raise ValueError(f"kind must be one of {', '.join(ItemKind.values)}")
        external_id = str(data["external_id"])[:200]
        item, created = services.log_item(
            account=account,
            actor=None,
            kind=kind,
            received_at=received_at,
            summary=str(data.get("summary", ""))[:2000],
            link=str(data.get("link", ""))[:500],
            external_id=external_id,
        )
    except (ValueError, KeyError, TypeError) as exc:
        return JsonResponse({"error": f"Bad item: {exc}"}, status=400)
    except services.ApprovalError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {"id": item.pk, "due_at": item.due_at.isoformat(), "created": created}, status=201 if created else 200
    )
