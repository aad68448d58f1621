"""The outbox (``core.outbox``): every email is written with its change and sent at least once,
through a real SMTP server (aiosmtpd) started by the test on a spare port."""

import datetime as dt

import pytest
from django.db import transaction

from core import outbox
from core.models import OutboxMessage
from tests.mailbox import spare_port

pytestmark = pytest.mark.django_db


def notice(topic="test:1:stage", to=("dsl@school.example",)):
    return outbox.send(
        "approvals/notice",
        to=list(to),
        context={"subject": "A notice", "lines": ["Something happened."], "path": "/x/"},
        topic=topic,
    )


def test_a_message_exists_exactly_when_its_change_is_kept():
    with pytest.raises(RuntimeError), transaction.atomic():
        notice()
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    with transaction.atomic():
        notice()
    assert OutboxMessage.objects.count() == 1


def test_the_same_topic_to_the_same_person_is_written_once_and_each_person_gets_their_own():
    assert notice(to=["a@school.example", "B@school.example"]) == 2
    notice(to=["a@school.example", "b@school.example"])  # a retry, a second sweep, a double click
    assert sorted(OutboxMessage.objects.values_list("recipient", flat=True)) == ["B@school.example", "a@school.example"]


def test_messages_go_through_the_mail_server_once_with_a_stable_message_id(smtp):
    notice(to=["a@school.example", "b@school.example"])
    assert outbox.dispatch()["sent"] == 2
    assert outbox.dispatch()["sent"] == 0  # nothing twice
    assert sorted(to for to, _ in smtp.inbox.messages) == [["a@school.example"], ["b@school.example"]]
    row = OutboxMessage.objects.get(recipient="a@school.example")
    assert row.sent_at and row.attempts == 1 and row.last_error == ""
    assert f"Message-ID: {outbox.message_id(row)}" in smtp.inbox.messages[0][1] or any(
        outbox.message_id(row) in content for _, content in smtp.inbox.messages
    )
    assert outbox.message_id(row) == outbox.message_id(OutboxMessage.objects.get(pk=row.pk))


def test_each_message_reaches_the_server_whole_with_a_boundary_of_its_own(smtp):
    """The sender picks a random MIME boundary itself (core.outbox._Email); a body line that
    looks like a boundary cannot split the message."""
    import email

    outbox.send(
        "approvals/notice",
        to=["a@school.example", "b@school.example"],
        context={"subject": "A notice", "lines": ["--==pp0==", "Siân's line"], "path": "/x/"},
        topic="test:boundary",
    )
    outbox.dispatch()
    boundaries = set()
    for _, content in smtp.inbox.messages:
        parsed = email.message_from_bytes(content.encode())
        assert parsed.get_content_type() == "multipart/alternative"
        boundary = parsed.get_boundary()
        assert boundary.startswith("==pp") and len(boundary) == 32 + 6
        boundaries.add(boundary)
        text, html = (part.get_payload(decode=True).decode() for part in parsed.get_payload())
        assert "--==pp0==" in text and "Siân's line" in text and "Siân&#x27;s line" in html
    assert len(boundaries) == 2


