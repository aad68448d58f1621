"""Policies, their versions, and who has acknowledged which version when.

Seed 001's policy table is the data each policy carries (version, review
frequency, date reviewed, next review date, approval body, author); seed 000
§3 is why an acknowledgement is kept for good ("deemed to be aware of its
contents").
"""

import datetime as dt
import hashlib
import secrets

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import Membership, Organisation, Role, RoleGrant, StaffType, User, today
from core.db import AppendOnly
from core.models import AppendOnlyModel, AppendOnlyQuerySet
from core.validators import DateRange
from policies import tallies


class Category(models.TextChoices):
    SOCIAL_MEDIA = "social_media", "Social media"
    ONLINE_SAFETY = "online_safety", "Online safety"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    ACCEPTABLE_USE = "acceptable_use", "Acceptable use"
    DATA_PROTECTION = "data_protection", "Data protection"
    CONDUCT = "conduct", "Staff conduct"
    OTHER = "other", "Other"


class PolicyQuerySet(models.QuerySet):
    def applying_to(self, organisation: Organisation):
        """Policies an organisation's staff follow: its own and its trust's."""
        return self.filter(organisation_id__in=organisation.reach_ids)

    def applying_to_any(self, organisation_ids):
        """``applying_to`` for many organisations at once, in one subquery: theirs and their trusts'."""
        reach = Organisation.objects.filter(Q(pk__in=organisation_ids) | Q(members__in=organisation_ids))
        return self.filter(organisation_id__in=reach.values("pk"))


class Policy(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="policies")
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=30, choices=Category.choices, default=Category.OTHER)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_policies")
    approval_body = models.CharField(max_length=150, blank=True, help_text="Who approves it, e.g. the governing board.")
    # Seed 001's policy table lists the author beside the approval body and version: often a
    # post or a team (the DSL, the trust's safeguarding team), not someone with a sign-in.
    author = models.CharField(max_length=150, blank=True, help_text="Who wrote it, e.g. the trust's safeguarding lead.")
    review_frequency_months = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    audience_roles = models.JSONField(
        default=list, blank=True, help_text="Roles that must acknowledge it; empty means everyone."
    )
    audience_staff_types = models.JSONField(
        default=list, blank=True, help_text="Staff types that must acknowledge it; empty means every type."
    )
    addendum_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="addenda",
        help_text="A member organisation's local points added to its trust's policy.",
    )
    is_social_media_policy = models.BooleanField(
        "this is the organisation's Social Media Policy",
        default=False,
        help_text="Account approvals check that account runners have acknowledged it.",
    )
    # Reviews come at most every five years (review_frequency_months).
    next_review_date = models.DateField(
        null=True, blank=True, validators=[DateRange("The next review date", years_ahead=6)]
    )
    acknowledgement_version = models.ForeignKey(
        "PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version whose acknowledgement currently counts (the last one that asked staff to acknowledge).",
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_social_media_policy=True),
                name="one_social_media_policy_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["organisation", "addendum_to"],
                condition=Q(addendum_to__isnull=False),
                name="one_addendum_per_organisation",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_addendum(self) -> bool:
        return self.addendum_to_id is not None

    def takes_addendum_from(self, organisation) -> bool:
        """A member school adds a local addendum to its trust's policy (not to another addendum)."""
        return organisation.parent_id == self.organisation_id and not self.is_addendum

    def audience(self, on: dt.date | None = None):
        """Current memberships that must acknowledge this policy.

        A trust's policy reaches the staff of every member organisation.
        """
        org_ids = [
            self.organisation_id,
            *Organisation.objects.filter(parent_id=self.organisation_id).values_list("pk", flat=True),
        ]
        memberships = Membership.objects.current(on).filter(organisation_id__in=org_ids)
        if self.audience_staff_types:
            memberships = memberships.filter(staff_type__in=self.audience_staff_types)
        if self.audience_roles:
            memberships = memberships.filter(
                Exists(RoleGrant.objects.filter(membership=OuterRef("pk"), role__in=self.audience_roles))
            )
        return memberships

    def audience_description(self) -> str:
        parts = []
        if self.audience_staff_types:
            parts.append(", ".join(StaffType(t).label.lower() for t in self.audience_staff_types) + " staff")
        if self.audience_roles:
            parts.append("people with the role " + ", ".join(Role(r).label.lower() for r in self.audience_roles))
        return " who are ".join(parts) if parts else "All staff, volunteers and agency staff included"

    def review_date_after(self, day: dt.date) -> dt.date:
        return day + relativedelta(months=self.review_frequency_months)

    def review_is_overdue(self, on: dt.date | None = None) -> bool:
        return self.next_review_date is not None and self.next_review_date < (on or today())


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    RETIRED = "retired", "Retired"


