import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Action, access_for, get_organisation_for
from approvals import access as rules
from approvals import crypto, queries
from approvals.approval_rules import rule_for
from approvals.crypto import CredentialsUnavailable
from approvals.errors import ApprovalError, ApprovalRefused
from approvals.forms import (
    AnswerForm,
    CheckForm,
    ChecklistForm,
    CloseForm,
    CredentialsForm,
    DecisionForm,
    HandoverForm,
    IntakeItemForm,
    ItemForm,
    RequestForm,
    TeamForm,
)
from approvals.models import AccountRequest, AccountStatus, DecisionKind, OfficialAccount, ResponseItem
from approvals.register import (
    close_account,
    hand_over,
    record_check,
    reveal_credentials,
    set_team_member,
    store_credentials,
    update_checklist,
)
from approvals.responses import (
    answer_item,
    intake_secret,
    intake_time,
    log_item,
    receive_intake,
    rotate_intake_secret,
    signature_ok,
)
from approvals.services import decide, save_request, submit_request, withdraw_request
from approvals.training import readiness_gaps
from core.forms import sent_back_status
from core.middleware import NO_STORE
from core.params import int_param

# Object access: one helper per kind of object, scoped to the person
# ------------------------------------------------------------------------------


def _request_for(user, pk) -> AccountRequest:
    return rules.request_for(user, pk)


def _account_for(user, pk) -> OfficialAccount:
    return rules.account_for(user, pk, queries.account_with_team(OfficialAccount.objects.all()))


