"""A person's roles in every organisation they reach, and what those roles let them do there.

A person's roles come from their current memberships (leavers have none); roles held
in a trust reach each of the trust's member organisations. This module answers the
organisation-level questions (which organisation pages and menus a person reaches, who
is privileged and needs a second factor). Who may see or change which row is decided
by the app that keeps the rows, in its ``access`` module (``policies.access``,
``approvals.access``, ``incidents.access``), built on ``Access``; this module imports
nothing from them.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Membership, Organisation, Role

PRIVILEGED_ROLES = frozenset({Role.SLT, Role.LEAD, Role.DSL, Role.DEPUTY_DSL, Role.ADMIN})
DSL_TEAM = frozenset({Role.DSL, Role.DEPUTY_DSL})


class Action:
    """What a person can be allowed to do in an organisation, and which roles allow it."""

    VIEW_STAFF = "view_staff"
    MANAGE_STAFF = "manage_staff"
    MANAGE_ORGANISATION = "manage_organisation"
    MANAGE_POLICIES = "manage_policies"
    VIEW_POLICY_RECORDS = "view_policy_records"
    VIEW_COMPLIANCE = "view_compliance"
    REQUEST_ACCOUNT = "request_account"
    VIEW_REGISTER = "view_register"
    REPORT_INCIDENT = "report_incident"
    VIEW_INCIDENTS = "view_incidents"
    MANAGE_INCIDENT_RECORDS = "manage_incident_records"


# DESIGN.md "Who uses it": SLT see compliance dashboards and the organisation lead leads; the
# organisation administrator keeps staff records, roles and settings, not policies or their figures.
COMPLIANCE_ALL_STAFF = frozenset({Role.SLT, Role.LEAD})

ACTION_ROLES: dict[str, frozenset[str]] = {
    Action.VIEW_STAFF: frozenset({Role.ADMIN, Role.SLT, Role.LEAD}),
    Action.MANAGE_STAFF: frozenset({Role.ADMIN}),
    Action.MANAGE_ORGANISATION: frozenset({Role.ADMIN}),
    Action.MANAGE_POLICIES: frozenset({Role.POLICY_OWNER}),
    # The list of policies with owner, author, version and review date (001 policy table): the
    # leaders who answer for them see it, and their review calendar, as well as the owners.
    Action.VIEW_POLICY_RECORDS: COMPLIANCE_ALL_STAFF | {Role.POLICY_OWNER},
    Action.VIEW_COMPLIANCE: COMPLIANCE_ALL_STAFF | {Role.LINE_MANAGER, Role.POLICY_OWNER},
    Action.REQUEST_ACCOUNT: frozenset(Role.values),
    Action.VIEW_REGISTER: frozenset({Role.SLT, Role.LEAD, Role.ADMIN, Role.ONLINE_SAFETY}),
    Action.REPORT_INCIDENT: frozenset(Role.values),
    # Lists and dashboards; each row is still filtered by ``incidents.access``.
    Action.VIEW_INCIDENTS: DSL_TEAM | {Role.SLT, Role.LEAD},
    # Retention periods, the review queue and legal holds.
    Action.MANAGE_INCIDENT_RECORDS: DSL_TEAM | {Role.LEAD},
}


# Apps above this floor name further privileges that need a second factor and short
# sessions, whatever the person's roles: approvals says who can reveal or change an official
# account's sign-in details. They register in ``AppConfig.ready`` (accounts imports nothing above it).
PRIVILEGE_CHECKS: list = []


def register_privilege_check(check) -> None:
    """``check(user) -> bool``: whether the person holds a privilege the app guards."""
    if check not in PRIVILEGE_CHECKS:
        PRIVILEGE_CHECKS.append(check)


# A menu lists at most this many organisations; past it, the top of each family (a trust,
# whose pages roll up its schools) and a link to the page listing them all.
MENU_LIMIT = 8


@dataclass(frozen=True)
class Menu:
    organisations: list[Organisation]
    more: int = 0  # reached, but only listed on the organisations page


@dataclass
class Access:
    """A person's effective roles in every organisation they can reach (built once per request)."""

    user: object
    memberships: list[Membership] = field(default_factory=list)
    roles_by_org: dict[int, frozenset[str]] = field(default_factory=dict)
    organisations: list[Organisation] = field(default_factory=list)

    def roles_in(self, organisation: Organisation | int) -> frozenset[str]:
        org_id = organisation if isinstance(organisation, int) else organisation.pk
        return self.roles_by_org.get(org_id, frozenset())

    def role_labels(self, organisation) -> list[str]:
        held = self.roles_in(organisation)
        return [role.label for role in Role if role in held]

    def has_role(self, organisation, *roles: str) -> bool:
        return bool(self.roles_in(organisation) & set(roles))

    def can(self, action: str, organisation) -> bool:
        return bool(self.roles_in(organisation) & ACTION_ROLES[action])

    def organisations_where(self, action: str) -> list[Organisation]:
        return [org for org in self.organisations if self.can(action, org)]

    @cached_property
    def where(self) -> dict[str, list[Organisation]]:
        """For navigation: ``{% for org in access.where.manage_staff %}`` in a template."""
        return {action: self.organisations_where(action) for action in ACTION_ROLES}

    @cached_property
    def menus(self) -> dict[str, Menu]:
        """For navigation: ``access.menus.view_compliance.organisations``. A trust's leaders reach
        every school: their menus show the trust, not a hundred schools."""
        return {action: menu_of(orgs) for action, orgs in self.where.items()}

    @property
    def has_access(self) -> bool:
        return bool(self.memberships)

    @cached_property
    def is_admin_user(self) -> bool:
        """A user of the Django admin (staff or superuser): privileged everywhere, whatever their memberships."""
        return bool(getattr(self.user, "is_active", False) and (self.user.is_staff or self.user.is_superuser))

    @cached_property
    def holds_guarded_privilege(self) -> bool:
        return bool(getattr(self.user, "is_authenticated", False)) and any(
            check(self.user) for check in PRIVILEGE_CHECKS
        )

    @property
    def is_privileged(self) -> bool:
        """Short idle sessions and an absolute lifetime apply (accounts.middleware)."""
        return (
            self.is_admin_user
            or any(roles & PRIVILEGED_ROLES for roles in self.roles_by_org.values())
            or self.holds_guarded_privilege
        )

    @cached_property
    def mfa_off_organisations(self) -> list[tuple[Organisation, bool]]:
        """Where a leader, DSL or administrator signs in without a second factor: each organisation
        not requiring it, and whether this person may turn it on there. Only privileged people are
        told (on their home page, in one warning)."""
        if not self.is_privileged:
            return []
        return [(org, self.can(Action.MANAGE_ORGANISATION, org)) for org in self.organisations if not org.require_mfa]

    @property
    def requires_mfa(self) -> bool:
        """Must sign in with a second factor: Django admin users always; privileged roles and
        guarded privileges where an organisation of theirs requires it (switched off only for a
        demo, never for the Django admin)."""
        if self.is_admin_user:
            return True
        if any(org.require_mfa for org in self.organisations) and self.holds_guarded_privilege:
            return True
        return any(
            self.roles_by_org.get(org.pk, frozenset()) & PRIVILEGED_ROLES and org.require_mfa
            for org in self.organisations
        )


