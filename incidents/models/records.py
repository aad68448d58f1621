"""What a case keeps and never changes: evidence, the chronology, policy breaches, and retention
reviews (append-only; corrections are addenda)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation
from core.db import AppendOnly
from core.models import AppendOnlyModel, AppendOnlyQuerySet
from core.validators import DateRange
from incidents.models.cases import (
    Category,
    Incident,
)


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
        triggers = [AppendOnly()]

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
    PLATFORM_REMOVED = "platform_removed", "Removed by the platform"


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
        triggers = [AppendOnly()]

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
        triggers = [AppendOnly()]

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
        triggers = [AppendOnly()]

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

    class Meta:
        triggers = [AppendOnly()]

    def __str__(self):
        return f"{self.incident}: {self.get_decision_display()}"