def _refused(request, exc: Exception):
    if isinstance(exc, ApprovalRefused):
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
    form = RequestForm(request.POST or None, staff=queries.staff_of(organisation), initial={"lead": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("lead", "others")}
        try:
            account_request = save_request(
                organisation=organisation, requester=request.user, runners=form.runners(), **data
            )
        except ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Draft saved. Check it, then submit it for a decision.")
            return redirect("approvals:request", pk=account_request.pk)
    return render(
        request,
        "approvals/request_form.html",
        {"organisation": organisation, "form": form},
    )


@login_required
def request_edit(request, pk):
    account_request = _request_for(request.user, pk)
    if not rules.can_act_as_requester(request.user, account_request) or not account_request.is_editable:
        raise PermissionDenied
    form = RequestForm(
        request.POST or None, instance=account_request, staff=queries.staff_of(account_request.organisation)
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("lead", "others")}
        try:
            save_request(
                organisation=account_request.organisation,
                requester=request.user,
                runners=form.runners(),
                account_request=account_request,
                **data,
            )
        except ApprovalError as exc:
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
    return _request_page(request, _request_for(request.user, pk))


def _request_page(request, account_request, *, decision_form=None):
    runners = list(account_request.runners.select_related("user"))
    return render(
        request,
        "approvals/request_detail.html",
        {
            "r": account_request,
            "runners": runners,
            "gaps": readiness_gaps(account_request.organisation, [x.user for x in runners])
            if account_request.is_open
            else [],
            "decisions": account_request.decisions.select_related("decider"),
            "history": queries.request_history(account_request),
            "can_decide": account_request.status == "submitted"
            and rules.can_decide_request(request.user, account_request),
            "decision_form": decision_form or DecisionForm(),
            "rule": rule_for(account_request.organisation, account_request.kind),
            "is_requester": account_request.requester_id == request.user.pk,
            "account": getattr(account_request, "account", None) if account_request.status == "approved" else None,
        },
        status=sent_back_status(decision_form),
    )


def _move(request, pk, action, allowed):
    """A change to a request the person can see: 403 unless ``allowed`` (an ``approvals.access`` rule)
    lets them make it; a move the request's state does not allow is refused with its message."""
    account_request = _request_for(request.user, pk)
    if not allowed(request.user, account_request):
        raise PermissionDenied
    try:
        action(account_request)
    except ApprovalError as exc:
        _refused(request, exc)
    return redirect("approvals:request", pk=account_request.pk)


@login_required
@require_POST
def request_submit(request, pk):
    def submit(account_request):
        submit_request(account_request=account_request, actor=request.user)
        messages.success(request, "Submitted. The senior leadership team has been told.")

    return _move(request, pk, submit, rules.can_act_as_requester)


@login_required
@require_POST
def request_withdraw(request, pk):
    def withdraw(account_request):
        withdraw_request(account_request=account_request, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, "Request withdrawn.")

    return _move(request, pk, withdraw, rules.can_act_as_requester)


@login_required
@require_POST
def request_decide(request, pk):
    """A decision sent back (none chosen, or a rejection without its reason) shows the request again
    with the decision as typed and the summary at the top, rather than losing the reason written."""
    account_request = _request_for(request.user, pk)
    if not rules.can_decide_request(request.user, account_request):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decided = decide(
                account_request=account_request,
                decider=request.user,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
            )
        except ApprovalRefused as exc:
            # Not the form's fault: someone to run the account is not ready (seed 001 §4). The request's
            # page lists who, and is the page to come back to once they are.
            _refused(request, exc)
            return redirect("approvals:request", pk=pk)
        except ApprovalError as exc:
            no_reason = form.cleaned_data["kind"] != DecisionKind.APPROVE and not form.cleaned_data["reason"].strip()
            form.add_error("reason" if no_reason else None, str(exc))
        else:
            messages.success(request, f"Decision recorded. The request is now {decided.get_status_display().lower()}.")
            return redirect("approvals:request", pk=pk)
    return _request_page(request, _request_for(request.user, pk), decision_form=form)


# The register
# ------------------------------------------------------------------------------


@login_required
def register(request, slug):
    """The register, 50 accounts a page (a trust's runs to hundreds), searchable by name."""
    organisation = get_organisation_for(request.user, slug, Action.VIEW_REGISTER)
    query = request.GET.get("q", "").strip()
    page = Paginator(queries.register(organisation, search=query), 50).get_page(request.GET.get("page"))
    return render(request, "approvals/register.html", {"organisation": organisation, "page": page, "query": query})


@login_required
def account_detail(request, pk):
    account = _account_for(request.user, pk)
    administer = rules.can_administer_account(request.user, account)
    can_store = rules.can_store_credentials(request.user, account)
    can_reveal = rules.can_reveal_credentials(request.user, account)
    change_team = rules.can_change_team(request.user, account)
    appoint = rules.can_appoint_administrators(request.user, account)
    staff = queries.staff_of(account.organisation)
    account_url = reverse("approvals:account", args=[account.pk])
    response = render(
        request,
        "approvals/account.html",
        {
            "account": account,
            "administer": administer,
            "can_store_credentials": can_store,
            "can_reveal_credentials": can_reveal,
            "second_factor_fresh": (can_store or can_reveal) and rules.second_factor_is_fresh(request),
            "second_factor_url": _second_factor_url(request, account_url) if can_store or can_reveal else "",
            "credentials_unavailable": crypto.unavailable_reason() if can_store else None,
            "has_credentials": hasattr(account, "credentials"),
            "reveals": queries.credential_reveals(account) if rules.can_see_reveals(request.user, account) else None,
            "checklist_form": ChecklistForm(instance=account),
            "credentials_form": CredentialsForm(),
            "check_form": CheckForm(),
            "handover_form": HandoverForm(staff=staff),
            "close_form": CloseForm(),
            "team_form": TeamForm(staff=staff, appoint=appoint),
            "checks": account.checks.select_related("checked_by")[:5],
            "gaps": account.checklist_gaps(),
            "intake_url": request.build_absolute_uri(f"/approvals/intake/{account.pk}/") if administer else "",
            "intake_secret": intake_secret(account) if administer else "",
            # Closed accounts keep their record; nothing about them changes any more.
            "may_change": administer and not account.is_closed,
            "may_change_team": change_team and not account.is_closed,
            "may_record_check": administer and account.status == AccountStatus.ACTIVE,
            "shows_credentials": (can_store or can_reveal) and not account.is_closed,
        },
    )
    response["Cache-Control"] = NO_STORE  # it shows the intake secret to administrators
    return response


def _account_action(request, pk, permission, action, success):
    account = _account_for(request.user, pk)
    if not permission(request.user, account):
        raise PermissionDenied
    try:
        action(account)
    except (ApprovalError, CredentialsUnavailable) as exc:
        _refused(request, exc)
    else:
        messages.success(request, success)
    return redirect("approvals:account", pk=account.pk)


@login_required
@require_POST
def account_checklist(request, pk):
    account = _account_for(request.user, pk)
    if not rules.can_administer_account(request.user, account):
        raise PermissionDenied
    form = ChecklistForm(request.POST, instance=OfficialAccount.objects.get(pk=account.pk))
    if not form.is_valid():
        messages.error(
            request, "Check the checklist: " + "; ".join(e for errors in form.errors.values() for e in errors)
        )
        return redirect("approvals:account", pk=account.pk)
    try:
        updated = update_checklist(account=account, actor=request.user, **form.cleaned_data)
    except ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        activated = account.status == AccountStatus.PENDING_CREATION and updated.status == AccountStatus.ACTIVE
        messages.success(request, "Checklist complete: the account is now active." if activated else "Checklist saved.")
    return redirect("approvals:account", pk=account.pk)


def _second_factor_url(request, next_url: str) -> str:
    """Where to prove a second factor before coming back to ``next_url``: allauth's set-up page
    for a person with no authenticator, its two-factor re-authentication for the others."""
    if not rules.has_second_factor(request.user):
        return reverse("mfa_activate_totp")
    return f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url})}"