class SourceFormat(models.TextChoices):
    MARKDOWN = "markdown", "Written in the portal"
    PDF = "pdf", "PDF document"
    DOCX = "docx", "Word document"


class PolicyVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=VersionStatus.PUBLISHED)


def _document_path(instance, filename):
    return f"policies/{instance.policy_id}/{filename}"


class PolicyVersion(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField("version", max_length=30, help_text="For example 3 or 2024.1.")
    status = models.CharField(max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    source_format = models.CharField(max_length=10, choices=SourceFormat.choices, default=SourceFormat.MARKDOWN)
    text = models.TextField("policy text", blank=True, help_text="Markdown: # for headings, - for lists.")
    document = models.FileField(upload_to=_document_path, blank=True)
    html = models.TextField(blank=True, help_text="Sanitised HTML shown to readers (Markdown and Word versions).")
    content_sha256 = models.CharField(max_length=64, blank=True)
    summary_of_changes = models.TextField(blank=True)
    # The next review date is worked out from the approval date: a mistyped year would make the
    # policy overdue at once, or due never.
    effective_date = models.DateField(
        null=True, blank=True, validators=[DateRange("The effective date", years_ahead=1)]
    )
    approval_date = models.DateField(null=True, blank=True, validators=[DateRange("The approval date", years_ahead=1)])
    approved_by = models.CharField("approval body", max_length=150, blank=True)
    requires_acknowledgement = models.BooleanField(
        "staff must acknowledge this version",
        default=True,
        help_text="Untick for a minor correction (a typo): earlier acknowledgements still count.",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField(
        null=True, blank=True, help_text="When staff in post at publication must acknowledge by."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["policy", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy"], condition=Q(status="published"), name="one_published_version_per_policy"
            ),
            models.UniqueConstraint(fields=["policy", "label"], name="version_label_unique_per_policy"),
        ]

    def __str__(self):
        return f"{self.policy.title} v{self.label}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class AcknowledgementRequestQuerySet(models.QuerySet):
    def current(self, on: dt.date | None = None):
        """Requests of people still in post (leavers drop out of the figures)."""
        on = on or today()
        return self.filter(
            Q(membership__leaving_date__isnull=True) | Q(membership__leaving_date__gte=on),
            membership__user__is_active=True,
        )

    def counting(self, *, listed: bool = False):
        """Requests for the version of their policy that currently counts (the last major one).

        ``listed`` reads those versions' ids first (one small query) and filters by the list.
        PostgreSQL misjudges the join (it takes the policies' counting versions for one row), so
        a query narrowed by its other filters, such as a sweep's batch of people, would scan
        every open request of every policy instead of the batch's own: at 25,000 staff a batch's
        claim took 131 ms joined and 22 ms listed.
        """
        if listed:
            versions = Policy.objects.exclude(acknowledgement_version=None).values_list(
                "acknowledgement_version_id", flat=True
            )
            return self.filter(version_id__in=list(versions))
        return self.filter(version_id=F("version__policy__acknowledgement_version_id"))

    def outstanding(self):
        return self.filter(acknowledgement__isnull=True)

    def overdue(self, on: dt.date | None = None):
        return self.outstanding().filter(due_date__lt=on or today())


class AcknowledgementRequest(models.Model):
    """One person asked to acknowledge one version (the version whose publication asked).

    A minor correction published later does not ask again: the person reads
    the current text and their acknowledgement answers this request.
    """

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="requests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgement_requests"
    )
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="acknowledgement_requests")
    due_date = models.DateField()
    acknowledgement = models.OneToOneField(
        "Acknowledgement", null=True, blank=True, on_delete=models.PROTECT, related_name="request"
    )
    reminder_stage = models.PositiveSmallIntegerField(default=0)
    next_reminder_on = models.DateField(help_text="When the next reminder stage falls due.")
    manager_told_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AcknowledgementRequestQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="one_request_per_person_per_version")]
        indexes = [
            models.Index(fields=["user", "acknowledgement"]),
            models.Index(fields=["version", "acknowledgement", "due_date"]),
            # No index holds reminder_stage, next_reminder_on or manager_told_at: the sweep moves
            # those on every open request it reminds, and a row whose indexed columns do not
            # change is updated in place (a "HOT" update) instead of in every index of the table.
            # At 25,000 staff a batch's moves took 0.21 s with an index on next_reminder_on and
            # 0.06 s without; the sweep never read it (it finds the due people from the open
            # requests, 0.15 s a day).
        ]
        # The tallies' triggers (policies/tallies.py).
        triggers = tallies.REQUEST_TRIGGERS

    def __str__(self):
        return f"{self.user} to acknowledge {self.version}"

    def is_overdue(self, on: dt.date | None = None) -> bool:
        return self.acknowledgement_id is None and self.due_date < (on or today())

    @property
    def is_for_an_earlier_version(self) -> bool:
        """Asked for a version that no longer counts (``counting``): a later major version has been published."""
        counting = self.version.policy.acknowledgement_version_id
        return counting is not None and self.version_id != counting


