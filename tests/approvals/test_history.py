"""A request's history reads as English: each step's label, never the audit trail's own name for it."""

import pytest

from approvals import services
from approvals.approval_rules import Rule, set_approval_rules
from tests.approvals.conftest import make_ready, submitted_request

pytestmark = pytest.mark.django_db


def test_the_history_says_what_happened_in_words(client, now, school, staff, runner, slt, second_slt, smp):
    set_approval_rules(organisation=school, actor=None, rules={"official_account": Rule(2, False)})
    school.require_mfa = False
    school.save()
    make_ready(runner, smp)
    request = submitted_request(school, staff, [runner])
    services.decide(account_request=request, decider=slt, kind="approve")
    services.decide(account_request=request, decider=second_slt, kind="approve")
    client.force_login(staff)
    page = client.get(f"/approvals/requests/{request.pk}/").content.decode()
    history = page.split("History</h2>", 1)[1]
    for words in ("Drafted", "Submitted for a decision", "Approval given (another approval is still needed)"):
        assert words in history
    assert "Decided: approved" in history
    assert "_given" not in history and "Approval_given" not in page
