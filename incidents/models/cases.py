"""The case: an incident report, its categories, statuses and rules, the people named in it, and
the private status links public reporters keep."""

import datetime as dt
from dataclasses import dataclass

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from core.models import RecordImmutable
from core.validators import DateRange


class Category(models.TextChoices):
    ABUSE_OF_STAFF = "abuse_of_staff", "Online abuse of a member of staff"
    PUPIL_CONTACT = "pupil_contact", "Contact from a pupil on a personal account"
    PUPIL_COMMUNICATION = "pupil_communication", "Inappropriate communication involving a pupil"
    UNOFFICIAL_ACCOUNT = "unofficial_account", "Unofficial account using our name or logo"
    OFFICIAL_ACCOUNT_COMMENT = "official_account_comment", "Inappropriate comment on an official account"
    CYBERBULLYING = "cyberbullying", "Cyberbullying"
    NUDE_IMAGERY = "nude_imagery", "Nude or semi-nude images (sexting)"
    RADICALISATION = "radicalisation", "Radicalisation or extremism"
    STAFF_BREACH = "staff_breach", "Staff breach of the Social Media Policy"
    DATA_PROTECTION = "data_protection", "Data-protection breach"
    OTHER = "other", "Something else"


@dataclass(frozen=True)
class CategoryRules:
    seed: str  # the clause the category comes from
    safeguarding: bool  # the starting answer to "is this safeguarding?"; the DSL decides at triage
    tell_online_safety_coordinator: bool
    retention_years: int  # counted from closure; the organisation may change it


# Retention defaults follow the IRMS Toolkit for Schools: child-protection records kept
# long (25 years here, as the toolkit's "date of birth + 25" without a date of birth);
# allegations about staff 10 years; other records 6 years (the Limitation Act's period).
CATEGORY_RULES: dict[str, CategoryRules] = {
    Category.ABUSE_OF_STAFF: CategoryRules("002 App. 1, §7.1", False, False, 6),
    Category.PUPIL_CONTACT: CategoryRules("004 §5.4", True, True, 25),
    Category.PUPIL_COMMUNICATION: CategoryRules("004 §5.5", True, True, 25),
    Category.UNOFFICIAL_ACCOUNT: CategoryRules("004 §4.1", False, False, 6),
    Category.OFFICIAL_ACCOUNT_COMMENT: CategoryRules("004 §4.7", False, True, 6),
    Category.CYBERBULLYING: CategoryRules("004 §7.11", True, False, 25),
    Category.NUDE_IMAGERY: CategoryRules("004 Further guidance (UKCIS)", True, False, 25),
    Category.RADICALISATION: CategoryRules("DESIGN.md", True, False, 25),
    Category.STAFF_BREACH: CategoryRules("002 §8, 004 §6", False, False, 10),
    Category.DATA_PROTECTION: CategoryRules("002 §8 (7.2)", False, False, 6),
    Category.OTHER: CategoryRules("004 §8.4-8.5", False, False, 6),
}

# Categories where no file may be uploaded at all: the image must never be copied (UKCIS).
NO_UPLOAD_CATEGORIES = frozenset({Category.NUDE_IMAGERY})

# Seed 004 §4.1: an account using the provision's name that is not an approved site is reported to
# the Senior Leadership and Safeguarding team, so SLT are told as well as the DSL team.
TELL_SLT_CATEGORIES = frozenset({Category.UNOFFICIAL_ACCOUNT})


class Platform(models.TextChoices):
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    X = "x", "X (Twitter)"
    TIKTOK = "tiktok", "TikTok"
    SNAPCHAT = "snapchat", "Snapchat"
    WHATSAPP = "whatsapp", "WhatsApp"
    YOUTUBE = "youtube", "YouTube"
    LINKEDIN = "linkedin", "LinkedIn"
    DISCORD = "discord", "Discord"
    GAMING = "gaming", "Online game (Roblox, Fortnite…)"
    EMAIL = "email", "Email"
    TEXT = "text", "Text or messaging app"
    WEBSITE = "website", "Website, blog or forum"
    OTHER = "other", "Other or not sure"


class Status(models.TextChoices):
    NEW = "new", "New: awaiting triage"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    REFERRED = "referred", "Referred"
    CLOSED = "closed", "Closed"


# The moves a handler may make by hand (triage and reopening have their own services).
STATUS_MOVES: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(),
    Status.TRIAGED: frozenset({Status.IN_PROGRESS, Status.REFERRED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.REFERRED, Status.CLOSED}),
    Status.REFERRED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.REFERRED)


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Outcome(models.TextChoices):
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    RESOLVED = "resolved", "Resolved within the organisation"
    CONTENT_REMOVED = "content_removed", "Content removed"
    DISCIPLINARY = "disciplinary", "Dealt with under the disciplinary procedure"
    EXTERNAL = "external", "Handled by an external agency"
    UNFOUNDED = "unfounded", "Unfounded"


