"""Beside a new version's figure, how many had acknowledged the previous version (issue 14):
publishing version 2 starts its figure at 0%, which alone reads as if nobody had read the policy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from policies import compliance, services
from tests.factories import member
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


def by_policy(client, school):
    response = client.get(f"/organisations/{school.slug}/compliance/")
    return {version.policy.title: (version, figures) for version, figures in response.context["versions"]}, response


def test_the_dashboard_shows_how_many_had_acknowledged_the_previous_version(client, now, school, policy, owner, slt):
    team = [member(school, email=f"t{n}@school.example") for n in range(3)]
    first = publish(policy, owner)
    for person in team[:2]:
        services.acknowledge(user=person, version=first)
    second = publish(policy, owner, label="2", text="# Rules\n\nBe kinder online.")
    client.force_login(slt)
    rows, response = by_policy(client, school)
    version, figures = rows[policy.title]
    assert version.pk == second.pk and figures.acknowledged == 0 and figures.total == 5  # 3 staff, owner, SLT
    assert (version.previous_label, version.previous_acknowledged) == ("1", 2)
    assert "2 of 5 (40%) had acknowledged v1" in response.content.decode()


def test_a_first_version_has_no_previous_figure(client, now, school, policy, owner, slt):
    publish(policy, owner)
    client.force_login(slt)
    rows, response = by_policy(client, school)
    assert not hasattr(rows[policy.title][0], "previous_label")
    assert "had acknowledged v" not in response.content.decode()


def test_a_line_manager_sees_the_previous_figure_of_their_own_team_only(client, now, school, policy, owner):
    manager = member(school, Role.LINE_MANAGER)
    mine, other = member(school, line_manager=manager), member(school)
    first = publish(policy, owner)
    for person in (mine, other):
        services.acknowledge(user=person, version=first)
    publish(policy, owner, label="2", text="# Rules\n\nBe kinder online.")
    client.force_login(manager)
    rows, _ = by_policy(client, school)
    version, figures = rows[policy.title]
    assert figures.total == 1 and version.previous_acknowledged == 1


def test_the_previous_figures_take_the_same_few_queries_for_one_policy_or_three(now, school, policy, owner, slt):
    def republished(p):
        services.acknowledge(user=slt, version=publish(p, owner))
        publish(p, owner, label="2", text="# Rules\n\nBe kinder online.")

    def measured():
        _, versions, _ = compliance.dashboard(slt, school, "department")
        with CaptureQueriesContext(connection) as queries:
            compliance.add_previous_figures(slt, school, versions)
        return len(queries), versions

    republished(policy)
    one = measured()[0]
    assert one <= 3  # the earlier versions, the organisation's family, the counts
    for n in range(2):
        republished(services.create_policy(organisation=school, actor=owner, title=f"Policy {n}", owner=owner))
    count, versions = measured()
    assert count == one and len(versions) == 3
    assert all(version.previous_acknowledged == 1 for version, _ in versions)
