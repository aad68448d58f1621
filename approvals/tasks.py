from celery import shared_task

from approvals import reminders, services
from core.emails import send_templated_email


@shared_task
def send_notice(recipients: list[str], subject: str, lines: list[str], path: str) -> None:
    """One email to the people concerned by a move: who did what, and a link to it."""
    if recipients:
        send_templated_email(
            "approvals/notice", to=recipients, context={"subject": subject, "lines": lines, "path": path}
        )


@shared_task
def send_response_reminders() -> dict:
    return reminders.send_response_reminders()


@shared_task
def daily_account_duties() -> dict:
    return {
        "handovers": services.flag_handovers(),
        "checks": reminders.send_check_reminders(),
        "training": reminders.send_training_expiry_reminders(),
    }
