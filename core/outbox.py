"""Every outgoing email goes through here: written with the change, sent by a dispatcher.

``send(template, to=[...], context={...}, topic="incident:12:reported")`` renders the
email (``core.emails``) and writes one ``OutboxMessage`` per recipient in the caller's
transaction, so the message exists exactly when the change that causes it does. The
key ``topic|recipient`` is unique: writing the same message twice (a retried task, two
sweeps at once, a double click) writes it once.

``dispatch`` sends due rows. Each batch is claimed for a lease (``SKIP LOCKED`` on
PostgreSQL, so dispatchers never wait for each other); each message is marked sent in
its own commit right after the mail server accepted it, so a dispatcher killed midway
leaves at most the one message it was sending unmarked: it goes again once the lease
ends (at least once; a stable Message-ID lets mail systems drop that rare repeat).
Failures are retried with a growing delay; after ``MAX_ATTEMPTS``, or at once when
the server refuses the address, the row is marked failed with its error, for an
administrator to see in the admin and send again.

The dispatcher is kicked after each commit that wrote messages and swept every
minute by beat (``core.duties``): a broker outage delays mail, never loses it. A sweep's
batch, already in a worker, sends what it wrote itself once it has committed
(``write(..., send_after_commit=True)``), claimed the same way: what it leaves is the
dispatcher's.
Sign-in mail that django-allauth sends itself (confirmations, password resets) does
not come here: those links are short-lived and the person is waiting for them.
"""

import contextlib
import datetime as dt
import hashlib
import logging
import secrets
import smtplib
import time
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from core.emails import render_parts
from core.models import OutboxMessage
from core.queueing import publish

log = logging.getLogger(__name__)

BATCH_SIZE = 100
LEASE = dt.timedelta(minutes=5)  # longer than a batch takes to send; a dead dispatcher's rows go again after it
MAX_ATTEMPTS = 10  # 1, 2, 4 ... 60 minutes apart: about nine hours of trying
MAX_DELAY = dt.timedelta(minutes=60)
DISPATCH_SECONDS = 50  # one dispatcher run; beat starts another every minute
DISPATCHER = "core.tasks.dispatch_outbox"  # by name: core.tasks imports this module


# Writing
# ------------------------------------------------------------------------------


def key_for(topic: str, recipient: str) -> str:
    return f"{topic}|{recipient.strip().lower()}"[:300]


def send(
    template: str,
    *,
    to: list[str],
    context: dict,
    topic: str,
    reply_to: str = "",
    due_at: dt.datetime | None = None,
) -> int:
    """Write the email to each of ``to`` (one message each: nobody sees who else was told).

    ``topic`` names what the message is about and at which stage (``"incident:12:reported"``):
    the same topic to the same person is written once. Returns the number of recipients.
    """
    rows = compose(template, to=to, context=context, topic=topic, reply_to=reply_to, due_at=due_at)
    if rows:
        write(rows)
    return len(rows)


def compose(
    template: str,
    *,
    to: list[str],
    context: dict | None = None,
    topic: str,
    reply_to: str = "",
    due_at: dt.datetime | None = None,
    parts: tuple[str, str, str] | None = None,
) -> list[OutboxMessage]:
    """The rendered rows ``send`` writes: a sweep composes a batch's messages, then ``write``s them
    at once. ``parts`` (subject, text, HTML) is the message already rendered (``core.emails.Stamp``);
    otherwise ``template`` is rendered with ``context``, once for every recipient."""
    recipients = sorted({address.strip() for address in to if address and address.strip()}, key=str.lower)
    if not recipients:
        return []
    subject, text, html = parts or render_parts(template, context or {})
    now = timezone.now()
    return [
        OutboxMessage(
            key=key_for(topic, recipient),
            topic=topic[:200],
            recipient=recipient,
            reply_to=reply_to,
            template=template,
            subject=subject,
            text=text,
            html=html,
            created_at=now,
            due_at=due_at or now,
        )
        for recipient in recipients
    ]


def already_written(topic: str) -> bool:
    """Whether a message about ``topic`` was written, to anyone: a sweep's reminder goes once per topic.

    The one shape of every reminder in the portal: the sweep decides what is due, skips what is
    already written, and writes the rest (``send``); two sweeps at once may both write, and the
    unique key keeps one message per person. A stage with nobody to tell writes nothing and is
    tried again at the next sweep.
    """
    return OutboxMessage.objects.filter(topic=topic[:200]).exists()


