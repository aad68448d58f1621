"""The portal's periodic duties, registered in django-celery-beat's schedule by the code.

Each app lists its duties here; ``register_periodic_duties`` runs after every
``migrate``: it creates the missing ones, moves a duty to the time written here
when the code's time changed, and removes a duty the code no longer lists.
``core.models.InstalledDuty`` remembers the schedule the code last installed, so
a schedule an administrator changed in the admin (it no longer matches that
record) is left as they set it: only the task name is kept right.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Duty:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    description: str = ""


DUTIES: list[Duty] = [
    Duty(
        name="Send outgoing email",
        task="core.tasks.dispatch_outbox",
        minute="*",
        description="Sends what the outbox holds, retrying failures; commits also start it at once.",
    ),
    Duty(
        name="Remove expired sign-in sessions",
        task="core.tasks.clear_expired_sessions",
        minute="15",
        hour="3",
        description="Deletes expired sessions so signed-out devices cannot be reused.",
    ),
    Duty(
        name="Clear old sent emails",
        task="core.tasks.clear_sent_email_bodies",
        minute="45",
        hour="3",
        description="Clears the text of emails sent over a month ago; who was told what, and when, stays.",
    ),
    Duty(
        name="Policy acknowledgement reminders",
        task="policies.tasks.send_acknowledgement_reminders",
        minute="0",
        hour="7",
        description="One digest per person with policies to acknowledge; line managers told after 7 days overdue.",
    ),
    Duty(
        name="Fold the acknowledgement tallies",
        task="policies.tasks.fold_tallies",
        minute="5",
        hour="0",
        description="Keeps the compliance counters few: past due dates fold together, people who have left go.",
    ),
    Duty(
        name="Policy review reminders",
        task="policies.tasks.send_review_reminders",
        minute="30",
        hour="7",
        description="Owners 60, 30 and 7 days before and on the review date; SLT weekly while overdue.",
    ),
    Duty(
        name="Response log reminders",
        task="approvals.tasks.send_response_reminders",
        minute="*/5",
        description="Account administrators 4 hours before a reply is due; SLT and the online safety coordinator at the deadline.",
    ),
    Duty(
        name="Official account handovers and termly checks",
        task="approvals.tasks.daily_account_duties",
        minute="45",
        hour="6",
        description="Flags accounts whose lead has left; reminds administrators of the termly check and runners of expiring training.",
    ),
    Duty(
        name="Incident triage and LADO reminders",
        task="incidents.tasks.send_incident_reminders",
        minute="*/15",
        description="Untriaged incidents: DSL team at 20 hours, SLT and the lead at 24; LADO referrals due and overdue.",
    ),
]


TIMEZONE = "Europe/London"


def _schedule(crontab) -> str:
    """One comparable string for a crontab row, or for what a task runs on instead of one."""
    if crontab is None:
        return "not a crontab"
    return " ".join(
        str(part)
        for part in (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
            crontab.timezone,
        )
    )


def register_periodic_duties(**kwargs):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from core.models import InstalledDuty

    installed = {row.name: row for row in InstalledDuty.objects.all()}
    for duty in DUTIES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=duty.minute,
            hour=duty.hour,
            day_of_week=duty.day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone=TIMEZONE,
        )
        wanted = _schedule(crontab)
        task = PeriodicTask.objects.select_related("crontab").filter(name=duty.name).first()
        if task is None:
            PeriodicTask.objects.create(name=duty.name, task=duty.task, crontab=crontab, description=duty.description)
        else:
            if task.task != duty.task:
                PeriodicTask.objects.filter(pk=task.pk).update(task=duty.task)
            stored = _schedule(task.crontab)
            last = installed.get(duty.name)
            if stored != wanted:
                # An administrator's schedule (it differs from what the code last installed) is kept;
                # so is one installed before this record existed, unless it already matches.
                if last is None or stored != last.schedule:
                    continue
                # save(), not update(): beat notices a changed schedule through PeriodicTasks.changed.
                task.crontab, task.interval, task.solar, task.clocked = crontab, None, None, None
                task.save()
        InstalledDuty.objects.update_or_create(name=duty.name, defaults={"schedule": wanted})

    # A duty the code installed and no longer lists goes (its task has usually gone with it).
    gone = [name for name in installed if name not in {duty.name for duty in DUTIES}]
    PeriodicTask.objects.filter(name__in=gone).delete()
    InstalledDuty.objects.filter(name__in=gone).delete()