class AcknowledgementTally(models.Model):
    """How many current requests there are, and how many are acknowledged, per group of staff.

    A denormalised counter behind the leaders' compliance figures, so that a
    trust's dashboard adds up a few thousand tallies instead of counting
    hundreds of thousands of requests. Each request of an active person counts
    once in each breakdown the dashboards offer: in its organisation's row
    (``name`` empty), in its department's and in its staff type's, each row
    also keyed by due date and leaving date, so that "overdue" and "still in
    post" remain questions of today's date. A dashboard reads only the rows of
    the breakdown it shows. On PostgreSQL, triggers (``policies/tallies.py``,
    declared on ``AcknowledgementRequest``, ``TalliedMembership`` and ``TalliedUser``)
    keep the rows right in the same transaction as every write that moves a
    request between tallies; nothing in Python writes them.
    """

    # The unique index below leads with the version, then the breakdown: a dashboard's rows.
    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="+", db_index=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    breakdown = models.CharField(max_length=20, help_text="organisation, department or staff_type")
    name = models.CharField(max_length=150, help_text="The department or staff type; empty for the organisation.")
    due_date = models.DateField()
    leaving_date = models.DateField(null=True)
    asked = models.IntegerField(help_text="Requests in the group.")
    acknowledged_count = models.IntegerField(help_text="Of those, how many are acknowledged.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "breakdown", "organisation", "name", "due_date", "leaving_date"],
                name="one_tally_per_group",
                nulls_distinct=False,
            )
        ]

    def __str__(self):
        return f"{self.acknowledged_count}/{self.asked} of {self.version} in {self.organisation_id}"


class TalliedMembership(Membership):
    """``accounts.Membership`` as the tallies see it: a proxy (no table) that carries their trigger.

    Declared here, not on ``Membership``, so that the migration installing it is policies': accounts,
    the lower floor, knows nothing of tallies (``policies/tallies.py`` says more). Not for queries.
    """

    class Meta:
        proxy = True
        default_permissions = ()
        triggers = tallies.MEMBERSHIP_TRIGGERS


class TalliedUser(User):
    """``accounts.User`` as the tallies see it: a proxy (no table) that carries their trigger. Not for queries."""

    # A plain manager: the proxy's migration then names nothing of accounts' code.
    objects = models.Manager()

    class Meta:
        proxy = True
        default_permissions = ()
        triggers = tallies.USER_TRIGGERS


class AcknowledgementMethod(models.TextChoices):
    """How an acknowledgement was made. Seed 000 §2 and 002 §3 put staff without a work email or
    device in scope: they read the policy and sign for it on paper or at a shared device, and their
    line manager or an administrator records it ("assisted")."""

    SIGNED_IN = "signed_in", "Signed in"
    PAPER = "paper", "On paper"
    SHARED_DEVICE = "shared_device", "At a shared device"


ASSISTED_METHODS = (AcknowledgementMethod.PAPER, AcknowledgementMethod.SHARED_DEVICE)


