import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection

from accounts.models import Role, today
from core.models import OutboxMessage
from policies import reminders, services
from policies.models import AcknowledgementRequest
from tests.factories import member
from tests.mailbox import RefusingBackend, deliver, inbox
from tests.policies.conftest import START, publish

pytestmark = pytest.mark.django_db


def day(n: int) -> dt.datetime:
    """Day n after publication on Monday 2 March 2026 (the ``now`` fixture's moment)."""
    return START + dt.timedelta(days=n)


def sweep(time_machine, n: int, **kwargs):
    time_machine.move_to(day(n), tick=False)
    deliver()
    mail.outbox.clear()
    result = reminders.send_acknowledgement_reminders(**kwargs)
    deliver()
    return result


@pytest.fixture
def team(school, owner):
    manager = member(school, Role.LINE_MANAGER, email="manager@school.example")
    teacher = member(school, email="teacher@school.example", line_manager=manager)
    return manager, teacher


def test_each_person_gets_one_digest_listing_every_policy(now, school, policy, owner, team):
    _, teacher = team
    publish(policy, owner)
    second = services.create_policy(organisation=school, actor=owner, title="Acceptable Use Policy", owner=owner)
    publish(second, owner)
    result = reminders.send_acknowledgement_reminders()
    messages = inbox(teacher.email)
    assert len(messages) == 1
    assert "Social Media Policy" in messages[0].body and "Acceptable Use Policy" in messages[0].body
    assert messages[0].subject == "2 policies to read and acknowledge"
    assert result["staff"] == AcknowledgementRequest.objects.values("user").distinct().count()


def test_a_second_sweep_sends_nothing(now, policy, owner, team):
    publish(policy, owner)
    reminders.send_acknowledgement_reminders()
    mail.outbox.clear()
    assert reminders.send_acknowledgement_reminders() == {"staff": 0, "managers": 0}
    assert mail.outbox == []


def test_reminders_follow_the_timetable_and_escalate_to_the_line_manager(now, time_machine, policy, owner, team):
    manager, teacher = team
    time_machine.move_to(day(0), tick=False)
    version = publish(policy, owner)
    assert version.due_date == dt.date(2026, 3, 16)  # day 14
    services.acknowledge(user=manager, version=version)
    services.acknowledge(user=owner, version=version)
    timetable = {}
    for n in range(0, 36):
        sweep(time_machine, n)
        timetable[n] = (len(inbox(teacher.email)), len(inbox(manager.email)))
    sent_on = {n: counts for n, counts in timetable.items() if counts != (0, 0)}
    # published, 3 days before, due date, then weekly while overdue; the manager once, after 7 days overdue
    assert sent_on == {0: (1, 0), 11: (1, 0), 14: (1, 0), 21: (1, 1), 28: (1, 0), 35: (1, 0)}


def test_the_manager_email_names_the_late_member_of_staff(now, time_machine, policy, owner, team):
    manager, teacher = team
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)
    sweep(time_machine, 21)
    (message,) = [m for m in inbox(manager.email) if m.subject == "Your team: policies overdue for acknowledgement"]
    assert teacher.full_name in message.body and "Social Media Policy" in message.body


def test_the_manager_reads_one_line_per_late_person(now, time_machine, school, policy, owner, team):
    manager, teacher = team
    other = member(school, email="other@school.example", line_manager=manager)
    second = services.create_policy(organisation=school, actor=owner, title="Acceptable Use Policy", owner=owner)
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)
    services.acknowledge(user=other, version=publish(second, owner))
    sweep(time_machine, 21)
    (message,) = [m for m in inbox(manager.email) if m.subject.startswith("Your team")]
    lines = [line for line in message.body.splitlines() if line.startswith("- ")]
    assert lines == [
        f"- {name}: {n}, due since 16 March 2026: {policies}"
        for _, name, n, policies in sorted(
            [
                (
                    (teacher.last_name, teacher.first_name),
                    teacher.full_name,
                    "2 policies",
                    "Acceptable Use Policy (version 1); Social Media Policy (version 1)",
                ),
                ((other.last_name, other.first_name), other.full_name, "1 policy", "Social Media Policy (version 1)"),
            ]
        )
    ]


def test_missed_sweeps_catch_up_with_one_email(now, time_machine, policy, owner, team):
    _, teacher = team
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)
    sweep(time_machine, 0)
    assert len(inbox(teacher.email)) == 1
    sweep(time_machine, 24)  # nobody ran the sweep for three weeks
    assert len(inbox(teacher.email)) == 1 and "OVERDUE" in inbox(teacher.email)[0].body
    sweep(time_machine, 25)
    assert inbox(teacher.email) == []
    assert sweep(time_machine, 28)["staff"] >= 1


