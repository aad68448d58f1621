"""Official social-media accounts: the business case, the decision, the register and the response log.

Seed 001 §3-5 is the source: a business case with five points (§4), SLT approval
only once everyone running the account has read the policy and been trained
(§4), credentials held and shared with SLT (004 §4.2), an account closed or
handed over when its lead leaves (§3), and every comment answered within 24
hours (§5).
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation, today
from approvals.certificates import random_name
from core.validators import DateRange


class RequestKind(models.TextChoices):
    OFFICIAL_ACCOUNT = "official_account", "An official social-media account"
    CURRICULUM_GROUP = "curriculum_group", "A closed group or blog for the curriculum"
    WEBSITE = "website", "A website or blog that mentions the provision"


class Platform(models.TextChoices):
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    X = "x", "X (Twitter)"
    LINKEDIN = "linkedin", "LinkedIn"
    YOUTUBE = "youtube", "YouTube"
    TIKTOK = "tiktok", "TikTok"
    BLOG = "blog", "Blog (WordPress, Blogger…)"
    WEBSITE = "website", "Website"
    TEAMS = "teams", "Microsoft Teams"
    CLASSROOM = "classroom", "Google Classroom"
    OTHER = "other", "Other"


class Visibility(models.TextChoices):
    OPEN = "open", "Open: anyone can see it"
    CLOSED = "closed", "Private or closed: members only"


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATUSES = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.CHANGES_REQUESTED)


class AccountRequest(models.Model):
    """A business case for an official account (seed 001 §4)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="account_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_requests")
    kind = models.CharField(max_length=20, choices=RequestKind.choices, default=RequestKind.OFFICIAL_ACCOUNT)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    proposed_name = models.CharField("proposed name or handle", max_length=120)
    official_email = models.EmailField("official email it will use")
    aim = models.TextField("the aim of the account")
    audience = models.TextField("the intended audience")
    promotion = models.TextField("how the account will be promoted")
    visibility = models.CharField(
        "whether it will be open or private/closed", max_length=10, choices=Visibility.choices
    )
    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    submission = models.PositiveSmallIntegerField(default=0, help_text="How many times it has been submitted.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self):
        return f"{self.get_platform_display()}: {self.proposed_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in (RequestStatus.DRAFT, RequestStatus.CHANGES_REQUESTED)


class ApprovalRule(models.Model):
    """Who must approve one kind of request in one organisation, as the organisation sets it
    (``approvals.approval_rules``): how many approvals from SLT (the lead's counts as one), and
    whether the organisation lead must be among them (seed 002 §4.2, 004 "Blogging")."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="approval_rules")
    kind = models.CharField(max_length=20, choices=RequestKind.choices)
    slt_approvals = models.PositiveSmallIntegerField(
        "approvals needed", default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    lead_must_approve = models.BooleanField("the organisation lead must approve", default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind"], name="one_approval_rule_per_kind"),
            models.CheckConstraint(
                condition=Q(slt_approvals__gte=1, slt_approvals__lte=5), name="approval_rule_1_to_5_approvals"
            ),
        ]

    def __str__(self):
        return f"{self.organisation}: {self.get_kind_display()}"


class Runner(models.Model):
    """A person named to run the account: one lead, and others (volunteers allowed)."""

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="runners")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_lead = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="runner_once_per_request"),
            models.UniqueConstraint(fields=["request"], condition=Q(is_lead=True), name="one_lead_per_request"),
        ]
        ordering = ["-is_lead", "user__last_name"]

    def __str__(self):
        return f"{self.user} ({'lead' if self.is_lead else 'runner'})"


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Ask for changes"
    REJECT = "reject", "Reject"


class Decision(models.Model):
    """One decider's decision on one submission of a request. A double click makes one row."""

    request = models.ForeignKey(AccountRequest, on_delete=models.PROTECT, related_name="decisions")
    submission = models.PositiveSmallIntegerField()
    decider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    as_lead = models.BooleanField(default=False, help_text="Given as the organisation lead.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "submission", "decider"], name="one_decision_per_person_per_submission"
            )
        ]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.decider}: {self.get_kind_display()}"


