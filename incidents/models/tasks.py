"""Work on a case: tasks with an owner and a due date, and takedowns followed up with a platform."""

import datetime as dt

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.validators import DateRange
from incidents.models.cases import (
    Incident,
    Platform,
)
from incidents.models.records import (
    ActionKind,
)


class TaskStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"
    NOT_NEEDED = "not_needed", "Not needed"


class IncidentTaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=TaskStatus.OPEN)

    def of_plan_for(self, user):
        """The support-plan steps for ``user`` (002 App. 1): what the member of staff sees of them."""
        return self.filter(supports=user).exclude(plan_step="").order_by("pk")


class IncidentTask(models.Model):
    """An action with an owner and a due date; a case closes only when each is done or set aside (the triggers in ``Meta``)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(max_length=30, choices=ActionKind.choices)
    title = models.CharField("what to do", max_length=300)
    plan_step = models.CharField(max_length=20, blank=True, help_text="The support-plan step it is (002 App. 1).")
    supports = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_tasks")
    due_at = models.DateTimeField("due by")
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    note = models.TextField("what was done, or why it is not needed", max_length=2000, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)  # when the current owner was given it
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    objects = IncidentTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="not_needed") | ~Q(note=""), name="task_set_aside_has_reason"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="task_closed_when_done",
            ),
        ]
        indexes = [models.Index(fields=["owner", "status"]), models.Index(fields=["status", "due_at"])]
        triggers = [
            # Nor is a task opened, or added open, on a closed case.
            pgtrigger.Trigger(
                name="no_open_task_on_closed",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("status"),
                condition=pgtrigger.Condition("NEW.status = 'open'"),
                func=(
                    "IF EXISTS (SELECT 1 FROM incidents_incident WHERE id = NEW.incident_id AND status = 'closed') "
                    "THEN RAISE EXCEPTION 'incident % is closed: an open task is refused', NEW.incident_id "
                    "USING ERRCODE = 'check_violation'; END IF; RETURN NEW;"
                ),
            )
        ]

    def __str__(self):
        return f"{self.incident}: {self.title}"

    is_open = property(lambda self: self.status == TaskStatus.OPEN)

    def is_late(self, now: dt.datetime | None = None) -> bool:
        return self.is_open and (now or timezone.now()) > self.due_at


class HowReported(models.TextChoices):
    REPORT_TOOL = "report_tool", "The platform's own report button or form"
    EMAIL = "email", "Email to the platform"
    HELPLINE = "helpline", "Through the Professionals Online Safety Helpline"
    OTHER = "other", "Another way"


class Takedown(models.Model):
    """An account or content reported to a platform for removal, followed up after 48 hours (004 §4.1)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="takedowns")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    target = models.CharField("account handle or web address", max_length=500)
    reported_at = models.DateTimeField(
        "when it was reported to the platform", validators=[DateRange("The date and time it was reported", past=True)]
    )
    how_reported = models.CharField("how it was reported", max_length=20, choices=HowReported.choices)
    platform_reference = models.CharField("the platform's reference", max_length=100, blank=True)
    follow_up = models.OneToOneField(IncidentTask, on_delete=models.PROTECT, related_name="takedown")
    removed_at = models.DateTimeField(
        null=True, blank=True, validators=[DateRange("The date and time it was removed", past=True)]
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reported_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=models.F("reported_at")),
                name="takedown_removed_after_reported",
            )
        ]

    def __str__(self):
        return f"{self.incident}: {self.target}"
