"""Nobody named in a report hears of it, whatever the case goes through (seed 002 §7; the issue's "never
anyone named in the report"): a named member of the DSL team and a named colleague, followed through
every message a case can send, from the submission alert to the closure."""

import datetime as dt

import pytest
from django.core import mail

from incidents import casework, reminders, services
from incidents.models import Category
from tests.incidents.conftest import START, report
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db


def test_people_named_in_a_report_are_sent_nothing_through_the_whole_life_of_the_case(
    now, celery_eager, django_capture_on_commit_callbacks, school, staff, dsl, deputy, head, slt, colleague
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(school, staff, Category.PUPIL_CONTACT, subjects=[deputy], affected=[colleague])
    with django_capture_on_commit_callbacks(execute=True):
        services.triage(  # an allegation about a member of the DSL team goes to the organisation lead
            incident=incident,
            actor=head,
            severity="critical",
            is_safeguarding=True,
            assignee=head,
            first_assessment="Possible breach by a member of staff; LADO threshold met.",
            lado_referral_needed=True,
        )
    with django_capture_on_commit_callbacks(execute=True):
        casework.add_task(
            incident=incident, actor=head, kind="note", title="Save the messages", owner=slt, due_on=dt.date(2026, 3, 4)
        )
    swept = {}
    for hours in (1, 20, 24, 30, 33, 40, 47, 50, 60, 70, 80):  # before, on and after each deadline
        now.move_to(START + dt.timedelta(hours=hours), tick=False)
        for stage, count in reminders.send_incident_reminders().items():
            swept[stage] = swept.get(stage, 0) + count
    with django_capture_on_commit_callbacks(execute=True):
        services.move_status(incident=incident, actor=head, to="in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        casework.finish_task(task=incident.tasks.get(), actor=slt, done=True, note="Saved to the case.")
    with django_capture_on_commit_callbacks(execute=True):
        services.close_incident(
            incident=incident, actor=head, outcome="external", reason="Passed to the LADO, who leads it now."
        )
    deliver()

    recipients = {address for m in mail.outbox for address in m.to}
    # The case did send: the lead was told and reminded, the task's owner and the reporter too.
    assert {head.email, slt.email, staff.email} <= recipients
    assert swept[reminders.LADO_DUE_SOON] and swept[reminders.LADO_OVERDUE]
    assert swept[reminders.TASK_DUE_TODAY] and swept[reminders.TASK_OVERDUE]
    # The named member of the DSL team and the named colleague were sent nothing at all.
    assert deputy.email not in recipients and colleague.email not in recipients


def test_a_named_senior_leader_hears_nothing_of_an_untriaged_case_its_critical_alert_or_its_closure(
    now, celery_eager, django_capture_on_commit_callbacks, school, staff, dsl, deputy, head, slt
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(school, staff, Category.OTHER, affected=[slt])
    swept = {}
    for hours in (20, 24, 30):  # triage due soon, then overdue: the DSL team, then SLT and the lead too
        now.move_to(START + dt.timedelta(hours=hours), tick=False)
        for stage, count in reminders.send_incident_reminders().items():
            swept[stage] = swept.get(stage, 0) + count
    with django_capture_on_commit_callbacks(execute=True):
        services.triage(
            incident=incident,
            actor=dsl,
            severity="critical",
            is_safeguarding=False,
            assignee=deputy,
            first_assessment="Threats against a senior leader: act now.",
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.close_incident(incident=incident, actor=deputy, outcome="resolved", reason="Resolved.")
    deliver()

    recipients = {address for m in mail.outbox for address in m.to}
    assert swept[reminders.TRIAGE_DUE_SOON] and swept[reminders.TRIAGE_OVERDUE]
    assert {dsl.email, deputy.email, head.email, staff.email} <= recipients
    assert slt.email not in recipients