def write(rows: list[OutboxMessage], *, send_after_commit: bool = False) -> None:
    """Insert rendered rows (those already written are skipped) and kick the dispatcher after commit.

    ``send_after_commit`` is for a sweep's batch, already running in a worker: once its
    transaction commits, this process claims the rows it wrote and sends them itself, with the
    messages already rendered, instead of leaving it to a dispatcher to claim and read them again
    (the dispatcher kicked meanwhile finds them taken). Rows it does not live to claim or send
    are the dispatcher's, as any others (kicked, beat's sweep every minute, or after the lease).
    """
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    # The dispatcher is kicked either way: should this process die between its commit and its
    # claim, the rows are unclaimed and a queued dispatcher (not only beat's next sweep) sends them.
    kick_after_commit()
    if send_after_commit:
        transaction.on_commit(lambda: _send_written(rows))


def _send_written(rows: list[OutboxMessage]) -> None:
    """Claim and send those of ``rows`` still due and unclaimed (not those an earlier sweep wrote
    and sent, nor those a dispatcher has taken meanwhile)."""
    now = timezone.now()
    with transaction.atomic():
        ours = dict(
            _due(now)
            .filter(key__in=[row.key for row in rows])
            .select_for_update(skip_locked=True)
            .values_list("key", "pk")
        )
        if ours:
            OutboxMessage.objects.filter(pk__in=ours.values()).update(claimed_until=now + LEASE)
    mine = []
    for row in rows:
        if row.key in ours:
            row.pk = ours[row.key]
            mine.append(row)
    if mine:
        send_batch(mine)


def kick_after_commit() -> None:
    """Ask a worker to send, once the current transaction commits (once per transaction)."""
    pending = getattr(db_connection, "run_on_commit", [])
    if any(entry[1] is kick for entry in pending):
        return
    transaction.on_commit(kick)


def kick() -> None:
    """Queue a dispatcher run now. A broker that cannot be reached is not an error: the rows wait
    for beat's next sweep (and the broker calls give up within seconds)."""
    publish(DISPATCHER)


# Sending
# ------------------------------------------------------------------------------


def message_id(row: OutboxMessage) -> str:
    """The same Message-ID however often the row is sent, so a repeat can be recognised."""
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:40]
    return f"<{digest}@{_mail_domain()}>"


def _mail_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "policyportal"


def _due(now):
    return (
        OutboxMessage.objects.filter(sent_at__isnull=True, failed_at__isnull=True, due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("due_at", "pk")
    )


def _claim(batch_size: int) -> list[OutboxMessage]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(_due(now).select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size])
        if ids:
            OutboxMessage.objects.filter(pk__in=ids).update(claimed_until=now + LEASE)
    return list(OutboxMessage.objects.filter(pk__in=ids).order_by("due_at", "pk")) if ids else []


class _Email(EmailMultiAlternatives):
    """An email whose MIME boundary is chosen at random as it is built: the standard library
    otherwise makes one and compiles a regular expression to search the whole message for it,
    once per message, a twentieth of a sweep's sending. 128 random bits cannot be guessed or
    met by chance in a body."""

    def message(self, *args, **kwargs):
        mime = super().message(*args, **kwargs)
        if mime.is_multipart() and mime.get_boundary() is None:
            mime.set_boundary(f"==pp{secrets.token_hex(16)}==")
        return mime


def _email_of(row: OutboxMessage, mail_connection):
    message = _Email(
        subject=row.subject,
        body=row.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        reply_to=[row.reply_to] if row.reply_to else None,
        headers={"Message-ID": message_id(row)},
        connection=mail_connection,
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    return message


def _delay_after(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2 ** (attempts - 1)), MAX_DELAY)


