"""One clock: a report's triage deadline follows ``core.workingdays.response_due`` (seed 001 §5; DESIGN.md
"Response log" and "Incident reporting"), and the pages, the emails and the reminders all keep it.

Dates checked against ``holidays.UK(subdiv=...)``: Friday 27 November 2026 is a working day everywhere;
Monday 30 November 2026 is St Andrew's Day, a bank holiday in Scotland only; Friday 2 January 2026 is
Scotland's New Year Holiday. London is on GMT (= UTC) in all of them.
"""

import datetime as dt

import pytest
from django.core import mail

from accounts.models import Nation, Role
from core.workingdays import response_due
from incidents import reminders
from incidents.models import Category
from tests.factories import OrganisationFactory, member
from tests.incidents.conftest import report
from tests.mailbox import deliver, inbox

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def scottish_school(trust):
    return OrganisationFactory(name="Thistle Academy", slug="thistle", parent=trust, nation=Nation.SCOTLAND)


def reported_at(time_machine, when, organisation, reporter, **fields):
    time_machine.move_to(when, tick=False)
    fields.setdefault("occurred_at", when - dt.timedelta(hours=1))
    return report(organisation, reporter, Category.UNOFFICIAL_ACCOUNT, **fields)


def test_a_report_on_a_friday_evening_is_due_24_hours_later(time_machine, school, staff, dsl):
    # Friday is a working day: 24 elapsed hours, as the response log's clock.
    incident = reported_at(time_machine, dt.datetime(2026, 11, 27, 19, 0, tzinfo=UTC), school, staff)
    assert incident.triage_due_at == dt.datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
    assert incident.triage_due_at == response_due(incident.reported_at, school)


def test_a_report_on_a_saturday_is_due_at_closing_time_on_monday(time_machine, school, staff, dsl):
    incident = reported_at(time_machine, dt.datetime(2026, 11, 28, 10, 0, tzinfo=UTC), school, staff)
    assert incident.triage_due_at == dt.datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "england", "scotland"),
    [
        # Sunday before St Andrew's Day: Monday's close in England, Tuesday's in Scotland.
        (dt.datetime(2026, 11, 29, 10, 0), dt.datetime(2026, 11, 30, 17, 0), dt.datetime(2026, 12, 1, 17, 0)),
        # On St Andrew's Day itself: a working day in England (24 hours), not in Scotland.
        (dt.datetime(2026, 11, 30, 10, 0), dt.datetime(2026, 12, 1, 10, 0), dt.datetime(2026, 12, 1, 17, 0)),
        # Scotland's New Year Holiday, a Friday: Saturday morning in England, Monday's close in Scotland.
        (dt.datetime(2026, 1, 2, 9, 0), dt.datetime(2026, 1, 3, 9, 0), dt.datetime(2026, 1, 5, 17, 0)),
    ],
)
def test_a_bank_holiday_counts_by_the_organisations_nation(
    time_machine, school, scottish_school, staff, when, england, scotland
):
    scot = member(scottish_school, email="teacher@thistle.example")
    in_england = reported_at(time_machine, when.replace(tzinfo=UTC), school, staff)
    in_scotland = reported_at(time_machine, when.replace(tzinfo=UTC), scottish_school, scot)
    assert in_england.triage_due_at == england.replace(tzinfo=UTC)
    assert in_scotland.triage_due_at == scotland.replace(tzinfo=UTC)


def sweep(time_machine, when):
    time_machine.move_to(when, tick=False)
    deliver()
    mail.outbox.clear()
    sent = reminders.send_incident_reminders()
    deliver()
    return sent


def test_the_reminders_follow_the_deadline_across_a_scottish_bank_holiday(time_machine, scottish_school):
    reporter = member(scottish_school, email="teacher@thistle.example")
    dsl = member(scottish_school, Role.DSL, email="dsl@thistle.example")
    head = member(scottish_school, Role.LEAD, email="head@thistle.example")
    # Sunday 29 November: due at 17:00 on Tuesday 1 December (Monday is St Andrew's Day).
    reported_at(time_machine, dt.datetime(2026, 11, 29, 10, 0, tzinfo=UTC), scottish_school, reporter)
    deliver()
    # 20 hours after the report is no longer the moment: the deadline is a day and a half later.
    assert sum(sweep(time_machine, dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)).values()) == 0
    assert sum(sweep(time_machine, dt.datetime(2026, 12, 1, 12, 59, tzinfo=UTC)).values()) == 0
    # Four hours before the deadline: the DSL team, once.
    assert sweep(time_machine, dt.datetime(2026, 12, 1, 13, 0, tzinfo=UTC))[reminders.TRIAGE_DUE_SOON] == 1
    (soon,) = inbox(dsl.email)
    assert "still needs triage" in soon.subject and "Tuesday 1 December 2026, 17:00" in soon.body
    assert not inbox(head.email)
    assert sum(sweep(time_machine, dt.datetime(2026, 12, 1, 16, 59, tzinfo=UTC)).values()) == 0
    # At the deadline: the lead (and the DSL team), once.
    assert sweep(time_machine, dt.datetime(2026, 12, 1, 17, 0, tzinfo=UTC))[reminders.TRIAGE_OVERDUE] == 1
    assert "not triaged in time" in inbox(head.email)[0].subject
    assert sum(sweep(time_machine, dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)).values()) == 0


def test_a_friday_evening_report_is_reminded_on_saturday_afternoon(time_machine, school, staff, dsl):
    reported_at(time_machine, dt.datetime(2026, 11, 27, 19, 0, tzinfo=UTC), school, staff)
    assert sweep(time_machine, dt.datetime(2026, 11, 28, 14, 59, tzinfo=UTC))[reminders.TRIAGE_DUE_SOON] == 0
    assert sweep(time_machine, dt.datetime(2026, 11, 28, 15, 0, tzinfo=UTC))[reminders.TRIAGE_DUE_SOON] == 1
    assert sweep(time_machine, dt.datetime(2026, 11, 28, 19, 0, tzinfo=UTC))[reminders.TRIAGE_OVERDUE] == 1


def test_the_alert_the_pages_and_the_public_page_give_the_same_deadline(
    time_machine, client, celery_eager, django_capture_on_commit_callbacks, school, staff, dsl
):
    school.require_mfa = False
    school.save()
    with django_capture_on_commit_callbacks(execute=True):
        incident = reported_at(time_machine, dt.datetime(2026, 11, 28, 10, 0, tzinfo=UTC), school, staff)
    deliver()
    # Due Monday 30 November at 17:00 (reported on a Saturday).
    assert "Due by: Monday 30 November 2026, 17:00" in inbox(dsl.email)[0].body
    client.force_login(staff)
    for page in (f"/incidents/{incident.pk}/submitted/", f"/incidents/mine/{incident.pk}/"):
        text = client.get(page).content.decode()
        assert "Monday 30 November, 17:00" in text and reminders.TRIAGE_CLOCK in text
    client.force_login(dsl)
    assert "due Mon 30 Nov, 17:00" in client.get(f"/incidents/{incident.pk}/").content.decode()
    client.logout()
    thanks = client.get(f"/report/{school.slug}/thanks/").content.decode()
    assert reminders.TRIAGE_CLOCK in thanks and "one working day" not in thanks
