"""Safe defaults: the triage form chooses nothing for the DSL, and a triage without a choice changes nothing."""

import re

import pytest

from core.models import AuditEntry
from incidents.models import Category, Incident, IncidentAction, Status
from tests.incidents.conftest import report, triaged

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school):
    school.require_mfa = False
    school.save()


def checked(page: str, name: str) -> list[str]:
    """The values of the radio buttons called ``name`` that are checked on the page."""
    inputs = re.findall(rf"<input[^>]*name=\"{name}\"[^>]*>", page)
    assert inputs, f"no {name} field on the page"
    return [re.search(r'value="([^"]*)"', tag)[1] for tag in inputs if re.search(r"\bchecked\b", tag)]


@pytest.mark.parametrize("category", [Category.ABUSE_OF_STAFF, Category.PUPIL_CONTACT])
def test_the_safeguarding_question_has_no_answer_before_the_first_triage(client, now, school, staff, dsl, category):
    incident = report(school, staff, category)
    client.force_login(dsl)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert checked(page, "is_safeguarding") == [] and checked(page, "severity") == []


def test_a_triage_without_a_safeguarding_answer_is_refused_and_changes_nothing(client, now, school, staff, dsl):
    incident = report(school, staff, Category.ABUSE_OF_STAFF)
    client.force_login(dsl)
    response = client.post(
        f"/incidents/{incident.pk}/triage/",
        {"severity": "low", "assignee": dsl.pk, "first_assessment": "Pressed Enter without choosing."},
    )
    assert response.status_code == 400
    assert "Select whether this is a safeguarding matter" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.NEW and incident.severity == "" and incident.triaged_at is None
    assert not IncidentAction.objects.filter(incident=incident).exists()
    assert not AuditEntry.objects.filter(action="incident.triaged").exists()


def test_once_triaged_the_form_shows_the_answer_on_record(client, now, school, staff, dsl):
    incident = triaged(report(school, staff, Category.PUPIL_CONTACT), dsl, safeguarding=True)
    client.force_login(dsl)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert checked(page, "is_safeguarding") == ["yes"]
    assert Incident.objects.get().is_safeguarding
