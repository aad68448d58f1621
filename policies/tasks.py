import datetime as dt

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from accounts.models import today
from policies import reminders, tallies
from policies.services import sync_requests

# A batch claims and writes its emails in one transaction, so running it again after a lost
# connection (or a killed worker: acks are late) repeats nothing and leaves nobody out.
RETRY = {
    "autoretry_for": (DatabaseError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


@shared_task(**RETRY)
def send_acknowledgement_reminders(batch_size: int = 500) -> dict:
    """The daily duty: asks anyone not yet asked, then one task per batch of people and of
    line managers, so that every worker process renders and sends digests at once and no
    task runs long. Each batch claims its rows before sending: a batch run twice sends nothing twice,
    so the duty too is retried after a lost connection (otherwise everyone waits for tomorrow's)."""
    on = today()
    sync_requests()
    people = list(reminders.people_batches(on, batch_size))
    managers = list(reminders.manager_batches(on, batch_size))
    for user_ids in people:
        remind_people.delay(user_ids, on.isoformat())
    for manager_ids in managers:
        tell_managers.delay(manager_ids, on.isoformat())
    return {"people_batches": len(people), "manager_batches": len(managers)}


@shared_task(**RETRY)
def remind_people(user_ids: list[int], on: str) -> int:
    return reminders.remind_people(user_ids, dt.date.fromisoformat(on))


@shared_task(**RETRY)
def tell_managers(manager_ids: list[int], on: str) -> int:
    return reminders.tell_managers(manager_ids, dt.date.fromisoformat(on))


@shared_task
def send_review_reminders() -> int:
    return reminders.send_review_reminders()


@shared_task
def fold_tallies() -> dict:
    return tallies.fold() if tallies.kept() else {}