def _second_factor_needed(request, next_url: str, doing: str):
    """None when the person proved a second factor within the re-authentication timeout;
    otherwise a redirect to get one, with a message saying why (DESIGN.md: credentials)."""
    if rules.second_factor_is_fresh(request):
        return None
    if not rules.has_second_factor(request.user):
        messages.warning(
            request,
            f"To {doing} an official account's sign-in details you need two-factor sign-in. "
            "Set up an authenticator app, then go back to the account.",
        )
    else:
        messages.info(request, f"Enter a code from your authenticator app to {doing} the sign-in details.")
    return redirect(_second_factor_url(request, next_url))


@login_required
@require_POST
def account_credentials(request, pk):
    account = _account_for(request.user, pk)
    if not rules.can_store_credentials(request.user, account):
        raise PermissionDenied
    # The details typed are not kept while the person proves their second factor: they enter them again.
    needed = _second_factor_needed(request, reverse("approvals:account", args=[account.pk]), "change")
    if needed:
        return needed
    form = CredentialsForm(request.POST)
    try:
        if not form.is_valid():
            raise ApprovalError("Enter the sign-in details to keep.")
        store_credentials(account=account, actor=request.user, secret=form.cleaned_data["secret"])
    except (ApprovalError, CredentialsUnavailable) as exc:
        _refused(request, exc)
    else:
        messages.success(request, "Sign-in details saved, encrypted. SLT have been told.")
    return redirect("approvals:account", pk=account.pk)


@login_required
@require_POST
def account_reveal(request, pk):
    """Shown only after a fresh second factor (seed 004 §4.2, DESIGN.md); every reveal is logged
    and told to SLT, so it is a POST, never a link a browser might prefetch."""
    account = _account_for(request.user, pk)
    if not rules.can_reveal_credentials(request.user, account):
        raise PermissionDenied
    needed = _second_factor_needed(request, reverse("approvals:account", args=[account.pk]), "see")
    if needed:
        return needed
    try:
        secret = reveal_credentials(account=account, actor=request.user)
    except (ApprovalError, CredentialsUnavailable) as exc:
        messages.error(request, str(exc))
        return redirect("approvals:account", pk=account.pk)
    response = render(request, "approvals/credentials.html", {"account": account, "secret": secret})
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_POST
def account_intake_rotate(request, pk):
    """A new intake secret, shown once; the old one stops working at once."""
    account = _account_for(request.user, pk)
    if not rules.can_administer_account(request.user, account):
        raise PermissionDenied
    try:
        account = rotate_intake_secret(account=account, actor=request.user)
    except ApprovalError as exc:
        messages.error(request, str(exc))
        return redirect("approvals:account", pk=account.pk)
    response = render(
        request,
        "approvals/intake_secret.html",
        {
            "account": account,
            "intake_url": request.build_absolute_uri(reverse("approvals:intake", args=[account.pk])),
            "intake_secret": intake_secret(account),
        },
    )
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_POST
def account_check(request, pk):
    def check(account):
        form = CheckForm(request.POST)
        form.is_valid()
        record_check(account=account, actor=request.user, **form.cleaned_data)

    return _account_action(request, pk, rules.can_administer_account, check, "Termly check recorded.")


@login_required
@require_POST
def account_handover(request, pk):
    def change_lead(account):
        form = HandoverForm(request.POST, staff=queries.staff_of(account.organisation))
        if not form.is_valid():
            raise ApprovalError("Choose the new lead from the staff list.")
        hand_over(account=account, actor=request.user, new_lead=form.cleaned_data["new_lead"])

    return _account_action(
        request, pk, rules.can_administer_account, change_lead, "Account handed over to its new lead."
    )


@login_required
@require_POST
def account_close(request, pk):
    def close(account):
        close_account(account=account, actor=request.user, reason=request.POST.get("reason", ""))

    return _account_action(request, pk, rules.can_administer_account, close, "Account closed.")


