import threading

import pytest
from django.db import connection

from accounts.models import Role
from approvals import errors, services
from approvals.approval_rules import Rule, set_approval_rules
from approvals.models import AccountStatus, Decision, OfficialAccount, RequestStatus
from core.models import AuditEntry
from tests.approvals.conftest import START, draft_request, make_ready, submitted_request
from tests.factories import member
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db


def test_any_member_of_staff_drafts_and_submits_a_business_case(
    school, staff, runner, slt, celery_eager, django_capture_on_commit_callbacks
):
    request = draft_request(school, staff, [runner])
    assert request.status == RequestStatus.DRAFT and request.runners.get().is_lead
    with django_capture_on_commit_callbacks(execute=True):
        request = services.submit_request(account_request=request, actor=staff)
    assert (request.status, request.submission) == (RequestStatus.SUBMITTED, 1)
    assert deliver()[0].to == [slt.email] and "Account request to decide" in deliver()[0].subject
    entry = AuditEntry.objects.get(action="approvals.request_submitted")
    assert (entry.actor, entry.from_state, entry.to_state) == (staff, "draft", "submitted")


def test_the_official_email_must_be_on_the_organisations_domains(school, staff, runner):
    with pytest.raises(errors.ApprovalError, match="must be on one of Oak Primary's email domains"):
        draft_request(school, staff, [runner], official_email="news@gmail.example")


def test_runners_must_be_staff_of_the_organisation(school, staff, outsider, smp):
    with pytest.raises(errors.ApprovalError, match="Only staff of Oak Primary"):
        draft_request(school, staff, [staff, outsider])


def test_a_volunteer_can_run_an_account(school, staff, smp):
    volunteer = member(school, staff_type="volunteer")
    assert draft_request(school, staff, [volunteer]).runners.get().user == volunteer


def test_a_missing_business_case_point_is_refused_at_submission(school, staff, runner):
    request = draft_request(school, staff, [runner], promotion="  ")
    with pytest.raises(errors.ApprovalError, match="how the account will be promoted"):
        services.submit_request(account_request=request, actor=staff)
    request.refresh_from_db()
    assert request.status == RequestStatus.DRAFT


def test_approval_is_refused_naming_each_person_and_what_they_lack(school, staff, runner, slt, smp):
    trained_only = member(school, email="trained@school.example")
    from approvals.models import TrainingRecord

    TrainingRecord.objects.create(
        user=trained_only,
        course="c",
        completed_on="2026-01-01",
        expires_on="2027-01-01",
        recorded_by=slt,
        verified_by=slt,
        verified_at=START,
    )
    request = submitted_request(school, staff, [runner, trained_only])
    with pytest.raises(errors.ApprovalRefused) as refused:
        services.decide(account_request=request, decider=slt, kind="approve")
    assert refused.value.gaps == [
        f"{runner.full_name} has not acknowledged version 2 of the Social Media Policy and has no in-date social-media training record.",
        f"{trained_only.full_name} has not acknowledged version 2 of the Social Media Policy.",
    ]
    assert not Decision.objects.exists()
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_expired_training_does_not_count(school, staff, runner, slt, smp):
    make_ready(runner, smp)
    runner.training_records.update(expires_on="2026-03-01")
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalRefused, match="no in-date social-media training"):
        services.decide(account_request=request, decider=slt, kind="approve")


def test_once_everyone_is_ready_slt_approves_and_the_account_enters_the_register(
    school, staff, runner, slt, smp, celery_eager, django_capture_on_commit_callbacks
):
    make_ready(runner, smp)
    request = submitted_request(school, staff, [runner])
    with django_capture_on_commit_callbacks(execute=True):
        request = services.decide(account_request=request, decider=slt, kind="approve", reason="Good plan.")
    assert request.status == RequestStatus.APPROVED
    account = OfficialAccount.objects.get()
    assert (account.status, account.lead, account.name) == (AccountStatus.PENDING_CREATION, runner, "Oak Primary News")
    assert list(account.members.values_list("user", "role")) == [(runner.pk, "administrator")]
    assert any(staff.email in m.to and "approved" in m.subject for m in deliver())


def test_without_a_social_media_policy_nothing_can_be_approved(school, staff, slt):
    runner = member(school)
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalRefused, match="has no published Social Media Policy"):
        services.decide(account_request=request, decider=slt, kind="approve")