OUTCOMES_NEEDING_REASON = frozenset({Outcome.NO_FURTHER_ACTION, Outcome.UNFOUNDED})


class PublicReporter(models.TextChoices):
    LEARNER = "learner", "A learner or pupil"
    PARENT = "parent", "A parent or carer"
    PUBLIC = "public", "A member of the public"
    OTHER = "other", "Someone else"


class RecordUnderLegalHold(RecordImmutable):
    """Raised on an attempt to delete an incident, or a person named in it, while a legal hold stands.

    DESIGN.md "Records": a legal hold blocks deletion. On PostgreSQL a trigger
    (``Incident.Meta.triggers``, ``NamedPerson.Meta.triggers``) refuses the same DELETE from raw
    SQL, with SQLSTATE 23001 restrict_violation (Django's ``IntegrityError``).
    """


def _refuse_held(references) -> None:
    """Raise if ``references`` (of incidents under a legal hold) names any."""
    references = sorted(references)
    if references:
        which = (
            f"Incident {references[0]} is"
            if len(references) == 1
            else f"{len(references)} incidents ({', '.join(references[:3])}{', …' if len(references) > 3 else ''}) are"
        )
        raise RecordUnderLegalHold(
            f"{which} under a legal hold: deletion is refused until the hold is lifted, with the reason recorded."
        )


class IncidentQuerySet(models.QuerySet):
    def delete(self):
        # The check and the delete are not atomic: PostgreSQL's trigger (Incident.Meta) catches a hold placed in between.
        _refuse_held(self.filter(legal_hold=True).values_list("reference", flat=True))
        return super().delete()

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def awaiting_triage(self):
        return self.filter(status=Status.NEW).order_by("reported_at")

    def due_for_retention_review(self, on: dt.date):
        return self.filter(status=Status.CLOSED, destroyed_at__isnull=True, retention_review_on__isnull=False).filter(
            retention_review_on__lte=on
        )


class Incident(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="incidents")
    reference = models.CharField(max_length=20)
    category = models.CharField(max_length=40, choices=Category.choices)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.OTHER)
    occurred_at = models.DateTimeField(
        "when it happened", validators=[DateRange("The date and time it happened", past=True)]
    )
    location = models.CharField("where", max_length=500, blank=True, help_text="A web address or an account name.")
    official_account = models.ForeignKey(
        "approvals.OfficialAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        # Seed 004 §4.7: comments on, or abuse of, official accounts.
        help_text="The official account it happened on, from the register.",
    )
    response_item = models.OneToOneField(
        "approvals.ResponseItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incident",
        help_text="The response-log item escalated into this incident.",
    )
    description = models.TextField("what happened", max_length=5000)
    pupils = models.JSONField(default=list, blank=True, help_text="Initials and year group or class only.")

    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    reported_at = models.DateTimeField(default=timezone.now)
    is_public = models.BooleanField("reported through the public page", default=False)
    public_reporter = models.CharField(max_length=10, choices=PublicReporter.choices, blank=True)
    contact_name = models.CharField(max_length=150, blank=True)
    contact_details = models.CharField(max_length=200, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    is_safeguarding = models.BooleanField(default=False)
    routed_to_lead = models.BooleanField(
        default=False, help_text="An allegation about a DSL or deputy: handled by the organisation lead instead."
    )
    triage_due_at = models.DateTimeField()
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_incidents"
    )
    first_assessment = models.TextField(blank=True, max_length=5000)
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lado_due_at = models.DateTimeField(
        null=True, blank=True, help_text="A LADO referral is due within one working day."
    )
    lado_referred_at = models.DateTimeField(null=True, blank=True)

    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True, max_length=2000)
    reporter_message = models.TextField(
        "message to the reporter",
        blank=True,
        max_length=2000,
        help_text="Written at closure for the person who reported it; shown on their status page and emailed.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    legal_hold = models.BooleanField(default=False)
    legal_hold_reason = models.CharField(max_length=300, blank=True)
    retention_review_on = models.DateField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "reference"], name="incident_reference_unique"),
            models.CheckConstraint(condition=~Q(status="closed") | ~Q(outcome=""), name="closed_incident_has_outcome"),
            models.CheckConstraint(
                condition=~Q(outcome__in=["no_further_action", "unfounded"]) | ~Q(outcome_reason=""),
                name="no_action_outcome_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["status", "triage_due_at"]),
            models.Index(fields=["reported_by", "reported_at"]),
        ]
        triggers = [
            # A held incident cannot be deleted by raw SQL either (the ORM refuses first: ``delete``).
            pgtrigger.Trigger(
                name="legal_hold",
                when=pgtrigger.Before,
                operation=pgtrigger.Delete,
                condition=pgtrigger.Condition("OLD.legal_hold"),
                func=(
                    "RAISE EXCEPTION 'incident % is under a legal hold: DELETE refused', OLD.reference "
                    "USING ERRCODE = 'restrict_violation';"
                ),
            ),
            # A case closes only when each task is done or set aside with a reason, by any path
            # (``services.close_incident`` refuses first, with a message).
            pgtrigger.Trigger(
                name="close_needs_tasks_finished",
                when=pgtrigger.Before,
                operation=pgtrigger.UpdateOf("status"),
                condition=pgtrigger.Condition("NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed'"),
                func=(
                    "IF EXISTS (SELECT 1 FROM incidents_incidenttask WHERE incident_id = NEW.id AND status = 'open') "
                    "THEN RAISE EXCEPTION 'incident % has open tasks: closing it is refused', NEW.reference "
                    "USING ERRCODE = 'check_violation'; END IF; RETURN NEW;"
                ),
            ),
        ]

    def __str__(self):
        return self.reference

    def delete(self, *args, **kwargs):
        # The row as stored counts, not this copy of it: the hold may have been placed since it was loaded.
        _refuse_held(Incident.objects.filter(pk=self.pk, legal_hold=True).values_list("reference", flat=True))
        return super().delete(*args, **kwargs)

    @property
    def rules(self) -> CategoryRules:
        return CATEGORY_RULES[self.category]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def takes_uploads(self) -> bool:
        return self.category not in NO_UPLOAD_CATEGORIES

    def triage_is_late(self, now: dt.datetime | None = None) -> bool:
        if self.triaged_at:
            return self.triaged_at > self.triage_due_at
        return (now or timezone.now()) > self.triage_due_at

    def lado_referral_is_late(self, now: dt.datetime | None = None) -> bool:
        return (
            self.lado_due_at is not None
            and self.lado_referred_at is None
            and (now or timezone.now()) > self.lado_due_at
        )

    @property
    def accepts_evidence(self) -> bool:
        """Files may be added while the case is open (``services.add_evidence`` refuses a closed one)."""
        return self.takes_uploads and self.is_open and self.destroyed_at is None

    @property
    def can_be_reopened(self) -> bool:
        """As ``services.reopen_incident`` allows: closed, and not destroyed under the retention schedule."""
        return self.status == Status.CLOSED and self.destroyed_at is None

    def reporter_label(self) -> str:
        if self.reported_by_id:
            return self.reported_by.full_name or self.reported_by.email
        return f"{self.get_public_reporter_display() or 'Someone'} (public page)"