@login_required
@require_POST
def account_team(request, pk):
    def change(account):
        remove = int_param(request.POST, "remove")
        if remove is not None:
            person = get_object_or_404(User, pk=remove)
            set_team_member(account=account, actor=request.user, user=person, role=None)
            return
        form = TeamForm(request.POST, staff=queries.staff_of(account.organisation), appoint=True)
        if not form.is_valid():
            raise ApprovalError("Choose a person from the staff list and their role.")
        # Who may make an administrator is the service's to check (access.can_appoint_administrators).
        set_team_member(
            account=account, actor=request.user, user=form.cleaned_data["person"], role=form.cleaned_data["role"]
        )

    return _account_action(request, pk, rules.can_change_team, change, "Team updated.")


# The response log
# ------------------------------------------------------------------------------


@login_required
def account_log(request, pk):
    account = _account_for(request.user, pk)
    can_log = rules.can_log_responses(request.user, account)
    form = ItemForm(request.POST or None)
    if request.method == "POST":
        if not can_log:
            raise PermissionDenied
        if form.is_valid():
            try:
                item, _ = log_item(account=account, actor=request.user, **form.cleaned_data)
            except ApprovalError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Logged. Reply by {timezone.localtime(item.due_at):%H:%M on %A %d %B}.")
                return redirect("approvals:log", pk=account.pk)
    return _log_page(request, account, form=form, can_log=can_log)


def _log_page(request, account, *, form, can_log, answer=None):
    """The log; ``answer`` is an item's answer sent back, shown at its item with what was typed."""
    open_items, answered = queries.log_for(account)
    for item in open_items:
        item.answer_form = answer if answer is not None and answer.item_pk == item.pk else None
    return render(
        request,
        "approvals/log.html",
        {
            "account": account,
            "open_items": open_items,
            "answered": answered,
            "form": form,
            "can_log": can_log,
            "answer_sent_back": answer,
            "figures": queries.monthly_figures(account),
            "now": timezone.now(),
        },
        status=sent_back_status(answer),
    )


@login_required
@require_POST
def item_answer(request, pk):
    item = get_object_or_404(ResponseItem, pk=pk)
    account = _account_for(request.user, item.account_id)
    if not rules.can_log_responses(request.user, account):
        raise PermissionDenied
    form = AnswerForm(request.POST, item=item)
    form.item_pk = item.pk
    if form.is_valid():
        try:
            answered = answer_item(item=item, actor=request.user, response=form.cleaned_data["response"])
        except ApprovalError as exc:
            form.add_error("response", str(exc))
        else:
            messages.success(
                request, "Answered on time." if answered.answered_on_time else "Answered, after the deadline."
            )
            return redirect("approvals:log", pk=account.pk)
    return _log_page(request, account, form=ItemForm(), can_log=True, answer=form)


INTAKE_REFUSED = {
    "error": "Missing or wrong signature. Send X-Portal-Timestamp (Unix seconds) and X-Portal-Signature: "
    'sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the account\'s intake secret>.'
}


@csrf_exempt
@require_POST
def intake(request, pk):
    """Automation tools post items here, signed with the account's HMAC-SHA256 secret.

    An unknown account and a wrong signature get the same answer, so account ids cannot be
    tried one by one; a request signed more than five minutes ago (or ahead) is refused.
    """
    timestamp = request.headers.get("X-Portal-Timestamp", "")
    signed_at = intake_time(timestamp)
    if signed_at is None:
        return JsonResponse(
            {"error": "X-Portal-Timestamp must be the time of signing in Unix seconds, within 5 minutes of now."},
            status=403,
        )
    account = OfficialAccount.objects.select_related("organisation").filter(pk=pk).first()
    signature = request.headers.get("X-Portal-Signature", "")
    if not signature_ok(account, timestamp, request.body, signature):
        return JsonResponse(INTAKE_REFUSED, status=403)
    try:
        data = json.loads(request.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return JsonResponse({"error": "Bad item: the body must be a JSON object."}, status=400)
    form = IntakeItemForm(data)
    if not form.is_valid():
        return JsonResponse({"error": f"Bad item: {form.error_text()}"}, status=400)
    try:
        item, created = receive_intake(
            account=account, signature=signature.removeprefix("sha256="), signed_at=signed_at, **form.cleaned_data
        )
    except ApprovalError as exc:
        return JsonResponse({"error": f"Bad item: {exc}"}, status=400)
    return JsonResponse(
        {"id": item.pk, "due_at": item.due_at.isoformat(), "created": created}, status=201 if created else 200
    )