def test_changes_requested_then_resubmitted_then_rejected(school, staff, runner, slt):
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalError, match="Give the reason"):
        services.decide(account_request=request, decider=slt, kind="request_changes")
    request = services.decide(
        account_request=request, decider=slt, kind="request_changes", reason="Who moderates in the holidays?"
    )
    assert request.status == RequestStatus.CHANGES_REQUESTED
    request = services.save_request(
        organisation=school,
        requester=staff,
        runners=[(runner, True)],
        account_request=request,
        **{
            **{
                k: getattr(request, k)
                for k in (
                    "kind",
                    "platform",
                    "proposed_name",
                    "official_email",
                    "aim",
                    "audience",
                    "promotion",
                    "visibility",
                )
            },
            "promotion": "Newsletter; moderated by two staff all year.",
        },
    )
    request = services.submit_request(account_request=request, actor=staff)
    assert (request.status, request.submission) == (RequestStatus.SUBMITTED, 2)
    request = services.decide(account_request=request, decider=slt, kind="reject", reason="Not needed.")
    assert request.status == RequestStatus.REJECTED and request.decision_reason == "Not needed."
    assert list(
        AuditEntry.objects.filter(action="approvals.request_decided").order_by("pk").values_list("to_state", flat=True)
    ) == ["changes_requested", "rejected"]


def test_nobody_decides_their_own_request(school, slt, runner):
    request = submitted_request(school, slt, [runner])
    with pytest.raises(errors.ApprovalError, match="your own request"):
        services.decide(account_request=request, decider=slt, kind="approve")


def test_only_slt_or_the_lead_decide(school, staff, runner, dsl):
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalError, match="Only the senior leadership team"):
        services.decide(account_request=request, decider=dsl, kind="reject", reason="No.")


def test_a_request_that_is_not_submitted_cannot_be_decided(school, staff, runner, slt):
    request = draft_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalError, match="draft, so there is nothing to decide"):
        services.decide(account_request=request, decider=slt, kind="reject", reason="No.")


def test_the_requester_withdraws_before_a_decision_only(
    school, staff, runner, slt, celery_eager, django_capture_on_commit_callbacks
):
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalError, match="Only the person who made the request"):
        services.withdraw_request(account_request=request, actor=slt)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.withdraw_request(account_request=request, actor=staff).status == RequestStatus.WITHDRAWN
    assert deliver()[-1].to == [slt.email] and "withdrawn" in deliver()[-1].subject
    with pytest.raises(errors.ApprovalError, match="already withdrawn"):
        services.withdraw_request(account_request=request, actor=staff)


def test_two_approvals_and_the_lead_when_the_organisation_requires_them(school, staff, runner, slt, second_slt, smp):
    set_approval_rules(organisation=school, actor=None, rules={"official_account": Rule(2, True)})
    head = member(school, Role.LEAD, email="head@school.example")
    make_ready(runner, smp)
    request = submitted_request(school, staff, [runner])
    assert services.decide(account_request=request, decider=slt, kind="approve").status == RequestStatus.SUBMITTED
    assert (
        services.decide(account_request=request, decider=second_slt, kind="approve").status == RequestStatus.SUBMITTED
    )
    assert services.decide(account_request=request, decider=head, kind="approve").status == RequestStatus.APPROVED


def test_a_double_click_makes_one_decision(school, staff, runner, slt, second_slt, smp):
    set_approval_rules(organisation=school, actor=None, rules={"official_account": Rule(2, False)})
    make_ready(runner, smp)
    request = submitted_request(school, staff, [runner])
    services.decide(account_request=request, decider=slt, kind="approve")
    with pytest.raises(errors.ApprovalError, match="already given your decision"):
        services.decide(account_request=request, decider=slt, kind="approve")
    assert Decision.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_moment_make_exactly_one_decision(school, staff, slt, second_slt):
    from tests.approvals.conftest import START  # noqa: F401  (dates do not matter here)

    owner = member(school, Role.POLICY_OWNER)
    from policies import services as policy_services

    policy = policy_services.create_policy(
        organisation=school, actor=owner, title="SMP", owner=owner, is_social_media_policy=True
    )
    policy_services.publish_version(
        version=policy_services.create_version(
            policy=policy, actor=owner, text="# R\n\nx", label="1", source_format="markdown"
        ),
        actor=owner,
    )
    runner = member(school)
    policy_services.sync_requests(users=[runner])
    make_ready(runner, policy)
    request = submitted_request(school, staff, [runner])
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(decider):
        try:
            barrier.wait(timeout=10)
            services.decide(account_request=request, decider=decider, kind="approve")
            outcomes.append("approved")
        except errors.ApprovalError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(d,)) for d in (slt, second_slt)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes)[0] == "This request is approved, so there is nothing to decide."
    assert outcomes.count("approved") == 1
    assert Decision.objects.count() == 1 and OfficialAccount.objects.count() == 1