def _refused_for_good(exc: Exception) -> bool:
    """The server refused the address itself (5xx): trying again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return False


def _record_failure(row: OutboxMessage, exc: Exception) -> None:
    attempts = row.attempts + 1
    now = timezone.now()
    give_up = attempts >= MAX_ATTEMPTS or _refused_for_good(exc)
    OutboxMessage.objects.filter(pk=row.pk).update(
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        claimed_until=None,
        due_at=now + _delay_after(attempts),
        failed_at=now if give_up else None,
    )
    (log.error if give_up else log.warning)("Could not send %s to %s: %s", row.topic, row.recipient, exc)


def _mark_sent(row: OutboxMessage) -> None:
    """Record the server's accept at once, in a commit of its own.

    On PostgreSQL, outside any transaction of the caller's, that commit is one round trip that
    does not wait for the disk (``synchronous_commit`` off for this transaction alone): a third
    of the cost of a plain update, which had made marking the slowest step of sending a sweep.
    The dispatcher's own death loses nothing (its commit has happened); only a crash of the
    database server within a fraction of a second can undo a mark, and that message then goes
    again with the same Message-ID: at least once, as ever.
    """
    now = timezone.now()
    if db_connection.vendor == "postgresql" and not db_connection.in_atomic_block:
        with db_connection.cursor() as cursor:
            try:
                cursor.execute(
                    "BEGIN; SET LOCAL synchronous_commit TO OFF; "
                    f'UPDATE "{OutboxMessage._meta.db_table}" SET sent_at = %s, attempts = attempts + 1, '
                    "claimed_until = NULL, last_error = '' WHERE id = %s; COMMIT",
                    [now, row.pk],
                )
            except Exception:
                # The statement opened a transaction Django does not know of (and psycopg2's own
                # rollback does nothing in autocommit): end it before the error goes on, so the
                # connection is not left inside an aborted transaction.
                with contextlib.suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
        return
    OutboxMessage.objects.filter(pk=row.pk).update(
        sent_at=now, attempts=F("attempts") + 1, claimed_until=None, last_error=""
    )


def send_batch(rows: list[OutboxMessage]) -> int:
    """Send claimed rows over one mail connection; each is marked sent as soon as it is accepted."""
    sent = 0
    mail_connection = get_connection()
    try:
        mail_connection.open()
    except Exception as exc:  # noqa: BLE001 - the server is down: every row waits and retries
        for row in rows:
            _record_failure(row, exc)
        return 0
    try:
        for row in rows:
            try:
                _email_of(row, mail_connection).send()
            except Exception as exc:  # noqa: BLE001 - one bad message must not hold up the others
                _record_failure(row, exc)
                continue
            _mark_sent(row)
            sent += 1
    finally:
        try:
            mail_connection.close()
        except Exception:  # noqa: BLE001
            pass
    return sent


def dispatch(*, batch_size: int = BATCH_SIZE, seconds: float = DISPATCH_SECONDS) -> dict:
    """Send due messages, batch after batch, for up to ``seconds``. Returns the counts and whether
    messages remain (the task then queues another run)."""
    started = time.monotonic()
    sent = batches = 0
    while time.monotonic() - started < seconds:
        rows = _claim(batch_size)
        if not rows:
            return {"sent": sent, "batches": batches, "more": False}
        batches += 1
        sent += send_batch(rows)
    return {"sent": sent, "batches": batches, "more": True}


def clear_sent_bodies(now: dt.datetime | None = None, *, chunk: int = 5000) -> int:
    """Clear the bodies (text and HTML) of messages sent more than
    ``OUTBOX_KEEP_BODIES_DAYS`` ago, a chunk at a time; returns how many. The rows stay: who was
    told, about what (topic and subject), when, and the key that keeps a message from going twice.
    Unsent and failed messages keep theirs, so nothing waiting to go loses its text."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.OUTBOX_KEEP_BODIES_DAYS)
    cleared = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(sent_at__lt=cutoff).exclude(text="").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return cleared
        cleared += OutboxMessage.objects.filter(pk__in=ids).update(text="", html="")


# Reading
# ------------------------------------------------------------------------------


def unsent() -> int:
    """How many messages wait to be sent (read from the index of unsent rows alone)."""
    return OutboxMessage.objects.filter(sent_at__isnull=True, failed_at__isnull=True).count()


def backlog(now: dt.datetime | None = None) -> dict:
    """Unsent messages (due and waiting), failed ones, and the oldest unsent message's age in seconds."""
    now = now or timezone.now()
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True, failed_at__isnull=True)
    figures = unsent.aggregate(unsent=Count("pk"), oldest=Min("created_at"), due=Count("pk", filter=Q(due_at__lte=now)))
    oldest = figures["oldest"]
    return {
        "unsent": figures["unsent"],
        "due": figures["due"],
        "failed": OutboxMessage.objects.filter(failed_at__isnull=False).count(),
        "oldest_unsent_seconds": round((now - oldest).total_seconds()) if oldest else 0,
    }


def retry(queryset) -> int:
    """Send failed messages again (an administrator fixed the address or the mail server)."""
    count = queryset.filter(sent_at__isnull=True).update(
        failed_at=None, attempts=0, due_at=timezone.now(), claimed_until=None
    )
    if count:
        kick_after_commit()
    return count
