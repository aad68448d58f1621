"""People, organisations and the roles a person holds in each organisation."""

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.validators import DateRange


class Nation(models.TextChoices):
    ENGLAND = "ENG", "England"
    WALES = "WLS", "Wales"
    SCOTLAND = "SCT", "Scotland"
    NORTHERN_IRELAND = "NIR", "Northern Ireland"


class StaffType(models.TextChoices):
    EMPLOYEE = "employee", "Employee"
    TEMPORARY = "temporary", "Temporary"
    AGENCY = "agency", "Agency"
    CONTRACTOR = "contractor", "Contractor"
    VOLUNTEER = "volunteer", "Volunteer"
    SECONDEE = "secondee", "Secondee"
    GOVERNOR = "governor", "Governor"


class Role(models.TextChoices):
    """The roles of DESIGN.md "Who uses it"; a person may hold any set of them."""

    STAFF = "staff", "Staff member"
    LINE_MANAGER = "line_manager", "Line manager"
    SLT = "slt", "Senior leadership team"
    LEAD = "lead", "Organisation lead"
    DSL = "dsl", "Designated safeguarding lead"
    DEPUTY_DSL = "deputy_dsl", "Deputy DSL"
    ONLINE_SAFETY = "online_safety", "Online safety coordinator"
    POLICY_OWNER = "policy_owner", "Policy owner"
    ADMIN = "admin", "Organisation administrator"


def today() -> dt.date:
    return timezone.localdate()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address, or a member of staff without one.

    Seed 000 §2 and 002 §3 put every member of staff in scope, cleaners and lunchtime
    supervisors included, and some have no work email or device: their record has no
    address (``email`` is empty), they never sign in, and their acknowledgements are
    recorded for them by their line manager or the administrator (``policies.services``).

    People are never deleted: their acknowledgements, reports and decisions
    must stay attributable. Access ends with their memberships.
    """

    email = models.EmailField("email address", unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True, help_text="Untick to stop this person signing in anywhere.")
    is_staff = models.BooleanField("Django admin access", default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.full_name or self.email or f"Person {self.pk}"

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower() or None

    @property
    def has_email(self) -> bool:
        """False for staff without an email address: they cannot sign in or be emailed."""
        return bool(self.email)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.first_name or self.email or ""


domain_validator = RegexValidator(
    r"^([a-z0-9-]+\.)+[a-z]{2,}$", "Enter domains like school.sch.uk, separated by commas."
)


class OrganisationKind(models.TextChoices):
    TRUST = "trust", "Multi-academy trust"
    SCHOOL = "school", "School"
    PRU = "pru", "Pupil referral unit"
    ADULT_LEARNING = "adult_learning", "Adult and community learning service"
    OTHER = "other", "Other provider"


class Organisation(models.Model):
    """A school, service or trust. A trust is the parent of its member organisations."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.SCHOOL)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="members", verbose_name="trust"
    )
    nation = models.CharField(max_length=3, choices=Nation.choices, default=Nation.ENGLAND)
    closing_time = models.TimeField(default=dt.time(17, 0), help_text="End of the working day, UK time.")
    email_domains = models.CharField(
        max_length=500, blank=True, help_text="Official email domains, separated by commas (e.g. school.sch.uk)."
    )
    acknowledgement_period_days = models.PositiveSmallIntegerField(
        "days to acknowledge a policy",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Staff must acknowledge a newly published policy within this many days (new starters: from their start date).",
    )
    require_mfa = models.BooleanField(
        "require two-factor sign-in for privileged roles",
        default=True,
        help_text="SLT, organisation leads, DSLs and administrators must set up an authenticator app.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        self.email_domains = ", ".join(self.domains)
        for domain in self.domains:
            domain_validator(domain)
        if self.parent_id:
            if self.parent_id == self.pk:
                raise ValidationError({"parent": "An organisation cannot be its own trust."})
            if self.parent.parent_id:
                raise ValidationError({"parent": "A trust cannot itself belong to a trust."})
            if self.pk and self.members.exists():
                raise ValidationError({"parent": "A trust with member organisations cannot join another trust."})

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.email_domains.split(",") if d.strip()]

    def owns_email(self, email: str) -> bool:
        """Whether ``email`` is on one of this organisation's (or its trust's) official domains."""
        domain = email.rpartition("@")[2].lower()
        domains = self.domains + (self.parent.domains if self.parent_id else [])
        return domain in domains

    @property
    def reach_ids(self) -> list[int]:
        """This organisation and its trust: where roles that reach this organisation are held."""
        return [self.pk] + ([self.parent_id] if self.parent_id else [])

    @property
    def family_ids(self) -> list[int]:
        """This organisation and, for a trust, its members."""
        return [self.pk, *self.members.values_list("pk", flat=True)]

    @property
    def group_ids(self) -> list[int]:
        """The whole group: the trust (or this organisation alone) and every member of the trust.

        Import and invitation reach existing accounts only inside it; a person with
        an account elsewhere is offered a place and joins when they accept.
        """
        top = self.parent_id or self.pk
        return [top, *Organisation.objects.filter(parent_id=top).values_list("pk", flat=True)]


