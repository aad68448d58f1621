"""Online-safety incidents: the report, the people named in it, its evidence and its chronology.

The categories and who is told come from the seeds (DESIGN.md "Incident
reporting"): 002 Appendix 1 (online abuse of staff), 004 §4.1 (unofficial
accounts), §4.7 (comments on official accounts), §5.4-5.5 (contact with and
communication involving pupils), 002 §8 and 003 §7 (breaches and referrals).
The chronology and the evidence are append-only: corrections are addenda.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from core.models import AppendOnlyModel, AppendOnlyQuerySet, RecordImmutable
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
    (migration 0004) refuses the same DELETE from raw SQL.
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
        # The check and the delete are not atomic: PostgreSQL's trigger catches a hold placed in between.
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
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["status", "triage_due_at"]),
            models.Index(fields=["reported_by", "reported_at"]),
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

    def __str__(self):
        return f"{self.user} ({self.get_involvement_display()})"

    def delete(self, *args, **kwargs):
        _refuse_held(Incident.objects.filter(pk=self.incident_id, legal_hold=True).values_list("reference", flat=True))
        return super().delete(*args, **kwargs)


def _evidence_path(instance, filename):
    return f"incidents/{instance.incident.organisation_id}/{instance.incident_id}/{filename}"


class Evidence(AppendOnlyModel):
    """A file handed in as evidence: the original as received (hashed) and a copy safe to open.

    Never deleted by a handler; more can be added later.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    original = models.FileField(upload_to=_evidence_path, max_length=300)
    viewable = models.FileField(upload_to=_evidence_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256 of the original", max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    shown_at = models.DateTimeField(
        "date and time it shows", validators=[DateRange("The date and time a file shows", past=True)]
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name_plural = "evidence"

    def __str__(self):
        return f"{self.original_name} ({self.incident})"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class ActionKind(models.TextChoices):
    NOTE = "note", "Note"
    MEETING = "meeting", "Meeting"
    REMOVAL_REQUEST = "removal_request", "Asked for the content to be removed"
    PLATFORM_REPORT = "platform_report", "Reported to the platform"
    POLICE = "police", "Referral to the police"
    LADO = "lado", "Referral to the LADO"
    LOCAL_AUTHORITY = "local_authority", "Referral to the local authority"
    SAFEGUARDING_PARTNERSHIP = "safeguarding_partnership", "Referral to the safeguarding partnership"
    HELPLINE = "helpline", "Contacted the Professionals Online Safety Helpline"
    DISCIPLINARY = "disciplinary", "Disciplinary referral"
    STAFF_SUPPORT = "staff_support", "Support offered to the member of staff"
    # Written by the services, never chosen by hand:
    TRIAGE = "triage", "Triage"
    STATUS = "status", "Status changed"
    EVIDENCE = "evidence", "Evidence added"
    POLICY_BREACH = "policy_breach", "Policy breach recorded"
    LEGAL_HOLD = "legal_hold", "Legal hold"
    RETENTION = "retention", "Retention review"
    ADDENDUM = "addendum", "Addendum (correction)"
    THRESHOLD = "threshold", "Harm-threshold step"


HAND_ACTIONS = [
    ActionKind.NOTE,
    ActionKind.MEETING,
    ActionKind.REMOVAL_REQUEST,
    ActionKind.PLATFORM_REPORT,
    ActionKind.POLICE,
    ActionKind.LADO,
    ActionKind.LOCAL_AUTHORITY,
    ActionKind.SAFEGUARDING_PARTNERSHIP,
    ActionKind.HELPLINE,
    ActionKind.DISCIPLINARY,
    ActionKind.STAFF_SUPPORT,
]
REFERRALS = frozenset(
    {
        ActionKind.POLICE,
        ActionKind.LADO,
        ActionKind.LOCAL_AUTHORITY,
        ActionKind.SAFEGUARDING_PARTNERSHIP,
    }
)


class IncidentAction(AppendOnlyModel):
    """One dated entry in the chronology. Never edited: a correction is an addendum pointing at it."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=30, choices=ActionKind.choices)
    happened_at = models.DateTimeField("when", validators=[DateRange("The date and time of an action", past=True)])
    text = models.TextField(max_length=5000, blank=True)
    external_reference = models.CharField(
        max_length=100, blank=True, help_text="For example a police crime number or a platform's report number."
    )
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="addenda")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["happened_at", "pk"]

    def __str__(self):
        return f"{self.incident}: {self.get_kind_display()} {self.happened_at:%Y-%m-%d %H:%M}"


class PolicyBreach(AppendOnlyModel):
    """For a staff breach: which clause of which version, and the named person's acknowledgement of it."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="policy_breaches")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey("policies.PolicyVersion", on_delete=models.PROTECT, related_name="+")
    clause = models.CharField(max_length=30, help_text="For example 5.4(c).")
    acknowledgement = models.ForeignKey(
        "policies.Acknowledgement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self):
        return f"{self.incident}: {self.person} clause {self.clause}"


class ThresholdOutcome(models.TextChoices):
    ALLEGATION = "allegation", "Meets the harm threshold: an allegation for the LADO"
    LOW_LEVEL = "low_level", "Below the harm threshold: a low-level concern"


class ThresholdDecision(AppendOnlyModel):
    """The harm-threshold step for a concern about a member of staff (KCSIE Part 4): the four
    questions answered, what it is, the reasons, and who decided (``incidents.allegations``).

    Seen and made by the DSL team and the organisation lead only (``incidents.access.THRESHOLD``).
    Never edited: a later decision is a new row, and the latest stands.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="threshold_decisions")
    harmed_child = models.BooleanField()
    criminal_offence = models.BooleanField()
    risk_of_harm = models.BooleanField()
    unsuitable = models.BooleanField()
    outcome = models.CharField(max_length=12, choices=ThresholdOutcome.choices)
    reasons = models.TextField(max_length=2000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["decided_at", "pk"]

    def __str__(self):
        return f"{self.incident}: {self.get_outcome_display()}"


class RetentionPeriod(models.Model):
    """An organisation's own retention period for one category (the defaults are in CATEGORY_RULES)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=40, choices=Category.choices)
    years = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "category"], name="one_retention_period_per_category")
        ]

    def __str__(self):
        return f"{self.organisation}: {self.get_category_display()} {self.years} years"


class RetentionDecision(models.TextChoices):
    KEEP = "keep", "Keep for longer"
    DESTROY = "destroy", "Destroy the record"


class RetentionReview(AppendOnlyModel):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="retention_reviews")
    decision = models.CharField(max_length=10, choices=RetentionDecision.choices)
    reason = models.TextField(max_length=2000)
    # As far ahead as the longest retention period (RetentionPeriodsForm).
    keep_until = models.DateField(
        null=True, blank=True, validators=[DateRange("The date to keep the record until", years_ahead=100)]
    )
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    def __str__(self):
        return f"{self.incident}: {self.get_decision_display()}"
