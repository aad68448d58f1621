"""Who must approve each kind of request, as each organisation sets it.

Seed 001 §4 puts official accounts to the senior leadership team; seed 002 §4.2 has closed
blogs and groups for the curriculum "agreed in advance with the Head teacher"; seed 004
"Blogging" has a website or blog that pupils help with "approved by the Managing Partner or
SLT". So each kind of request has its own rule: how many approvals (SLT's, the lead's counting
as one) and whether the organisation lead must be among them. An organisation that has set
nothing for a kind needs one approval from SLT.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Organisation
from approvals.errors import ApprovalError
from approvals.models import ApprovalRule, RequestKind
from core.audit import log_action

MOST_APPROVALS = 5


@dataclass(frozen=True)
class Rule:
    slt_approvals: int = 1
    lead_must_approve: bool = False

    def is_met(self, approvals: int, lead_approved: bool) -> bool:
        """``approvals`` given on this submission, the lead's among them when ``lead_approved``."""
        return approvals >= self.slt_approvals and (lead_approved or not self.lead_must_approve)

    def describe(self) -> str:
        approvals = (
            f"{self.slt_approvals} approval{'s' if self.slt_approvals != 1 else ''} from the senior leadership team"
        )
        return approvals + (", including the organisation lead's" if self.lead_must_approve else "")


DEFAULT = Rule()


def rules_for(organisation) -> dict[str, Rule]:
    """Every kind's rule for ``organisation``, in one query."""
    rules = dict.fromkeys(RequestKind.values, DEFAULT)
    for row in ApprovalRule.objects.filter(organisation=organisation):
        rules[row.kind] = Rule(row.slt_approvals, row.lead_must_approve)
    return rules


def rule_for(organisation, kind: str) -> Rule:
    row = ApprovalRule.objects.filter(organisation=organisation, kind=kind).first()
    return Rule(row.slt_approvals, row.lead_must_approve) if row else DEFAULT


def set_approval_rules(*, organisation, actor, rules: dict[str, Rule]) -> dict[str, Rule]:
    """Set the organisation's rule for each kind given; what changed is written to the audit trail
    (nothing when nothing changed, so setting the same rules twice leaves no trace)."""
    for kind, rule in rules.items():
        if kind not in RequestKind.values:
            raise ApprovalError(f"There is no kind of request called {kind!r}.")
        if not 1 <= rule.slt_approvals <= MOST_APPROVALS:
            raise ApprovalError(f"Each kind of request needs between 1 and {MOST_APPROVALS} approvals.")
    with transaction.atomic():
        # The organisation's row is the lock: two people saving the rules at once take turns.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        current = rules_for(organisation)
        changes = {}
        for kind, rule in rules.items():
            if current[kind] == rule:
                continue
            ApprovalRule.objects.update_or_create(
                organisation=organisation,
                kind=kind,
                defaults={"slt_approvals": rule.slt_approvals, "lead_must_approve": rule.lead_must_approve},
            )
            changes[kind] = [current[kind].describe(), rule.describe()]
            current[kind] = rule
        if changes:
            log_action(
                "approvals.rules_changed",
                actor=actor,
                organisation=organisation,
                obj=organisation,
                details={"changes": changes},
            )
    return current
