"""A response-log item escalated to an incident in one step, prefilled and linked (seed 004 §4.7)."""

import datetime as dt

import pytest

from approvals import responses
from approvals.models import ItemKind
from incidents.models import Category, Incident
from tests.approvals.conftest import START
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, outside_school):
    for org in (school, trust, outside_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def item(account, runner):
    logged, _ = responses.log_item(
        account=account,
        actor=runner,
        kind=ItemKind.COMMENT,
        received_at=START - dt.timedelta(hours=1),
        summary="An abusive reply naming a teacher.",
        link="https://social.example/oak/post/9",
    )
    return logged


def test_the_team_escalates_an_item_to_a_prefilled_linked_incident(client, school, account, item, runner, dsl):
    client.force_login(runner)
    log = client.get(f"/approvals/accounts/{account.pk}/log/").content.decode()
    url = f"/incidents/report/?org={school.slug}&amp;from_item={item.pk}"
    assert url in log
    response = client.get(url.replace("&amp;", "&"))
    form = response.context["form"]
    assert form.initial["category"] == Category.OFFICIAL_ACCOUNT_COMMENT
    assert form.initial["official_account"] == account.pk
    assert form.initial["location"] == "https://social.example/oak/post/9"
    assert "An abusive reply naming a teacher." in form.initial["description"]
    data = {
        "category": Category.OFFICIAL_ACCOUNT_COMMENT,
        "platform": "facebook",
        "occurred_at": form.initial["occurred_at"],
        "location": form.initial["location"],
        "description": form.initial["description"],
        "official_account": account.pk,
        "evidence-TOTAL_FORMS": "0",
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "10",
    }
    response = client.post(url.replace("&amp;", "&"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get()
    assert (incident.official_account, incident.response_item) == (account, item)
    assert f"Escalated: {incident.reference}" in client.get(f"/approvals/accounts/{account.pk}/log/").content.decode()
    # twice is refused, and changes nothing
    client.post(url.replace("&amp;", "&"), data)
    assert Incident.objects.count() == 1


def test_people_outside_the_accounts_team_cannot_escalate_its_items(client, school, item, staff):
    client.force_login(staff)
    assert client.get(f"/incidents/report/?org={school.slug}&from_item={item.pk}").status_code == 404


def test_an_incident_can_name_an_official_account_without_a_log_item(client, school, account, staff):
    client.force_login(staff)
    response = client.get(f"/incidents/report/?org={school.slug}")
    assert account in response.context["form"].fields["official_account"].queryset


def test_abuse_on_an_official_account_tells_the_online_safety_coordinator(
    school, account, staff, dsl, celery_eager, django_capture_on_commit_callbacks
):

    from incidents.services import report_incident
    from tests.factories import member

    coordinator = member(school, "online_safety", email="osc@school.example")
    with django_capture_on_commit_callbacks(execute=True):
        report_incident(
            organisation=school,
            reporter=staff,
            category=Category.ABUSE_OF_STAFF,
            occurred_at=START - dt.timedelta(hours=2),
            description="Abusive replies under our post.",
            official_account=account,
        )
    assert any(coordinator.email in m.to for m in deliver())