class MembershipQuerySet(models.QuerySet):
    def current(self, on: dt.date | None = None):
        """Memberships that give access: the person has not left (a future leaving date still counts)."""
        on = on or today()
        return self.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=on), user__is_active=True)

    def with_role(self, *roles):
        return self.filter(role_grants__role__in=roles).distinct()

    def reaching(self, organisation):
        """Memberships of the organisation and of its trust (whose roles reach the organisation)."""
        return self.filter(organisation_id__in=organisation.reach_ids)

    def emails(self) -> list[str]:
        return sorted(set(self.exclude(user__email=None).values_list("user__email", flat=True)))


# Employment reaches further back than anything else the portal records.
EMPLOYMENT_EARLIEST = dt.date(1950, 1, 1)
START_DATE = DateRange("The start date", earliest=EMPLOYMENT_EARLIEST, years_ahead=1)
LEAVING_DATE = DateRange("The leaving date", earliest=EMPLOYMENT_EARLIEST, years_ahead=5)


class Membership(models.Model):
    """A person's place in one organisation: their staff record and roles there."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    staff_type = models.CharField(max_length=20, choices=StaffType.choices, default=StaffType.EMPLOYEE)
    job_title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    line_manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_memberships"
    )
    start_date = models.DateField(null=True, blank=True, validators=[START_DATE])
    leaving_date = models.DateField(null=True, blank=True, validators=[LEAVING_DATE])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique_person_organisation"),
            models.CheckConstraint(
                condition=Q(leaving_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(leaving_date__gte=models.F("start_date")),
                name="membership_leaves_after_start",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "leaving_date"])]

    def __str__(self):
        return f"{self.user} at {self.organisation}"

    @property
    def roles(self) -> frozenset[str]:
        """Role codes held here (uses prefetched ``role_grants`` when present)."""
        return frozenset(grant.role for grant in self.role_grants.all())

    def role_labels(self) -> list[str]:
        return [Role(code).label for code in Role.values if code in self.roles]

    def has_left(self, on: dt.date | None = None) -> bool:
        return self.leaving_date is not None and self.leaving_date < (on or today())


class OfferQuerySet(models.QuerySet):
    def open(self):
        return self.filter(decided_at__isnull=True)


class Offer(models.Model):
    """A place in an organisation offered to someone who already has an account elsewhere.

    Import and invitation never attach an account outside the organisation's group
    by its email address: the person is asked, and becomes a member only when they
    accept, signed in as themselves, through the link sent to their address, which
    works for ``OPEN_DAYS``.
    """

    OPEN_DAYS = 14

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="offers")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="offers")
    offered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    staff_type = models.CharField(max_length=20, choices=StaffType.choices, default=StaffType.EMPLOYEE)
    job_title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    start_date = models.DateField(null=True, blank=True, validators=[START_DATE])
    leaving_date = models.DateField(null=True, blank=True, validators=[LEAVING_DATE])
    roles = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BooleanField(null=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], condition=Q(decided_at__isnull=True), name="offer_one_open"
            )
        ]

    def __str__(self):
        return f"Offer to {self.user} from {self.organisation}"


class RoleGrant(models.Model):
    """One role held through one membership."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "role"], name="role_grant_unique")]
        indexes = [models.Index(fields=["role", "membership"])]

    def __str__(self):
        return f"{self.get_role_display()} ({self.membership})"
