"""The audit trail: one append-only record of every change of state in the portal."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from core.db import AppendOnly


class RecordImmutable(Exception):
    """Raised on any attempt to change or remove an append-only record."""


AuditEntryImmutable = RecordImmutable


class AppendOnlyQuerySet(models.QuerySet):
    """Rows are added, never changed or removed (in the database too: ``core.db.AppendOnly``)."""

    def update(self, **kwargs):
        raise RecordImmutable(f"{self.model._meta.verbose_name_plural} cannot be changed.")

    def delete(self):
        raise RecordImmutable(f"{self.model._meta.verbose_name_plural} cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise RecordImmutable(f"{self.model._meta.verbose_name_plural} cannot be changed.")


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RecordImmutable(f"{self._meta.verbose_name_plural} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RecordImmutable(f"{self._meta.verbose_name_plural} cannot be deleted.")


class AuditEntryQuerySet(AppendOnlyQuerySet):
    def for_object(self, obj):
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))


class AuditEntry(AppendOnlyModel):
    """Who did what, where, to which object, from which state to which, and when.

    Written only through ``core.audit.log_action``. On PostgreSQL a trigger
    (``Meta.triggers``) also refuses UPDATE and DELETE on the table, so raw SQL
    cannot rewrite history either; the application role is not granted them at all.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name_plural = "audit entries"
        triggers = [AppendOnly()]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class OutboxMessage(models.Model):
    """One email to one person, written in the same transaction as the change that causes it.

    ``core.outbox`` writes rows and sends them: a rolled-back change sends nothing, a broker
    outage or a killed worker delays a message but never loses it, and ``key`` (what the
    message is about, at which stage, for whom) makes writing it twice a no-op.
    """

    # Indexed in Meta, not with unique=True/db_index=True: those add a second, pattern-matching
    # index on PostgreSQL that nothing here uses and that every insert and sent mark would write.
    key = models.CharField(max_length=300)
    topic = models.CharField(max_length=200, help_text="What it is about and at which stage.")
    recipient = models.EmailField(max_length=254)
    reply_to = models.EmailField(max_length=254, blank=True)
    template = models.CharField(max_length=100)
    subject = models.CharField(max_length=998)
    text = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="Not sent before this time (retries back off).")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A dispatcher is sending it until then.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Gave up: see the error, then try again.")

    class Meta:
        verbose_name = "outgoing email"
        verbose_name_plural = "outgoing emails"
        constraints = [models.UniqueConstraint(fields=["key"], name="outbox_key_unique")]
        indexes = [
            models.Index(
                fields=["due_at"], condition=models.Q(sent_at__isnull=True, failed_at__isnull=True), name="outbox_due"
            ),
            models.Index(fields=["topic"], name="outbox_topic"),
            # The few that failed for good, counted by the health check and the admin's filter
            # without reading the whole table (it holds every message sent).
            models.Index(fields=["failed_at"], condition=models.Q(failed_at__isnull=False), name="outbox_failed"),
            # Sent messages whose bodies are still kept, for the nightly duty that clears them
            # (core.outbox.clear_sent_bodies): a message joins it when marked sent, leaves it when cleared.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False) & ~models.Q(text=""),
                name="outbox_sent_bodies",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {self.recipient}"

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "failed"
        return "retrying" if self.attempts else "waiting"


class InstalledDuty(models.Model):
    """The schedule ``core.duties`` last gave a periodic duty, so ``migrate`` can tell the code's from an administrator's.

    A duty whose stored schedule still matches this takes the code's new time; one that
    differs was changed in the admin and is kept as it is.
    """

    name = models.CharField(max_length=200, unique=True, help_text="The periodic task's name.")
    schedule = models.CharField(max_length=200, help_text="Minute, hour, day of month, month, weekday and time zone.")

    class Meta:
        verbose_name = "duty schedule installed by the code"

    def __str__(self):
        return f"{self.name}: {self.schedule}"
