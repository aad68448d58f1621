"""Publishing and retiring need the policy owner role for the policy (issue 10, least privilege).

DESIGN.md "Who uses it": the policy owner keeps a policy's text, versions and review;
an organisation administrator keeps staff records, roles and settings. An administrator
may draft a version, but only the policy's owner, or a policy owner of the organisation
that owns it (a trust's role reaching its members), publishes or retires it.
"""

import datetime as dt

import pytest

from accounts.models import Role
from core.models import AuditEntry
from policies import services
from policies.access import can_publish
from policies.models import PolicyVersion, VersionStatus
from tests.factories import member
from tests.policies.conftest import draft, fresh, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, outside_school):
    for org in (school, trust, outside_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def trust_admin(trust):
    return member(trust, Role.ADMIN, email="admin@trust.example")


@pytest.fixture
def trust_owner(trust):
    return member(trust, Role.POLICY_OWNER, email="owner@trust.example")


@pytest.fixture
def trust_policy(trust, trust_owner):
    return services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust Social Media Policy", owner=trust_owner
    )


# The rule
# ------------------------------------------------------------------------------


def test_an_administrator_without_the_owner_role_neither_edits_nor_publishes(now, policy, owner, school_admin):
    """DESIGN.md "Who uses it": the administrator keeps staff records, roles and settings; the policy
    owner keeps a policy's text, versions and review (seed 001's policy table)."""
    from policies.access import can_manage

    assert not can_manage(school_admin, policy) and not can_publish(school_admin, policy)
    assert can_publish(owner, policy)


def test_the_named_owner_publishes_without_holding_the_role(now, school, policy, slt):
    services.update_policy(policy=policy, actor=slt, owner=slt)
    assert can_publish(slt, fresh(policy))


def test_any_policy_owner_of_the_organisation_publishes(now, school, policy):
    assert can_publish(member(school, Role.POLICY_OWNER), policy)


def test_a_trust_policy_owner_publishes_the_trusts_and_its_schools_policies(now, trust_policy, policy, trust):
    other_trust_owner = member(trust, Role.POLICY_OWNER)
    assert can_publish(other_trust_owner, trust_policy)
    assert can_publish(other_trust_owner, policy)  # the school's: a trust role reaches its members


def test_a_school_policy_owner_does_not_publish_the_trusts_policy(now, school, trust_policy):
    assert not can_publish(member(school, Role.POLICY_OWNER), trust_policy)


def test_an_owner_who_has_left_no_longer_publishes(now, school, policy):
    leaver = member(school, leaving_date=dt.date(2026, 2, 1))
    policy.owner = leaver
    policy.save(update_fields=["owner"])
    assert not can_publish(leaver, fresh(policy))


def test_an_outsider_does_not_publish(now, policy, outsider):
    assert not can_publish(outsider, policy)


# The service checks it again
# ------------------------------------------------------------------------------


def test_the_service_refuses_an_administrator_and_changes_nothing(now, policy, school_admin):
    version = draft(policy, school_admin)
    with pytest.raises(services.PolicyError, match="Only the owner of Social Media Policy"):
        services.publish_version(version=version, actor=school_admin)
    assert PolicyVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT
    assert not AuditEntry.objects.filter(action="policy.version_published").exists()


def test_the_service_refuses_to_retire_for_an_administrator(now, policy, owner, school_admin):
    publish(policy, owner)
    with pytest.raises(services.PolicyError, match="Only the owner"):
        services.retire_policy(policy=policy, actor=school_admin)
    assert fresh(policy).retired_at is None


def test_a_trust_administrator_cannot_publish_the_trusts_policy(now, trust_policy, trust_admin):
    version = draft(trust_policy, trust_admin)
    with pytest.raises(services.PolicyError, match="or a policy owner of Oak Trust"):
        services.publish_version(version=version, actor=trust_admin)


def test_a_trust_policy_owner_publishes_a_trust_policy_they_do_not_own(now, trust, trust_policy, trust_admin):
    version = draft(trust_policy, trust_admin)
    published = services.publish_version(version=version, actor=member(trust, Role.POLICY_OWNER))
    assert published.status == VersionStatus.PUBLISHED


# The pages
# ------------------------------------------------------------------------------


def test_an_administrator_is_refused_the_policy_pages(client, now, policy, owner, school_admin):
    version = draft(policy, owner)
    client.force_login(school_admin)
    assert client.get(f"/policies/{policy.pk}/manage/").status_code == 403
    assert client.get(f"/policies/versions/{version.pk}/publish/").status_code == 403
    assert client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-20"}).status_code == 403
    assert PolicyVersion.objects.get(pk=version.pk).is_draft


def test_an_administrator_cannot_retire_through_the_page(client, now, policy, owner, school_admin):
    publish(policy, owner)
    client.force_login(school_admin)
    assert client.post(f"/policies/{policy.pk}/retire/").status_code == 403
    assert fresh(policy).retired_at is None


def test_the_owner_publishes_and_retires_through_the_pages(client, now, policy, owner):
    version = draft(policy, owner)
    client.force_login(owner)
    assert f"/policies/versions/{version.pk}/publish/" in client.get(f"/policies/{policy.pk}/manage/").content.decode()
    response = client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-20"})
    assert response.status_code == 302 and PolicyVersion.objects.get(pk=version.pk).status == VersionStatus.PUBLISHED
    assert f"/policies/{policy.pk}/retire/" in client.get(f"/policies/{policy.pk}/manage/").content.decode()
    assert client.get(f"/policies/{policy.pk}/retire/").status_code == 405
    assert client.post(f"/policies/{policy.pk}/retire/").status_code == 302
    assert fresh(policy).retired_at is not None


def test_a_trust_policy_owner_publishes_a_trust_policy_through_the_page(client, now, trust, trust_policy):
    version = draft(trust_policy, trust_policy.owner)
    client.force_login(member(trust, Role.POLICY_OWNER))
    assert client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-20"}).status_code == 302
    assert PolicyVersion.objects.get(pk=version.pk).status == VersionStatus.PUBLISHED


def test_a_trust_administrator_is_refused_the_trusts_publish_page(client, now, trust_policy, trust_admin):
    version = draft(trust_policy, trust_admin)
    client.force_login(trust_admin)
    assert client.get(f"/policies/{trust_policy.pk}/manage/").status_code == 403
    assert client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-20"}).status_code == 403
    assert PolicyVersion.objects.get(pk=version.pk).is_draft


def test_an_outsider_gets_404_for_the_publish_page(client, now, policy, owner, outsider):
    version = draft(policy, owner)
    client.force_login(outsider)
    assert client.get(f"/policies/versions/{version.pk}/publish/").status_code == 404
