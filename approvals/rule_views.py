"""The page where an organisation sets who approves each kind of request (``approval_rules``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.permissions import Action, get_organisation_for
from approvals.approval_rules import rules_for, set_approval_rules
from approvals.errors import ApprovalError
from approvals.forms import ApprovalRulesForm


@login_required
def approval_rules(request, slug):
    """Those who keep the organisation's settings set its approval rules (DESIGN.md "Who uses it")."""
    organisation = get_organisation_for(request.user, slug, Action.MANAGE_ORGANISATION)
    form = ApprovalRulesForm(request.POST or None, rules=rules_for(organisation))
    if request.method == "POST" and form.is_valid():
        try:
            set_approval_rules(organisation=organisation, actor=request.user, rules=form.rules())
        except ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Approval rules saved.")
            return redirect("approvals:approval_rules", slug=organisation.slug)
    return render(request, "approvals/approval_rules.html", {"organisation": organisation, "form": form})