def _build_access(user) -> Access:
    if not user.is_authenticated or not user.is_active:
        return Access(user=user)
    memberships = list(
        Membership.objects.current()
        .filter(user=user)
        .select_related("organisation__parent")
        .prefetch_related("role_grants")
    )
    roles_by_org: dict[int, set[str]] = {}
    organisations: dict[int, Organisation] = {}
    for membership in memberships:
        roles_by_org.setdefault(membership.organisation_id, set()).update(membership.roles)
        organisations[membership.organisation_id] = membership.organisation
    trust_roles = {m.organisation_id: m.roles for m in memberships if m.organisation.parent_id is None}
    if trust_roles:
        for member in Organisation.objects.filter(parent_id__in=trust_roles).select_related("parent"):
            roles_by_org.setdefault(member.pk, set()).update(trust_roles[member.parent_id])
            organisations.setdefault(member.pk, member)
    return Access(
        user=user,
        memberships=memberships,
        roles_by_org={org_id: frozenset(roles) for org_id, roles in roles_by_org.items()},
        organisations=sorted(organisations.values(), key=lambda org: (org.parent_id is not None, org.name)),
    )


def access_for(user) -> Access:
    """The person's ``Access``, cached on the user object for the rest of the request."""
    cached = getattr(user, "_portal_access", None)
    if cached is None:
        cached = _build_access(user)
        user._portal_access = cached
    return cached


def forget_access(user) -> None:
    """Drop the cached ``Access`` after the person's memberships change."""
    user.__dict__.pop("_portal_access", None)


def can(user, action: str, organisation) -> bool:
    return access_for(user).can(action, organisation)


def get_organisation_for(user, slug: str, action: str) -> Organisation:
    """The organisation named by ``slug``, if the person may do ``action`` there.

    404 when they cannot reach it at all (its existence is not revealed), 403
    when they can reach it but their roles there do not allow ``action``.
    """
    access = access_for(user)
    for organisation in access.organisations:
        if organisation.slug == slug:
            if not access.can(action, organisation):
                raise PermissionDenied
            return organisation
    raise Http404


def menu_of(organisations: list[Organisation]) -> Menu:
    """All of ``organisations`` up to ``MENU_LIMIT``; past it, those not inside another of them."""
    if len(organisations) <= MENU_LIMIT:
        return Menu(organisations)
    listed = {org.pk for org in organisations}
    top = [org for org in organisations if org.parent_id not in listed]
    return Menu(top, len(organisations) - len(top))
