"""Deadlines the incident pages show come from the model and the reminders' hours, not the templates."""

import datetime as dt

import pytest

from incidents import views
from incidents.models import Status
from tests.incidents.conftest import START, report, triaged

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school):
    school.require_mfa = False
    school.save()


def test_the_reporter_is_told_the_deadline_the_reminders_keep(client, now, school, staff, monkeypatch):
    incident = report(school, staff)  # Monday 09:00: due Tuesday 09:00
    client.force_login(staff)
    assert (
        "by Tuesday 3 March, 09:00 (within 24 hours" in client.get(f"/incidents/mine/{incident.pk}/").content.decode()
    )
    assert "by Tuesday 3 March, 09:00" in client.get(f"/incidents/{incident.pk}/submitted/").content.decode()
    monkeypatch.setattr(views, "TRIAGE_CLOCK", "on the clock the reminders keep")
    assert "(on the clock the reminders keep)" in client.get(f"/incidents/mine/{incident.pk}/").content.decode()


def test_triage_shows_overdue_once_its_time_has_passed(client, now, school, staff, dsl):
    incident = report(school, staff)
    client.force_login(dsl)
    assert "<strong>Awaiting triage:</strong>" in client.get(f"/incidents/{incident.pk}/").content.decode()
    now.move_to(START + dt.timedelta(hours=25), tick=False)
    client.force_login(dsl)  # a new day's sign-in
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "<strong>Triage overdue</strong>" in page and "alert-danger" in page
    assert "overdue by" in client.get(f"/organisations/{school.slug}/incidents/").content.decode()


def test_a_lado_referral_is_late_only_while_unrecorded_past_its_time(now, school, staff, dsl):
    incident = report(school, staff)
    assert not incident.lado_referral_is_late()
    incident.lado_due_at = START + dt.timedelta(hours=2)
    assert not incident.lado_referral_is_late()
    assert incident.lado_referral_is_late(START + dt.timedelta(hours=3))
    incident.lado_referred_at = START + dt.timedelta(hours=1)
    assert not incident.lado_referral_is_late(START + dt.timedelta(hours=3))


def test_evidence_is_taken_and_reopening_offered_as_the_services_allow(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    assert incident.accepts_evidence and not incident.can_be_reopened
    incident.status = Status.CLOSED
    assert not incident.accepts_evidence and incident.can_be_reopened
    incident.destroyed_at = START
    assert not incident.can_be_reopened