def _training_path(instance, filename):
    # Never the uploaded name: a random one, with the extension the content was sniffed as.
    return f"training/{instance.user_id}/{random_name(filename)}"


class TrainingQuerySet(models.QuerySet):
    def in_date(self, on: dt.date | None = None):
        return self.filter(expires_on__gte=on or today())

    def verified(self):
        """Made or vouched for by an administrator or SLT: only these count for the gate (seed 001 §4)."""
        return self.filter(verified_at__isnull=False)


class TrainingRecord(models.Model):
    """Social-media training a person has completed (seed 001 §4: "received appropriate training")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_records")
    course = models.CharField(max_length=200)
    completed_on = models.DateField(validators=[DateRange("The completion date", past=True)])
    expires_on = models.DateField(validators=[DateRange("The expiry date", years_ahead=5)])
    evidence = models.FileField(upload_to=_training_path, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The administrator or SLT member who vouched for it; a self-declared record counts only then.",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    objects = TrainingQuerySet.as_manager()

    class Meta:
        ordering = ["-completed_on"]

    def __str__(self):
        return f"{self.course} ({self.user}, {self.completed_on:%d %b %Y})"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def has_expired(self, on: dt.date | None = None) -> bool:
        """The opposite of ``TrainingQuerySet.in_date``."""
        return self.expires_on < (on or today())


class AccountStatus(models.TextChoices):
    PENDING_CREATION = "pending_creation", "Pending creation"
    ACTIVE = "active", "Active"
    HANDOVER_NEEDED = "handover_needed", "Handover needed"
    CLOSED = "closed", "Closed"


class OfficialAccountQuerySet(models.QuerySet):
    def live(self):
        return self.exclude(status=AccountStatus.CLOSED)


class OfficialAccount(models.Model):
    """An entry in the register of official accounts, with the provisioning checklist (seed 004 §4.1, §4.2, §4.8)."""

    request = models.OneToOneField(AccountRequest, on_delete=models.PROTECT, related_name="account")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="official_accounts")
    name = models.CharField("name or handle", max_length=120)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    url = models.URLField("address (URL)", blank=True)
    official_email = models.EmailField()
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_accounts")
    status = models.CharField(max_length=20, choices=AccountStatus.choices, default=AccountStatus.PENDING_CREATION)
    # The provisioning checklist
    linked_to_official_email = models.BooleanField("linked to the official email address", default=False)
    policy_link_in_about = models.BooleanField("the policy is linked from the About page", default=False)
    official_branding = models.BooleanField(
        "shows \u201cOfficial / Provision Approved Site\u201d branding", default=False
    )
    two_factor_on = models.BooleanField("two-factor sign-in is on", default=False)
    credentials_location = models.CharField(
        "where the sign-in details are kept",
        max_length=200,
        blank=True,
        help_text="For example: the portal, or the SLT safe.",
    )
    credentials_changed_on = models.DateField(
        "sign-in details last changed",
        null=True,
        blank=True,
        validators=[DateRange("The date the sign-in details were changed", past=True)],
    )
    shared_with_slt = models.BooleanField("sign-in details shared with SLT", default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    next_check_due = models.DateField(null=True, blank=True)
    intake_key_version = models.PositiveSmallIntegerField(default=1)

    objects = OfficialAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self):
        return f"{self.name} ({self.get_platform_display()})"

    CHECKLIST = (
        "linked_to_official_email",
        "policy_link_in_about",
        "official_branding",
        "two_factor_on",
        "shared_with_slt",
    )

    @property
    def is_closed(self) -> bool:
        return self.status == AccountStatus.CLOSED

    @property
    def needs_handover(self) -> bool:
        return self.status == AccountStatus.HANDOVER_NEEDED

    @property
    def set_up_unfinished(self) -> bool:
        return self.status == AccountStatus.PENDING_CREATION

    def check_is_due(self, on: dt.date | None = None) -> bool:
        """The termly check of an active account is due on its date and after (``approvals.reminders``)."""
        return (
            self.status == AccountStatus.ACTIVE
            and self.next_check_due is not None
            and self.next_check_due <= (on or today())
        )

    def checklist_gaps(self) -> list[str]:
        """What still stops the account being active, in words."""
        gaps = [str(self._meta.get_field(name).verbose_name) for name in self.CHECKLIST if not getattr(self, name)]
        if not self.url:
            gaps.insert(0, "its address (URL)")
        if not self.credentials_location:
            gaps.append("where the sign-in details are kept")
        if not self.credentials_changed_on:
            gaps.append("when the sign-in details were last changed")
        return gaps


class AccountRole(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    MODERATOR = "moderator", "Moderator"


class AccountMember(models.Model):
    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_memberships")
    role = models.CharField(max_length=20, choices=AccountRole.choices, default=AccountRole.MODERATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="account_member_once")]

    def __str__(self):
        return f"{self.user}: {self.get_role_display()} of {self.account}"

    @property
    def is_lead(self) -> bool:
        """The lead stays on the team until the account is handed over (``services.set_team_member``)."""
        return self.user_id == self.account.lead_id


class StoredCredentials(models.Model):
    """Sign-in details encrypted with a key from the environment, never stored in the database."""

    account = models.OneToOneField(OfficialAccount, on_delete=models.PROTECT, related_name="credentials")
    ciphertext = models.BinaryField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"Sign-in details of {self.account}"


class AccountCheck(models.Model):
    """The termly check that an active account is still as approved."""

    account = models.ForeignKey(OfficialAccount, on_delete=models.PROTECT, related_name="checks")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField()
    admins_confirmed = models.BooleanField("the administrators listed are right")
    two_factor_still_on = models.BooleanField("two-factor sign-in is still on")
    checklist_still_true = models.BooleanField("the checklist is still true")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_on", "-pk"]

    def __str__(self):
        return f"Check of {self.account} on {self.checked_on}"


class ItemKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    QUERY = "query", "Query"
    COMPLAINT = "complaint", "Complaint"


class ResponseItemQuerySet(models.QuerySet):
    def unanswered(self):
        return self.filter(answered_at__isnull=True)


class ResponseItem(models.Model):
    """A comment, query or complaint received on an official account, to answer within 24 hours (seed 001 §5)."""

    account = models.ForeignKey(OfficialAccount, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    received_at = models.DateTimeField(validators=[DateRange("The time received", past=True)])
    due_at = models.DateTimeField()
    summary = models.TextField(max_length=2000)
    link = models.URLField(blank=True, max_length=500)
    external_id = models.CharField(max_length=200, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response = models.TextField(blank=True)
    admins_reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    objects = ResponseItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], condition=~Q(external_id=""), name="intake_item_once"
            )
        ]
        indexes = [
            models.Index(fields=["account", "answered_at", "due_at"]),
            models.Index(fields=["due_at"], condition=Q(answered_at__isnull=True), name="unanswered_item_due_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.account}"

    @property
    def answered_on_time(self) -> bool:
        return self.answered_at is not None and self.answered_at <= self.due_at

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        """Unanswered past its reply time, as the register counts it (``queries.register``)."""
        return self.answered_at is None and self.due_at < (now or timezone.now())


class IntakeDelivery(models.Model):
    """A signed request the intake accepted. The same signature again is a replay: it gets
    the item it made the first time and makes nothing new."""

    account = models.ForeignKey(OfficialAccount, on_delete=models.PROTECT, related_name="+")
    signature = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    item = models.ForeignKey(ResponseItem, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "signature"], name="intake_delivery_once")]

    def __str__(self):
        return f"Delivery to {self.account} at {self.signed_at:%Y-%m-%d %H:%M:%S}"
