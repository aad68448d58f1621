from celery import shared_task
from django.db import DatabaseError, InterfaceError

from approvals import register, reminders


@shared_task(autoretry_for=(DatabaseError, InterfaceError), retry_backoff=5, max_retries=3)
def send_response_reminders() -> dict:
    return reminders.send_response_reminders()


@shared_task
def daily_account_duties() -> dict:
    return {
        "handovers": register.flag_handovers(),
        "checks": reminders.send_check_reminders(),
        "training": reminders.send_training_expiry_reminders(),
    }