class Involvement(models.TextChoices):
    # Shown after a name, in brackets ("Sam Lee (affected by it)"): no brackets of their own.
    SUBJECT = "subject", "The concern is about them"
    AFFECTED = "affected", "Affected by it"


class NamedPersonQuerySet(models.QuerySet):
    def delete(self):
        held = self.filter(incident__legal_hold=True).values_list("incident__reference", flat=True).distinct()
        _refuse_held(held)
        return super().delete()


class NamedPerson(models.Model):
    """A member of staff named in a report. They never see or handle it, whatever their roles.

    Part of the record a legal hold keeps: removing the row would also open the case to them.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="named_people")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    involvement = models.CharField(max_length=10, choices=Involvement.choices)

    objects = NamedPersonQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="named_once_per_incident")]
        indexes = [models.Index(fields=["user", "incident"])]
        triggers = [
            # Nor can a person named in a held incident be removed by raw SQL (the ORM refuses first).
            pgtrigger.Trigger(
                name="legal_hold",
                when=pgtrigger.Before,
                operation=pgtrigger.Delete,
                declare=[("held_reference", "text")],
                func=(
                    "SELECT reference INTO held_reference FROM incidents_incident WHERE id = OLD.incident_id AND legal_hold; "
                    "IF FOUND THEN "
                    "RAISE EXCEPTION 'incident % is under a legal hold: DELETE of a named person refused', held_reference "
                    "USING ERRCODE = 'restrict_violation'; "
                    "END IF; "
                    "RETURN OLD;"
                ),
            )
        ]

    def __str__(self):
        return f"{self.user} ({self.get_involvement_display()})"

    def delete(self, *args, **kwargs):
        _refuse_held(Incident.objects.filter(pk=self.incident_id, legal_hold=True).values_list("reference", flat=True))
        return super().delete(*args, **kwargs)


class PublicStatusLink(models.Model):
    """A public reporter's private way back to their report (seed 004 §8.4-8.5), without signing in.

    The link carries a random token; only its SHA-256 is kept (``incidents.public_reports``), so
    the database, a backup or an admin page holds nothing that opens the status page. The
    address is optional and only ever hears the status and the closing message.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_links")
    token_hash = models.CharField("SHA-256 of the token", max_length=64)
    email = models.EmailField("email address for updates", max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="status_link_token_unique")]

    def __str__(self):
        return f"Status link for {self.incident}"