def test_people_who_acknowledged_or_left_get_nothing(now, time_machine, school, policy, owner, team):
    _, teacher = team
    leaver = member(school, leaving_date=dt.date(2026, 3, 1))
    time_machine.move_to(day(0), tick=False)
    version = publish(policy, owner)
    services.acknowledge(user=teacher, version=version)
    sweep(time_machine, 0)
    assert inbox(teacher.email) == [] and inbox(leaver.email) == []


def test_small_batches_reach_everyone_once(now, school, policy, owner):
    people = [member(school) for _ in range(7)]
    publish(policy, owner)
    reminders.send_acknowledgement_reminders(batch_size=2)
    assert all(len(inbox(p.email)) == 1 for p in people)


def test_a_failed_email_does_not_stop_the_sweep_and_goes_when_the_server_takes_it(
    now, school, policy, owner, team, settings, time_machine
):
    """Seed 000 §3 (everyone acknowledges): a refused delivery waits in the outbox and is retried;
    the rest of the sweep goes at once, and the stage is never sent twice."""
    manager, teacher = team
    publish(policy, owner)
    settings.EMAIL_BACKEND = "tests.mailbox.RefusingBackend"
    RefusingBackend.refused = {teacher.email}
    reminders.send_acknowledgement_reminders()
    assert len(inbox(manager.email)) == 1 and inbox(teacher.email) == []
    waiting = OutboxMessage.objects.get(recipient=teacher.email)
    assert waiting.attempts == 1 and "mailbox busy" in waiting.last_error and waiting.sent_at is None
    RefusingBackend.refused = set()
    time_machine.shift(dt.timedelta(minutes=5))  # past the first retry's delay
    mail.outbox.clear()
    reminders.send_acknowledgement_reminders()
    assert len(inbox(teacher.email)) == 1 and inbox(manager.email) == []


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(school, owner):
    from policies.services import create_policy

    people = [member(school) for _ in range(40)]
    policy = create_policy(organisation=school, actor=owner, title="Social Media Policy", owner=owner)
    publish(policy, owner)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            reminders.send_acknowledgement_reminders(batch_size=5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(inbox(p.email)) for p in people) == [1] * 40
    assert len(mail.outbox) == 41  # the 40 and the owner


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_rows_another_claim_holds_and_leaves_nobody_out(school, owner, team):
    """A managers' batch and a people's batch run at once on the same rows: the second waits, then sends."""
    from django.db import transaction

    _, teacher = team
    policy = services.create_policy(organisation=school, actor=owner, title="Social Media Policy", owner=owner)
    publish(policy, owner)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(AcknowledgementRequest.objects.select_for_update().filter(user=teacher))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    threading.Timer(0.5, release.set).start()
    mail.outbox.clear()
    assert reminders.remind_people([teacher.pk], today()) == 1
    holder.join(10)
    assert len(inbox(teacher.email)) == 1
    assert reminders.remind_people([teacher.pk], today()) == 0


# Annual review
# ------------------------------------------------------------------------------


def review_sweep(time_machine, when: dt.date):
    time_machine.move_to(dt.datetime.combine(when, dt.time(7), tzinfo=dt.UTC), tick=False)
    deliver()
    mail.outbox.clear()
    result = reminders.send_review_reminders()
    deliver()
    return result


def test_owners_are_reminded_before_the_review_and_slt_weekly_after(now, time_machine, school, policy, owner, slt):
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)  # next review 2 March 2027
    review_date = dt.date(2027, 3, 2)
    sent = {}
    current = review_date - dt.timedelta(days=70)
    while current <= review_date + dt.timedelta(days=22):
        review_sweep(time_machine, current)
        review_sweep_again = reminders.send_review_reminders()
        assert review_sweep_again == 0  # the same day twice sends nothing more
        if mail.outbox:
            sent[(current - review_date).days] = sorted(address for m in mail.outbox for address in m.to)
        current += dt.timedelta(days=1)
    assert sent == {
        -60: [owner.email],
        -30: [owner.email],
        -7: [owner.email],
        0: [owner.email],
        1: [slt.email],
        8: [slt.email],
        15: [slt.email],
        22: [slt.email],
    }


def test_a_review_without_change_stops_the_overdue_emails(now, time_machine, policy, owner, slt):
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)
    review_sweep(time_machine, dt.date(2027, 3, 3))
    assert len(mail.outbox) == 1
    services.review_without_change(policy=policy, actor=owner)
    assert review_sweep(time_machine, dt.date(2027, 3, 10)) == 0


def test_the_stage_arithmetic():
    due = dt.date(2026, 3, 16)
    assert reminders.stage_on(due, dt.date(2026, 3, 2)) == reminders.ASKED
    assert reminders.stage_on(due, dt.date(2026, 3, 13)) == reminders.DUE_SOON
    assert reminders.stage_on(due, due) == reminders.DUE_TODAY
    assert reminders.stage_on(due, dt.date(2026, 3, 23)) == reminders.FIRST_OVERDUE
    assert reminders.next_stage_date(due, reminders.ASKED) == dt.date(2026, 3, 13)
    assert reminders.next_stage_date(due, reminders.DUE_TODAY) == dt.date(2026, 3, 23)


