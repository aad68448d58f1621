from celery import shared_task

from incidents import reminders


@shared_task
def alert_new_incident(incident_id: int) -> int:
    return reminders.alert_new_incident(incident_id)


@shared_task
def alert_critical(incident_id: int) -> int:
    return reminders.alert_critical(incident_id)


@shared_task
def send_incident_reminders() -> dict:
    return reminders.send_incident_reminders()
