from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import DatabaseError, InterfaceError
from django.utils import timezone

from core import outbox


@shared_task
def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    ignore_result=True,
)
def dispatch_outbox() -> dict:
    """Send what the outbox holds (``core.outbox``): kicked after each commit that wrote messages and
    run every minute by beat. A run that stops with messages left queues the next one."""
    result = outbox.dispatch()
    if result["more"]:
        outbox.kick()
    return result


@shared_task(autoretry_for=(DatabaseError, InterfaceError), retry_backoff=2, max_retries=5, ignore_result=True)
def clear_sent_email_bodies() -> int:
    """Nightly: sent emails' bodies go after ``OUTBOX_KEEP_BODIES_DAYS`` (``core.outbox.clear_sent_bodies``)."""
    return outbox.clear_sent_bodies()
