"""Approvers by kind: each kind of request has its own rule, set by the organisation (seed 001 §4
for official accounts, 002 §4.2 for closed curriculum groups and blogs, 004 "Blogging" for websites
or blogs that mention the provision); the one organisation-wide setting became one rule per kind."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Role
from approvals import services
from approvals.approval_rules import DEFAULT, Rule, rule_for, rules_for, set_approval_rules
from approvals.demo import DEMO_RULES
from approvals.errors import ApprovalError
from approvals.models import ApprovalRule, RequestKind, RequestStatus
from core.models import AuditEntry
from tests.approvals.conftest import make_ready, submitted_request
from tests.factories import member

pytestmark = pytest.mark.django_db

HEAD_FOR_BLOGS = {
    RequestKind.OFFICIAL_ACCOUNT: Rule(1, False),
    RequestKind.CURRICULUM_GROUP: Rule(1, True),
    RequestKind.WEBSITE: Rule(2, False),
}


@pytest.fixture
def head(school):
    return member(school, Role.LEAD, email="head@school.example")


@pytest.fixture
def ready_runner(runner, smp):
    make_ready(runner, smp)
    return runner


def test_each_kind_of_request_follows_its_own_rule(school, staff, ready_runner, slt, second_slt, head):
    set_approval_rules(organisation=school, actor=None, rules=HEAD_FOR_BLOGS)
    account = submitted_request(school, staff, [ready_runner])
    blog = submitted_request(school, staff, [ready_runner], kind=RequestKind.CURRICULUM_GROUP, proposed_name="Y1 blog")
    site = submitted_request(school, staff, [ready_runner], kind=RequestKind.WEBSITE, proposed_name="Club site")

    # An official account: one SLT approval is enough.
    assert services.decide(account_request=account, decider=slt, kind="approve").status == RequestStatus.APPROVED
    # A closed blog for the curriculum: SLT's approval alone is not; the head's is needed (002 §4.2).
    assert services.decide(account_request=blog, decider=slt, kind="approve").status == RequestStatus.SUBMITTED
    assert services.decide(account_request=blog, decider=second_slt, kind="approve").status == RequestStatus.SUBMITTED
    assert services.decide(account_request=blog, decider=head, kind="approve").status == RequestStatus.APPROVED
    # A website: two approvals, from anyone who decides.
    assert services.decide(account_request=site, decider=slt, kind="approve").status == RequestStatus.SUBMITTED
    assert services.decide(account_request=site, decider=second_slt, kind="approve").status == RequestStatus.APPROVED


def test_the_head_alone_meets_a_rule_of_one_approval_from_the_head(school, staff, ready_runner, head):
    set_approval_rules(organisation=school, actor=None, rules=HEAD_FOR_BLOGS)
    blog = submitted_request(school, staff, [ready_runner], kind=RequestKind.CURRICULUM_GROUP)
    assert services.decide(account_request=blog, decider=head, kind="approve").status == RequestStatus.APPROVED


def test_one_rejection_decides_whatever_the_rule(school, staff, ready_runner, slt):
    set_approval_rules(organisation=school, actor=None, rules=HEAD_FOR_BLOGS)
    site = submitted_request(school, staff, [ready_runner], kind=RequestKind.WEBSITE)
    decided = services.decide(account_request=site, decider=slt, kind="reject", reason="Use the school site.")
    assert decided.status == RequestStatus.REJECTED


def test_an_organisation_that_set_nothing_needs_one_slt_approval(school, other_school):
    assert rules_for(school) == dict.fromkeys(RequestKind.values, DEFAULT) and DEFAULT == Rule(1, False)
    set_approval_rules(organisation=other_school, actor=None, rules=HEAD_FOR_BLOGS)
    assert rule_for(school, RequestKind.CURRICULUM_GROUP) == DEFAULT  # one organisation's rules are its own


def test_setting_the_rules_is_audited_once_and_the_same_again_writes_nothing(school, school_admin):
    set_approval_rules(organisation=school, actor=school_admin, rules=HEAD_FOR_BLOGS)
    entry = AuditEntry.objects.get(action="approvals.rules_changed")
    assert entry.actor == school_admin and set(entry.details["changes"]) == {"curriculum_group", "website"}
    set_approval_rules(organisation=school, actor=school_admin, rules=HEAD_FOR_BLOGS)
    assert AuditEntry.objects.filter(action="approvals.rules_changed").count() == 1


@pytest.mark.parametrize("approvals", [0, 6])
def test_a_rule_outside_1_to_5_approvals_is_refused(school, approvals):
    with pytest.raises(ApprovalError, match="between 1 and 5"):
        set_approval_rules(organisation=school, actor=None, rules={RequestKind.WEBSITE: Rule(approvals, False)})
    assert not ApprovalRule.objects.exists()


def test_the_administrator_sets_the_rules_on_their_page(client, school, school_admin, slt):
    school.require_mfa = False
    school.save()
    url = f"/organisations/{school.slug}/approval-rules/"
    client.force_login(school_admin)
    assert "Who approves each kind of request" in client.get(url).content.decode()
    data = {
        "official_account-approvals": "1",
        "curriculum_group-approvals": "1",
        "curriculum_group-lead": "on",
        "website-approvals": "2",
    }
    response = client.post(url, data, follow=True)
    assert "Approval rules saved." in response.content.decode()
    assert rules_for(school) == HEAD_FOR_BLOGS
    # Bad input is refused with a message and changes nothing.
    response = client.post(url, {**data, "website-approvals": "9"})
    assert response.status_code == 200 and "must be 5 or less" in response.content.decode()
    assert rules_for(school) == HEAD_FOR_BLOGS
    client.force_login(slt)
    assert client.get(url).status_code == 403


def test_the_request_page_says_what_its_kind_needs(client, school, staff, ready_runner, slt):
    school.require_mfa = False
    school.save()
    set_approval_rules(organisation=school, actor=None, rules=HEAD_FOR_BLOGS)
    blog = submitted_request(school, staff, [ready_runner], kind=RequestKind.CURRICULUM_GROUP)
    client.force_login(slt)
    page = client.get(f"/approvals/requests/{blog.pk}/").content.decode()
    assert (
        "For a closed group or blog for the curriculum, Oak Primary needs 1 approval from the senior leadership "
        "team, including the organisation lead&#x27;s." in page
    )


def test_the_demo_uses_the_seeds_rules():
    """Head approval for a closed curriculum blog or group (002 §4.2) and a website or blog (004 "Blogging")."""
    assert DEMO_RULES[RequestKind.CURRICULUM_GROUP].lead_must_approve
    assert DEMO_RULES[RequestKind.WEBSITE].lead_must_approve
    assert not DEMO_RULES[RequestKind.OFFICIAL_ACCOUNT].lead_must_approve


# The organisation-wide setting, migrated
# ------------------------------------------------------------------------------

BEFORE = [("accounts", "0006_plain_words"), ("approvals", "0007_team_joins_as_moderator")]
AFTER = [("accounts", "0007_approval_rules_moved_to_each_kind"), ("approvals", "0008_approval_rules_by_kind")]


@pytest.mark.django_db(transaction=True)
def test_each_kind_keeps_the_rule_the_organisation_had_for_all_of_them():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Organisation = old.get_model("accounts", "Organisation")
    strict = Organisation.objects.create(name="Strict", slug="strict", approvals_needed=2, lead_approval_required=True)
    plain = Organisation.objects.create(name="Plain", slug="plain")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    ApprovalRule = new.get_model("approvals", "ApprovalRule")

    def rules(org):
        return {
            r.kind: (r.slt_approvals, r.lead_must_approve) for r in ApprovalRule.objects.filter(organisation_id=org.pk)
        }

    assert rules(strict) == dict.fromkeys(RequestKind.values, (2, True))
    assert rules(plain) == dict.fromkeys(RequestKind.values, (1, False))
    assert "approvals_needed" not in {f.name for f in new.get_model("accounts", "Organisation")._meta.get_fields()}

    # And back: the strictest rule becomes the one setting again.
    ApprovalRule.objects.filter(organisation_id=plain.pk, kind="website").update(slt_approvals=3)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    Organisation = executor.loader.project_state(BEFORE).apps.get_model("accounts", "Organisation")
    assert Organisation.objects.filter(pk=plain.pk).values_list("approvals_needed", "lead_approval_required").get() == (
        3,
        False,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
