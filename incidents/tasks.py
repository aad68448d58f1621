from celery import shared_task
from django.db import DatabaseError, InterfaceError

from incidents import reminders


@shared_task(autoretry_for=(DatabaseError, InterfaceError), retry_backoff=5, max_retries=3)
def send_incident_reminders() -> dict:
    return reminders.send_incident_reminders()
