import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role, User
from approvals import services
from approvals.models import TrainingRecord
from policies import services as policy_services
from tests.factories import member

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday


@pytest.fixture
def now(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def smp(now, school):
    """The school's published Social Media Policy."""
    owner = member(school, Role.POLICY_OWNER, email="owner@school.example")
    policy = policy_services.create_policy(
        organisation=school, actor=owner, title="Social Media Policy", owner=owner, is_social_media_policy=True
    )
    version = policy_services.create_version(
        policy=policy, actor=owner, text="# Rules\n\nBe kind.", label="2", source_format="markdown"
    )
    policy_services.publish_version(version=version, actor=owner)
    return policy


def training_admin(organisation):
    """The organisation's administrator who verifies staff training (seed 001 §4)."""
    email = f"training.admin@{organisation.slug}.example"
    existing = User.objects.filter(email=email).first()
    return existing or member(organisation, Role.ADMIN, email=email)


def make_ready(user, policy):
    """Acknowledged the current Social Media Policy and trained (a record an administrator verified)."""
    policy.refresh_from_db()
    policy_services.acknowledge(user=user, version=policy.acknowledgement_version)
    TrainingRecord.objects.create(
        user=user,
        course="Social media for staff",
        completed_on=dt.date(2026, 1, 10),
        expires_on=dt.date(2028, 1, 10),
        recorded_by=user,
        verified_by=training_admin(policy.organisation),
        verified_at=timezone.now(),
    )


@pytest.fixture
def runner(school, smp):
    person = member(school, email="runner@school.example")
    policy_services.sync_requests(users=[person])
    return person


@pytest.fixture
def second_slt(school):
    return member(school, Role.SLT, email="slt2@school.example")


BUSINESS_CASE = {
    "kind": "official_account",
    "platform": "facebook",
    "proposed_name": "Oak Primary News",
    "official_email": "news@school.example",
    "aim": "Celebrate pupils' work with families.",
    "audience": "Parents and carers.",
    "promotion": "Newsletter and website.",
    "visibility": "open",
}


def draft_request(school, requester, runners, **changes):
    return services.save_request(
        organisation=school,
        requester=requester,
        runners=[(u, i == 0) for i, u in enumerate(runners)],
        **{**BUSINESS_CASE, **changes},
    )


def submitted_request(school, requester, runners, **changes):
    request = draft_request(school, requester, runners, **changes)
    return services.submit_request(account_request=request, actor=requester)


@pytest.fixture
def account(school, staff, runner, slt, smp):
    """An approved account, pending creation, run by ``runner``."""
    from approvals.models import OfficialAccount

    make_ready(runner, smp)
    services.decide(account_request=submitted_request(school, staff, [runner]), decider=slt, kind="approve")
    return OfficialAccount.objects.get()