def test_while_the_mail_server_is_down_messages_wait_and_go_once_it_is_back(smtp, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
    smtp.stop()
    notice()
    assert outbox.dispatch()["sent"] == 0
    row = OutboxMessage.objects.get()
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None and row.last_error
    assert row.due_at > row.created_at  # backs off
    assert outbox.backlog()["unsent"] == 1
    smtp.start()
    assert outbox.dispatch()["sent"] == 0  # not before its retry time
    time_machine.shift(dt.timedelta(minutes=2))
    assert outbox.dispatch()["sent"] == 1
    assert len(smtp.inbox.messages) == 1 and outbox.backlog() == {
        "unsent": 0,
        "due": 0,
        "failed": 0,
        "oldest_unsent_seconds": 0,
    }


def test_an_address_the_server_refuses_fails_at_once_visibly_and_can_be_sent_again(smtp):
    smtp.inbox.refuse = {"gone@school.example"}
    notice(to=["gone@school.example", "here@school.example"])
    assert outbox.dispatch()["sent"] == 1
    failed = OutboxMessage.objects.get(recipient="gone@school.example")
    assert failed.failed_at and "550" in failed.last_error and failed.state == "failed"
    assert outbox.backlog()["failed"] == 1
    smtp.inbox.refuse = set()
    assert outbox.retry(OutboxMessage.objects.filter(pk=failed.pk)) == 1
    assert outbox.dispatch()["sent"] == 1
    assert sorted(to[0] for to, _ in smtp.inbox.messages) == ["gone@school.example", "here@school.example"]


def test_a_dispatcher_that_died_midway_leaves_its_claimed_messages_for_the_next_after_the_lease(smtp, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
    notice(to=["a@school.example", "b@school.example"])
    claimed = outbox._claim(10)  # claimed, then the process is killed before sending
    assert len(claimed) == 2
    assert outbox.dispatch()["sent"] == 0  # another dispatcher leaves them while the lease holds
    time_machine.shift(outbox.LEASE + dt.timedelta(seconds=1))
    assert outbox.dispatch()["sent"] == 2


def test_an_unreachable_broker_delays_the_dispatcher_but_never_fails_the_change(settings):
    """A Celery app of its own on a port nobody listens on (the portal's app and its connection
    pool are left alone): queuing gives up at once, and the caller carries on."""
    import time

    from celery import Celery

    from core.queueing import publish

    dead = Celery("dead-broker", broker=f"redis://127.0.0.1:{spare_port()}/0", set_as_current=False)
    dead.conf.broker_transport_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    dead.conf.task_publish_retry_policy = getattr(settings, "CELERY_TASK_PUBLISH_RETRY_POLICY", None)

    @dead.task(name="tests.nothing")
    def nothing():
        return None

    started = time.monotonic()
    assert publish(nothing) is False
    assert time.monotonic() - started < 10


@pytest.mark.django_db(transaction=True)
def test_a_sent_mark_that_fails_leaves_the_connection_usable():
    """The mark is one statement that opens and commits its own transaction; when it fails, that
    transaction is ended, so the dispatcher's next query does not meet an aborted transaction."""
    from django.db import DatabaseError, connection

    row = OutboxMessage(pk="not a number")  # the UPDATE fails inside its own transaction
    with pytest.raises(DatabaseError):
        outbox._mark_sent(row)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.connection.info.transaction_status == 0  # idle: no transaction left open


def test_message_bodies_are_stored_out_of_line_so_a_sent_mark_does_not_rewrite_them():
    """core/0007: the outbox table moves bodies to TOAST from 256 bytes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [OutboxMessage._meta.db_table])
        assert "toast_tuple_target=256" in cursor.fetchone()[0]


def test_sent_bodies_are_cleared_after_the_kept_days_and_nothing_waiting_loses_its_text(smtp, time_machine, settings):
    settings.OUTBOX_KEEP_BODIES_DAYS = 30
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    notice(topic="old:1:sent", to=["a@school.example"])
    outbox.dispatch()
    notice(topic="old:2:waiting", to=["b@school.example"])
    OutboxMessage.objects.filter(topic="old:2:waiting").update(due_at=start + dt.timedelta(days=60))
    notice(topic="old:3:failed", to=["c@school.example"])
    OutboxMessage.objects.filter(topic="old:3:failed").update(failed_at=start, last_error="550")
    time_machine.move_to(start + dt.timedelta(days=29), tick=False)
    notice(topic="new:4:sent", to=["d@school.example"])
    outbox.dispatch()

    assert outbox.clear_sent_bodies() == 0  # 29 days: every body kept
    time_machine.move_to(start + dt.timedelta(days=31), tick=False)
    assert outbox.clear_sent_bodies(chunk=1) == 1
    bodies = {row.topic: (row.text, row.html, row.subject) for row in OutboxMessage.objects.all()}
    assert bodies["old:1:sent"][:2] == ("", "") and bodies["old:1:sent"][2] == "A notice"
    assert all(bodies[topic][0] for topic in ("old:2:waiting", "old:3:failed", "new:4:sent"))
    assert outbox.clear_sent_bodies() == 0
    # The row and its key stay: the same message is still not written twice.
    assert notice(topic="old:1:sent", to=["a@school.example"]) == 1
    assert OutboxMessage.objects.filter(topic="old:1:sent").count() == 1
    assert len(smtp.inbox.messages) == 2