def test_when_the_owner_has_left_the_leaders_hear_of_the_review(now, time_machine, school, policy, owner, slt):
    time_machine.move_to(day(0), tick=False)
    publish(policy, owner)
    owner.memberships.update(leaving_date=dt.date(2026, 6, 30))
    review_sweep(time_machine, dt.date(2027, 3, 2) - dt.timedelta(days=60))
    assert sorted(address for m in mail.outbox for address in m.to) == [slt.email]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_daily_duty_shares_the_batches_among_workers_and_sends_each_digest_once(
    now, school, policy, owner, team, django_db_blocker
):
    """The duty queues one task per batch; a real worker sends them; the same duty again, or a batch
    delivered twice, sends nothing more."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from policies.tasks import remind_people, send_acknowledgement_reminders
    from policyportal.celery import app as celery_app
    from tests.core.test_celery import wait_for

    manager, _ = team
    for i in range(5):
        member(school, email=f"staff{i}@school.example", line_manager=manager)
    publish(policy, owner)
    people = AcknowledgementRequest.objects.values("user").distinct().count()
    celery_app.control.purge()
    mail.outbox.clear()
    finished = {}  # task id -> what it returned, as the worker (a thread of this process) ends each

    def record(task_id=None, retval=None, **kwargs):
        finished[task_id] = retval

    task_postrun.connect(record, weak=False)
    try:
        with django_db_blocker.unblock(), start_worker(celery_app, perform_ping_check=False, loglevel="WARNING"):
            queued = send_acknowledgement_reminders.delay(batch_size=2)
            assert wait_for(lambda: len(mail.outbox) == people), f"{len(mail.outbox)} of {people} digests"
            first_batch = sorted(AcknowledgementRequest.objects.values_list("user_id", flat=True))[:2]
            again = send_acknowledgement_reminders.delay(batch_size=2)
            twice = remind_people.delay(first_batch, day(0).date().isoformat())
            assert wait_for(lambda: again.id in finished and twice.id in finished), "the repeats did not run"
    finally:
        task_postrun.disconnect(record)
    # The duty again found nobody due, and the batch delivered twice claimed nothing.
    assert finished[again.id] == {"people_batches": 0, "manager_batches": 0} and finished[twice.id] == 0
    assert queued.id and len(mail.outbox) == people
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        AcknowledgementRequest.objects.values_list("user__email", flat=True)
    )


@pytest.mark.parametrize("first_name", ["Siân", "O'Brien & <Co>", "", "\ue0001\ue001 =cmd", "{{ x }}"])
def test_a_stamped_digest_is_exactly_the_digest_rendered_in_full(first_name):
    """The sweep stamps each digest into a frame rendered once per shape (core.emails.Stamp);
    whatever the name and lines hold, the result is what rendering the template gives."""
    from core.emails import Stamp, render_parts

    on = dt.date(2026, 3, 9)
    stamp = Stamp(reminders.DIGEST)
    lines = [
        reminders._digest_line("Social Media & <Online> Safety", "2.1", 7, dt.date(2026, 3, 2), on),
        reminders._digest_line("Staff Code \ue0000\ue001", "1", 8, dt.date(2026, 3, 30), on),
        reminders._digest_line("Mobile phones", "3", 9, dt.date(2026, 3, 9), on),
    ]
    for items in (lines[:1], lines[1:2], lines, lines[1:]):
        stamped = reminders._digest_parts(stamp, first_name, items)
        assert stamped == render_parts(reminders.DIGEST, reminders.digest_context(first_name, items))
    assert sorted(stamp._frames) == [(1, False), (1, True), (2, False), (3, True)]  # one per (lines, overdue)


def test_the_requests_that_count_are_the_same_listed_or_joined(now, school, policy, owner, team):
    """The sweep reads the counting versions' ids first (``counting(listed=True)``): the same
    requests as the join every page uses, a superseded version's left out of both."""
    publish(policy, owner)
    other = services.create_policy(organisation=school, actor=owner, title="Acceptable Use Policy", owner=owner)
    publish(other, owner)
    publish(policy, owner, label="2", text="# Rules\n\nBe kind online, always.")
    superseded = AcknowledgementRequest.objects.filter(version__policy=policy, version__label="1")
    assert superseded.exists()
    joined = set(AcknowledgementRequest.objects.counting().values_list("pk", flat=True))
    listed = set(AcknowledgementRequest.objects.counting(listed=True).values_list("pk", flat=True))
    assert listed == joined
    assert joined and not joined & set(superseded.values_list("pk", flat=True))