def _signed_sheet_path(instance, filename):
    # Never the uploaded name: a random one, with the extension the content was sniffed as.
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    suffix = f".{extension}" if extension in {"pdf", "png", "jpg"} else ""
    return f"signed-sheets/{instance.user_id}/{secrets.token_hex(16)}{suffix}"


class Acknowledgement(AppendOnlyModel):
    """A person's confirmation that they have read and understood one version. Never edited or deleted.

    Made by the person, signed in (``method`` SIGNED_IN), or recorded for someone without an email
    address by ``recorded_by`` from a signed sheet or a shared device ("assisted"). An assisted
    acknowledgement's ``acknowledged_at`` is the day the person signed (noon, when it was not the day
    it was recorded); ``recorded_at`` is when it was recorded.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgements")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acknowledgements")
    acknowledged_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    content_sha256 = models.CharField("SHA-256 of the text shown", max_length=64)
    method = models.CharField(
        "how it was made", max_length=20, choices=AcknowledgementMethod.choices, default=AcknowledgementMethod.SIGNED_IN
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    signed_sheet = models.FileField("scan of the signed sheet", upload_to=_signed_sheet_path, blank=True)
    signed_sheet_sha256 = models.CharField(max_length=64, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="one_acknowledgement_per_person_per_version"),
            # An assisted acknowledgement always names who recorded it, and only an assisted one does.
            models.CheckConstraint(
                condition=Q(method=AcknowledgementMethod.SIGNED_IN, recorded_by__isnull=True)
                | (~Q(method=AcknowledgementMethod.SIGNED_IN) & Q(recorded_by__isnull=False)),
                name="assisted_acknowledgement_names_recorder",
            ),
        ]
        indexes = [
            # The dashboards count the assisted among the acknowledged: few rows, found from here.
            models.Index(
                fields=["version"], condition=~Q(method=AcknowledgementMethod.SIGNED_IN), name="assisted_ack_idx"
            ),
        ]
        triggers = [AppendOnly()]

    def __str__(self):
        return f"{self.user} acknowledged {self.version} on {self.acknowledged_at:%d %b %Y}"

    @property
    def is_assisted(self) -> bool:
        return self.method != AcknowledgementMethod.SIGNED_IN

    def how(self) -> str:
        """In words, for pages and exports: "Signed in", or "On paper, recorded by Sam Patel"."""
        if not self.is_assisted:
            return self.get_method_display()
        return f"{self.get_method_display()}, recorded by {self.recorded_by}"


class QuizQuestion(models.Model):
    """A multiple-choice check that must be answered correctly before acknowledging."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    prompt = models.CharField(max_length=300)
    choices = models.JSONField(help_text="The answers to choose from, in order.")
    correct_choice = models.PositiveSmallIntegerField(help_text="Position of the right answer, from 0.")

    class Meta:
        ordering = ["version", "position", "pk"]

    def __str__(self):
        return self.prompt


class QuizAttempt(AppendOnlyModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="quiz_attempts")
    answers = models.JSONField()
    passed = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        triggers = [AppendOnly()]


class PolicyQuestion(models.Model):
    """A reader's question to the policy's owner."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="questions")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    question = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Question about {self.policy} from {self.asked_by}"


class ReviewOutcome(models.TextChoices):
    NO_CHANGE = "no_change", "Reviewed: no change needed"
    NEW_VERSION = "new_version", "Reviewed: new version published"


class PolicyReview(AppendOnlyModel):
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="reviews")
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_on = models.DateField()
    next_review_date = models.DateField()
    version = models.ForeignKey(PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-reviewed_on", "-pk"]
        triggers = [AppendOnly()]


# A calendar link nobody has fetched for this long stops working; its person can make a new one.
CALENDAR_LINK_UNUSED_LIFETIME = relativedelta(months=12)


class CalendarFeed(models.Model):
    """A person's private link to their review-date calendar (``policies.calendar``).

    Calendar apps cannot sign in, so the link carries a token. Only its SHA-256 is
    kept: the link is shown once, when it is made. A new link replaces the token (the
    old link stops working); turning the link off removes the row.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Calendar link of {self.user}"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def expires_at(self) -> dt.datetime:
        return (self.last_used_at or self.created_at) + CALENDAR_LINK_UNUSED_LIFETIME

    def has_expired(self, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at
