"""What the policy pages offer and flag comes from policies.access and the models, not the templates."""

import datetime as dt

import pytest

from accounts.models import Role
from policies import services
from tests.factories import member
from tests.policies.conftest import fresh, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


def test_the_policy_list_offers_manage_or_an_addendum_as_the_access_rules_allow(client, now, trust, school, owner):
    trust_owner = member(trust, Role.POLICY_OWNER, email="trust.owner@trust.example")
    trust_policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust policy", owner=trust_owner
    )
    own = services.create_policy(organisation=school, actor=owner, title="Oak policy", owner=owner)
    client.force_login(owner)
    page = client.get(f"/organisations/{school.slug}/policies/").content.decode()
    assert f'href="/policies/{own.pk}/manage/"' in page
    assert f"?addendum_to={trust_policy.pk}" in page and f'href="/policies/{trust_policy.pk}/manage/"' not in page
    # The trust's owner manages the trust's policy wherever they see it, and may write the school's
    # addendum to it too (their role reaches the school; issue 14).
    client.force_login(trust_owner)
    page = client.get(f"/organisations/{school.slug}/policies/").content.decode()
    assert f'href="/policies/{trust_policy.pk}/manage/"' in page and f"?addendum_to={trust_policy.pk}" in page


def test_a_review_date_is_overdue_the_day_after_it(now, policy, owner, time_machine):
    publish(policy, owner)
    policy = fresh(policy)
    day = policy.next_review_date
    assert not policy.review_is_overdue(day) and policy.review_is_overdue(day + dt.timedelta(days=1))


def test_an_acknowledgement_of_an_earlier_version_is_told_apart(now, policy, owner, staff):
    first = publish(policy, owner)
    services.acknowledge(user=staff, version=first)
    request = staff.acknowledgement_requests.get()
    assert not request.is_for_an_earlier_version
    publish(policy, owner, label="2", text="# Rules\n\nBe kinder online.")
    request = staff.acknowledgement_requests.select_related("version__policy").get(version=first)
    assert request.is_for_an_earlier_version
