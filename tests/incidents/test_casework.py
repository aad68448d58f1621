"""Tasks, the support plan for online abuse of staff (seed 002 §7.1, App. 1), takedowns (004 §4.1) and
who is told (never a person named in the report)."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from accounts.models import Role
from core.models import OutboxMessage
from incidents import casework, reminders, services
from incidents.models import ActionKind, Category, Incident, IncidentTask, Status, TaskStatus
from incidents.services import IncidentError
from tests.factories import member
from tests.incidents.conftest import START, report, triaged
from tests.mailbox import deliver, inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(school):
    return member(school, Role.LINE_MANAGER, email="manager@school.example")


@pytest.fixture
def teacher(school, manager):
    return member(school, email="teacher@school.example", line_manager=manager)


def at(time_machine, when: dt.datetime) -> dict:
    time_machine.move_to(when, tick=False)
    deliver()
    mail.outbox.clear()
    sent = reminders.send_incident_reminders()
    deliver()
    return sent


def abuse(school, teacher, **fields):
    return report(school, teacher, Category.ABUSE_OF_STAFF, **fields)


# The support plan and who is told at report
# ------------------------------------------------------------------------------


def test_abuse_of_staff_opens_the_support_plan_and_tells_the_line_manager_and_the_lead_at_once(
    now, celery_eager, school, teacher, manager, head, dsl
):
    incident = abuse(school, teacher, description="The words of the post, about Mr X.")
    steps = {t.plan_step: t for t in incident.tasks.all()}
    assert set(steps) == {"support", "evidence", "procedures", "meeting", "removal", "platform", "advice", "police"}
    assert steps["support"].owner == manager and steps["meeting"].owner == head
    # Due dates in working days (Monday 2 March 2026, 09:00): one working day is Tuesday at closing time.
    assert steps["support"].due_at == dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    assert steps["advice"].due_at == dt.datetime(2026, 3, 16, 17, 0, tzinfo=dt.UTC)
    to_manager, to_head = inbox(manager.email), inbox(head.email)
    assert len(to_manager) == 1 and len(to_head) == 1 and inbox(dsl.email)
    assert "reported online abuse" in to_manager[0].subject and "Mr X" not in to_manager[0].body
    assert f"/incidents/tasks/{steps['support'].pk}/" in to_manager[0].body
    assert not inbox(teacher.email)


def test_a_named_line_manager_or_lead_is_never_told(now, celery_eager, school, teacher, manager, head, dsl):
    incident = abuse(school, teacher, subjects=[manager, head])
    assert not inbox(manager.email) and not inbox(head.email) and inbox(dsl.email)
    # Nor do they own the plan's steps: the DSL team does, as nobody else is left to.
    assert {t.owner for t in incident.tasks.all()} == {dsl}


def test_the_victim_named_as_affected_is_supported_and_never_told(
    now, celery_eager, school, staff, teacher, manager, head
):
    incident = abuse(school, staff, affected=[teacher])
    assert incident.tasks.filter(plan_step="support", owner=manager, supports=teacher).exists()
    assert inbox(manager.email) and not inbox(teacher.email)


def test_another_category_has_no_support_plan(now, school, teacher):
    assert not report(school, teacher, Category.UNOFFICIAL_ACCOUNT).tasks.exists()


# Closure needs every task settled
# ------------------------------------------------------------------------------


def _settle(incident, actor):
    for task in incident.tasks.filter(status=TaskStatus.OPEN):
        casework.finish_task(task=task, actor=actor, done=False, note="Not needed here.")


def test_a_case_closes_only_when_each_task_is_done_or_set_aside_with_a_reason(now, school, teacher, dsl):
    incident = triaged(abuse(school, teacher), dsl)
    with pytest.raises(IncidentError, match="8 tasks are still open"):
        services.close_incident(incident=incident, actor=dsl, outcome="resolved")
    assert Incident.objects.get(pk=incident.pk).status == Status.TRIAGED
    first = incident.tasks.first()
    with pytest.raises(IncidentError, match="Say why"):
        casework.finish_task(task=first, actor=dsl, done=False, note="  ")
    assert IncidentTask.objects.get(pk=first.pk).status == TaskStatus.OPEN
    _settle(incident, dsl)
    closed = services.close_incident(incident=incident, actor=dsl, outcome="resolved")
    assert closed.status == Status.CLOSED


def test_the_database_refuses_closing_with_an_open_task_whatever_the_path(now, school, teacher, dsl):
    incident = triaged(abuse(school, teacher), dsl)
    with pytest.raises(IntegrityError, match="open tasks"), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(status=Status.CLOSED, outcome="resolved")
    with pytest.raises(IntegrityError), transaction.atomic():  # "not needed" always says why
        IncidentTask.objects.filter(pk=incident.tasks.first().pk).update(
            status=TaskStatus.NOT_NEEDED, note="", closed_at=START
        )


def test_no_action_always_records_why_in_the_database_too(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(
            status=Status.CLOSED, outcome="no_further_action", outcome_reason=""
        )
    assert connection.is_usable()


# Reminders: once each, through the outbox
# ------------------------------------------------------------------------------


def test_task_reminders_go_before_and_on_the_due_date_to_the_owner_and_overdue_to_the_dsl_team_once_each(
    now, time_machine, school, staff, dsl, deputy, colleague
):
    incident = triaged(report(school, staff), dsl)
    # Due Thursday 5 March 2026 at closing time (17:00 London).
    task = casework.add_task(
        incident=incident,
        actor=dsl,
        kind="meeting",
        title="Meet the parent",
        owner=colleague,
        due_on=dt.date(2026, 3, 5),
    )
    assert len(inbox(colleague.email)) == 1  # told on assignment
    assert sum(at(time_machine, dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC)).values()) == 0  # Tuesday: too early
    sent = at(time_machine, dt.datetime(2026, 3, 4, 8, tzinfo=dt.UTC))  # Wednesday, the working day before
    assert sent[reminders.TASK_DUE_SOON] == 1 and len(inbox(colleague.email)) == 1
    assert sum(at(time_machine, dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC)).values()) == 0  # not again
    sent = at(time_machine, dt.datetime(2026, 3, 5, 7, 30, tzinfo=dt.UTC))  # Thursday morning
    assert sent[reminders.TASK_DUE_TODAY] == 1 and "due today" in inbox(colleague.email)[0].subject
    assert not inbox(dsl.email)
    sent = at(time_machine, dt.datetime(2026, 3, 5, 17, 15, tzinfo=dt.UTC))  # past closing time
    assert sent[reminders.TASK_OVERDUE] == 1 and inbox(dsl.email) and inbox(deputy.email)
    assert not inbox(colleague.email) and "Meet the parent" not in inbox(dsl.email)[0].body
    assert sum(at(time_machine, dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)).values()) == 0
    topics = set(
        OutboxMessage.objects.filter(topic__startswith=f"incidents.task:{task.pk}:").values_list("topic", flat=True)
    )
    assert len(topics) == 4  # assigned, before, on the day, overdue


def test_two_sweeps_at_once_write_each_task_reminder_once(now, time_machine, school, staff, dsl, colleague):
    incident = triaged(report(school, staff), dsl)
    casework.add_task(
        incident=incident, actor=dsl, kind="note", title="Check back", owner=colleague, due_on=dt.date(2026, 3, 2)
    )
    time_machine.move_to(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), tick=False)
    assert reminders.send_incident_reminders()[reminders.TASK_DUE_TODAY] == 1
    assert reminders.send_incident_reminders()[reminders.TASK_DUE_TODAY] == 0


def test_a_finished_task_is_not_reminded(now, time_machine, school, staff, dsl, colleague):
    incident = triaged(report(school, staff), dsl)
    task = casework.add_task(
        incident=incident, actor=dsl, kind="note", title="Check back", owner=colleague, due_on=dt.date(2026, 3, 3)
    )
    casework.finish_task(task=task, actor=colleague, done=True)
    assert sum(at(time_machine, dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)).values()) == 0


def test_a_due_date_must_be_a_working_day_ahead(now, school, staff, dsl, colleague):
    incident = triaged(report(school, staff), dsl)
    for day, message in ((dt.date(2026, 3, 7), "not a working day"), (dt.date(2026, 3, 1), "has passed")):
        with pytest.raises(IncidentError, match=message):
            casework.add_task(incident=incident, actor=dsl, kind="note", title="x", owner=colleague, due_on=day)
    assert not incident.tasks.exists()


# Who may work a task
# ------------------------------------------------------------------------------


def test_an_owner_off_the_case_works_their_own_task_and_nothing_else(now, school, teacher, manager, dsl, colleague):
    incident = abuse(school, teacher)
    support = incident.tasks.get(plan_step="support")
    police = incident.tasks.get(plan_step="police")
    with pytest.raises(PermissionDenied):
        casework.finish_task(task=police, actor=manager, done=True)
    with pytest.raises(PermissionDenied):
        casework.finish_task(task=support, actor=colleague, done=True)
    with pytest.raises(PermissionDenied):
        casework.reassign_task(task=support, actor=manager, owner=colleague)
    done = casework.finish_task(task=support, actor=manager, done=True, note="Support accepted.")
    assert done.status == TaskStatus.DONE


def test_a_named_person_cannot_own_a_task(now, school, staff, dsl, colleague):
    incident = triaged(report(school, staff, affected=[colleague]), dsl)
    with pytest.raises(IncidentError, match="not anyone named"):
        casework.add_task(
            incident=incident, actor=dsl, kind="note", title="x", owner=colleague, due_on=dt.date(2026, 3, 3)
        )


# The reporter and the assignee are told
# ------------------------------------------------------------------------------


def test_the_reporter_hears_of_each_status_change_and_the_outcome_in_plain_words(
    now, celery_eager, school, teacher, dsl, slt
):
    incident = abuse(school, teacher)
    mail.outbox.clear()
    triaged(incident, dsl, assignee=slt)
    assert "being looked into" in inbox(teacher.email)[0].subject.lower() and len(inbox(slt.email)) == 1
    _settle(incident, dsl)  # the first task finished moves it to in progress: the same to the reporter
    assert len(inbox(teacher.email)) == 1
    services.close_incident(incident=incident, actor=dsl, outcome="content_removed")
    told = inbox(teacher.email)
    assert len(told) == 2  # the public reporter's words (incidents.reporters): received, being looked into, closed
    assert "is closed" in told[-1].subject and "The account or content you reported has been removed." in told[-1].body
    assert "Not needed here" not in told[-1].body


def test_a_reporter_named_in_their_own_report_is_not_told(now, celery_eager, school, staff, dsl):
    incident = report(school, staff, affected=[staff])
    mail.outbox.clear()
    triaged(incident, dsl)
    assert not inbox(staff.email)


# Takedowns
# ------------------------------------------------------------------------------


def test_a_takedown_sets_a_48_hour_follow_up_and_removal_settles_it(now, school, staff, dsl):
    incident = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    reported = START - dt.timedelta(hours=2)
    takedown = casework.record_takedown(
        incident=incident,
        actor=dsl,
        platform="instagram",
        target="@oak_fake",
        reported_at=reported,
        how_reported="report_tool",
        platform_reference="IG-1",
    )
    follow_up = takedown.follow_up
    assert follow_up.due_at == reported + dt.timedelta(hours=48) and follow_up.owner == dsl
    assert "Professionals Online Safety Helpline" in follow_up.title
    with pytest.raises(IncidentError, match="before it was reported"):
        casework.record_removal(takedown=takedown, actor=dsl, removed_at=reported - dt.timedelta(hours=1))
    casework.record_removal(takedown=takedown, actor=dsl, removed_at=START - dt.timedelta(minutes=30))
    follow_up.refresh_from_db()
    assert follow_up.status == TaskStatus.DONE
    # The chronology reads as it happened: reported to the platform, then removed by it (its own entry).
    kinds = list(incident.actions.filter(kind__startswith="platform").values_list("kind", flat=True))
    assert kinds == [ActionKind.PLATFORM_REPORT, ActionKind.PLATFORM_REMOVED]
    from incidents.queries import takedown_figures

    figures = takedown_figures(Incident.objects.all(), START)
    assert figures["median_hours"] == 1.5 and figures["awaiting"] == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_sweep_through_a_real_worker_twice_writes_each_task_reminder_once(
    now, time_machine, school, staff, dsl, colleague, django_db_blocker
):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from incidents.tasks import send_incident_reminders
    from policyportal.celery import app as celery_app
    from tests.core.test_celery import wait_for

    incident = triaged(report(school, staff), dsl)
    task = casework.add_task(
        incident=incident, actor=dsl, kind="note", title="Check back", owner=colleague, due_on=dt.date(2026, 3, 2)
    )
    time_machine.move_to(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), tick=False)
    celery_app.control.purge()
    finished = {}

    def record(task_id=None, retval=None, **kwargs):
        finished[task_id] = retval

    task_postrun.connect(record, weak=False)
    try:
        with django_db_blocker.unblock(), start_worker(celery_app, perform_ping_check=False, loglevel="WARNING"):
            first, second = send_incident_reminders.delay(), send_incident_reminders.delay()
            assert wait_for(lambda: first.id in finished and second.id in finished), "the sweeps did not run"
    finally:
        task_postrun.disconnect(record)
    assert finished[first.id][reminders.TASK_DUE_TODAY] + finished[second.id][reminders.TASK_DUE_TODAY] == 1
    today = OutboxMessage.objects.filter(topic=reminders.task_topic(task, reminders.TASK_DUE_TODAY))
    assert today.count() == 1
    assert len([m for m in inbox(colleague.email) if "due today" in m.subject]) == 1


def test_a_double_click_sets_one_task_and_tells_its_owner_once(now, celery_eager, school, staff, dsl, colleague):
    incident = triaged(report(school, staff), dsl)
    mail.outbox.clear()
    fields = dict(
        incident=incident, actor=dsl, kind="note", title="Check back", owner=colleague, due_on=dt.date(2026, 3, 3)
    )
    first, second = casework.add_task(**fields), casework.add_task(**fields)
    assert first.pk == second.pk and incident.tasks.count() == 1
    assert len(inbox(colleague.email)) == 1
    assert incident.actions.filter(text__startswith="Task set").count() == 1


def test_a_double_click_records_one_takedown_with_one_follow_up(now, school, staff, dsl):
    incident = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    fields = dict(
        incident=incident,
        actor=dsl,
        platform="instagram",
        target="@oak_fake",
        reported_at=START - dt.timedelta(hours=2),
        how_reported="report_tool",
    )
    first, second = casework.record_takedown(**fields), casework.record_takedown(**fields)
    assert first.pk == second.pk and incident.takedowns.count() == 1
    assert incident.tasks.filter(kind="platform_report").count() == 1
