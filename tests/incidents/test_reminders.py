import datetime as dt

import pytest
from django.core import mail

from core.models import OutboxMessage
from incidents import reminders
from incidents.models import Category
from tests.incidents.conftest import START, report, triaged
from tests.mailbox import deliver, inbox

pytestmark = pytest.mark.django_db


def stages(incident) -> set:
    """The stages written to the outbox for the incident (each stage's topic ends with its name)."""
    topics = OutboxMessage.objects.filter(topic__startswith=f"incidents.incident:{incident.pk}:")
    return {topic.rsplit(":", 1)[1] for topic in topics.values_list("topic", flat=True)}


def at(time_machine, hours: float):
    time_machine.move_to(START + dt.timedelta(hours=hours), tick=False)
    deliver()
    mail.outbox.clear()
    result = reminders.send_incident_reminders()
    deliver()
    return result


@pytest.fixture
def alerted(celery_eager, django_capture_on_commit_callbacks):
    """Runs the alert tasks enqueued on commit, as a worker would."""

    def _report(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return report(*args, **kwargs)

    return _report


def test_the_dsl_team_is_alerted_at_once_without_the_details(now, alerted, school, staff, dsl, deputy, slt):
    incident = alerted(school, staff, description="Sensitive words about a named parent.")
    assert len(inbox(dsl.email)) == 1 and len(inbox(deputy.email)) == 1 and not inbox(slt.email)
    message = inbox(dsl.email)[0]
    assert incident.reference in message.subject and "Sensitive words" not in message.body
    assert f"/incidents/{incident.pk}/" in message.body


def test_anyone_named_is_left_out_of_the_alert(now, alerted, school, staff, dsl, deputy):
    alerted(school, staff, Category.ABUSE_OF_STAFF, affected=[deputy])
    assert inbox(dsl.email) and not inbox(deputy.email)


def test_an_allegation_about_a_dsl_alerts_the_lead_instead(now, alerted, school, staff, dsl, deputy, head):
    alerted(school, staff, Category.STAFF_BREACH, subjects=[dsl])
    assert inbox(head.email) and not inbox(dsl.email) and not inbox(deputy.email)


@pytest.mark.parametrize(
    ("category", "told"),
    [
        (Category.OFFICIAL_ACCOUNT_COMMENT, True),  # 004 §4.7
        (Category.PUPIL_CONTACT, True),  # 004 §5.4
        (Category.PUPIL_COMMUNICATION, True),  # 004 §5.5
        (Category.ABUSE_OF_STAFF, False),
    ],
)
def test_the_online_safety_coordinator_is_told_where_the_seeds_say(
    now, alerted, school, staff, dsl, osc, category, told
):
    alerted(school, staff, category)
    assert bool(inbox(osc.email)) is told


def test_the_submission_alert_goes_once(now, alerted, school, staff, dsl):
    incident = alerted(school, staff)
    mail.outbox.clear()
    assert reminders.alert_new_incident(incident.pk) == 0
    assert mail.outbox == []


def test_untriaged_incidents_remind_the_dsl_at_20_hours_and_tell_slt_and_the_lead_at_24(
    now, time_machine, school, staff, dsl, slt, head
):
    incident = report(school, staff, Category.OTHER)  # not an unofficial account: SLT would be told of it at once
    assert at(time_machine, 19)[reminders.TRIAGE_DUE_SOON] == 0
    at(time_machine, 20)
    assert inbox(dsl.email) and not inbox(slt.email)
    assert sum(at(time_machine, 21).values()) == 0  # not again
    at(time_machine, 24)
    assert inbox(slt.email) and inbox(head.email) and inbox(dsl.email)
    assert "not triaged in time" in inbox(slt.email)[0].subject
    at(time_machine, 30)
    assert mail.outbox == []
    assert stages(incident) == {
        reminders.REPORTED,
        reminders.TRIAGE_DUE_SOON,
        reminders.TRIAGE_OVERDUE,
    }


def test_a_triaged_incident_is_not_reminded(now, time_machine, school, staff, dsl, slt):
    # Not abuse of staff: its support plan's tasks have reminders of their own (test_casework.py).
    triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    at(time_machine, 25)
    assert mail.outbox == []


def test_two_sweeps_at_once_send_each_reminder_once(now, time_machine, school, staff, dsl):
    report(school, staff)
    time_machine.move_to(START + dt.timedelta(hours=20), tick=False)
    first = reminders.send_incident_reminders()
    second = reminders.send_incident_reminders()
    assert first[reminders.TRIAGE_DUE_SOON] == 1 and second[reminders.TRIAGE_DUE_SOON] == 0
    assert len([m for m in inbox(dsl.email) if "still needs triage" in m.subject]) == 1


def test_a_critical_incident_alerts_at_once(
    now, celery_eager, django_capture_on_commit_callbacks, school, staff, dsl, head
):
    incident = report(school, staff)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        triaged(incident, dsl, severity="critical")
    assert inbox(head.email) and "Critical incident" in inbox(head.email)[0].subject
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        triaged(incident, dsl, severity="critical")  # triaged again: no second alert
    assert mail.outbox == []


def test_a_lado_referral_is_reminded_before_and_after_its_deadline(now, time_machine, school, staff, dsl, head):
    incident = triaged(report(school, staff, Category.STAFF_BREACH), dsl, lado_referral_needed=True)
    # Due Tuesday 17:00 (32 hours after triage on Monday 09:00).
    assert at(time_machine, 27)[reminders.LADO_DUE_SOON] == 0
    assert at(time_machine, 29)[reminders.LADO_DUE_SOON] == 1 and inbox(dsl.email)
    assert at(time_machine, 30)[reminders.LADO_DUE_SOON] == 0
    assert at(time_machine, 33)[reminders.LADO_OVERDUE] == 1 and inbox(head.email)
    assert sum(at(time_machine, 40).values()) == 0
    # (the reporter was told of the triage: incidents.notices)
    reminder_stages = {s for s in stages(incident) if not s.startswith("reporter-")}
    assert reminder_stages - {reminders.REPORTED} == {reminders.LADO_DUE_SOON, reminders.LADO_OVERDUE}


def test_a_recorded_lado_referral_stops_the_reminders(now, time_machine, school, staff, dsl):
    from incidents import services

    incident = triaged(report(school, staff, Category.STAFF_BREACH), dsl, lado_referral_needed=True)
    services.record_action(incident=incident, actor=dsl, kind="lado", happened_at=START, text="Referred by phone.")
    assert at(time_machine, 33)[reminders.LADO_OVERDUE] == 0


def test_with_no_dsl_in_the_school_the_trusts_dsl_team_is_told(now, time_machine, school, staff, trust_dsl):
    report(school, staff)
    at(time_machine, 20)
    assert inbox(trust_dsl.email)


def test_reminders_leave_out_named_people(now, time_machine, school, staff, dsl, deputy):
    report(school, staff, Category.ABUSE_OF_STAFF, affected=[deputy])
    at(time_machine, 20)
    assert inbox(dsl.email) and not inbox(deputy.email)


def test_a_safeguarding_category_is_not_named_to_people_who_cannot_open_the_case(
    now, time_machine, school, staff, dsl, slt, head
):
    report(school, staff, Category.NUDE_IMAGERY)
    at(time_machine, 24)
    (to_slt,) = inbox(slt.email)
    assert "Nude" not in to_slt.body and "Category:" not in to_slt.body


def test_the_dsl_team_is_told_the_category(now, time_machine, school, staff, dsl):
    report(school, staff, Category.UNOFFICIAL_ACCOUNT)
    at(time_machine, 20)
    assert "Category: Unofficial account" in inbox(dsl.email)[0].body
