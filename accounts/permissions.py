"""Who may do what, where: the one place that answers it.

Views, templates and services ask this module; none of them inspect roles
themselves. A person's roles come from their current memberships (leavers have
none); roles held in a trust reach each of the trust's member organisations.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
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
    VIEW_COMPLIANCE = "view_compliance"
    REQUEST_ACCOUNT = "request_account"
    VIEW_REGISTER = "view_register"
    REPORT_INCIDENT = "report_incident"
    VIEW_INCIDENTS = "view_incidents"
    MANAGE_INCIDENT_RECORDS = "manage_incident_records"


# Who sees whose acknowledgements (DESIGN.md "Policy acknowledgement"): leaders all
# staff, line managers their team, policy owners their own policies.
COMPLIANCE_ALL_STAFF = frozenset({Role.SLT, Role.LEAD, Role.ADMIN})

ACTION_ROLES: dict[str, frozenset[str]] = {
    Action.VIEW_STAFF: frozenset({Role.ADMIN, Role.SLT, Role.LEAD}),
    Action.MANAGE_STAFF: frozenset({Role.ADMIN}),
    Action.MANAGE_ORGANISATION: frozenset({Role.ADMIN}),
    Action.MANAGE_POLICIES: frozenset({Role.POLICY_OWNER, Role.ADMIN}),
    Action.VIEW_COMPLIANCE: COMPLIANCE_ALL_STAFF | {Role.LINE_MANAGER, Role.POLICY_OWNER},
    Action.REQUEST_ACCOUNT: frozenset(Role.values),
    Action.VIEW_REGISTER: frozenset({Role.SLT, Role.LEAD, Role.ADMIN, Role.ONLINE_SAFETY}),
    Action.REPORT_INCIDENT: frozenset(Role.values),
    # Lists and dashboards; each row is still filtered by ``incident_filter``.
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


def can_edit_policy(user, policy) -> bool:
    """The policy's owner, or an administrator of the organisation that owns it."""
    return policy.owner_id == user.pk or can(user, Action.MANAGE_ORGANISATION, policy.organisation)


def menu_of(organisations: list[Organisation]) -> Menu:
    """All of ``organisations`` up to ``MENU_LIMIT``; past it, those not inside another of them."""
    if len(organisations) <= MENU_LIMIT:
        return Menu(organisations)
    listed = {org.pk for org in organisations}
    top = [org for org in organisations if org.parent_id not in listed]
    return Menu(top, len(organisations) - len(top))


def sees_all_staff(user, organisation) -> bool:
    """Leaders see every member of staff's acknowledgements in the organisation (and its members)."""
    return bool(access_for(user).roles_in(organisation) & COMPLIANCE_ALL_STAFF)


def compliance_filter(user, organisation) -> Q | None:
    """Which acknowledgement requests in ``organisation`` the person may see, as a filter.

    ``None`` when they may see none. Leaders see every member of staff; line
    managers their own team; policy owners the requests of their policies.
    """
    if sees_all_staff(user, organisation):
        return Q()
    roles = access_for(user).roles_in(organisation)
    scope = Q(pk__in=[])
    if Role.LINE_MANAGER in roles:
        scope |= Q(membership__line_manager=user)
    if Role.POLICY_OWNER in roles:
        scope |= Q(version__policy__owner=user)
    return scope if roles & {Role.LINE_MANAGER, Role.POLICY_OWNER} else None


def compliance_scope_label(user, organisation) -> str:
    """In words, whose acknowledgements ``compliance_filter`` shows the person."""
    roles = access_for(user).roles_in(organisation)
    if roles & COMPLIANCE_ALL_STAFF:
        return "all staff"
    parts = (["your team"] if Role.LINE_MANAGER in roles else []) + (
        ["the policies you own"] if Role.POLICY_OWNER in roles else []
    )
    return " and ".join(parts)


def can_read_policy(user, policy) -> bool:
    """Staff read the policies of their organisations and of their trust."""
    reachable = set()
    for organisation in access_for(user).organisations:
        reachable.update({organisation.pk, organisation.parent_id})
    return policy.organisation_id in reachable


def evidence_scope(user, policy) -> list[int] | None:
    """Whose acknowledgements of ``policy`` the person may download as evidence.

    ``None``: everyone's (the policy's editors and the leaders of its organisation).
    Otherwise the ids of the member schools the person leads, for a trust's policy
    (an inspector asks a school for its own staff); an empty list means none.
    """
    access = access_for(user)
    if can_edit_policy(user, policy) or access.roles_in(policy.organisation) & COMPLIANCE_ALL_STAFF:
        return None
    return [
        org.pk
        for org in access.organisations
        if org.parent_id == policy.organisation_id and access.roles_in(org) & COMPLIANCE_ALL_STAFF
    ]


# Approvals: account requests, the register, credentials and the response log
# ------------------------------------------------------------------------------
REGISTER_VIEWERS = frozenset({Role.SLT, Role.LEAD, Role.ADMIN, Role.ONLINE_SAFETY})


def can_decide_request(user, account_request) -> bool:
    """SLT (and the organisation lead) decide; nobody decides their own request."""
    if account_request.requester_id == user.pk:
        return False
    return access_for(user).has_role(account_request.organisation, Role.SLT, Role.LEAD)


def can_see_request(user, account_request) -> bool:
    """The author and the people it names to run the account; once submitted, the register's viewers too.
    A draft never submitted is the author's own work in progress (least privilege)."""
    if account_request.requester_id == user.pk or account_request.runners.filter(user=user).exists():
        return True
    submitted_once = account_request.submission > 0
    return submitted_once and bool(access_for(user).roles_in(account_request.organisation) & REGISTER_VIEWERS)


def account_role(user, account) -> str | None:
    """'administrator' or 'moderator' when the person is on the account's team (and still in post there)."""
    if account.organisation not in access_for(user).organisations:
        return None
    for member in account.members.all():
        if member.user_id == user.pk:
            return member.role
    return None


def can_see_account(user, account) -> bool:
    return (
        bool(access_for(user).roles_in(account.organisation) & REGISTER_VIEWERS)
        or account_role(user, account) is not None
    )


def can_administer_account(user, account) -> bool:
    """The account's administrators and the organisation's administrators keep the checklist and team."""
    return account_role(user, account) == "administrator" or access_for(user).has_role(account.organisation, Role.ADMIN)


def can_log_responses(user, account) -> bool:
    """Administrators and moderators of the account log and answer what it receives."""
    return account_role(user, account) is not None or access_for(user).has_role(account.organisation, Role.ADMIN)


# Incidents: who sees, triages and handles which online-safety incident
# ------------------------------------------------------------------------------
# DESIGN.md "Incident reporting" / "Who sees what": safeguarding incidents the DSL
# team of the organisation (a trust-level DSL reaches its members) and the
# organisation lead; other incidents SLT too; an allegation about a DSL or deputy
# (``routed_to_lead``) the organisation lead only; a person named in a report
# never, whatever their roles. Reporters see their own reports' status through
# ``is_incident_reporter``, never the case file.
INCIDENT_LEADS = frozenset({Role.LEAD})


def _incident_orgs(user) -> tuple[list[int], list[int], list[int]]:
    """(organisations where the person leads, is on the DSL team, is SLT)."""
    lead, dsl, slt = [], [], []
    for org_id, roles in access_for(user).roles_by_org.items():
        if Role.LEAD in roles:
            lead.append(org_id)
        if roles & DSL_TEAM:
            dsl.append(org_id)
        if Role.SLT in roles:
            slt.append(org_id)
    return lead, dsl, slt


def _not_named(user) -> Q:
    from incidents.models import NamedPerson

    return ~Q(Exists(NamedPerson.objects.filter(incident=OuterRef("pk"), user_id=user.pk)))


def incident_filter(user) -> Q:
    """The incidents the person may open, as a filter on ``Incident``: every list, page and export uses it."""
    lead, dsl, slt = _incident_orgs(user)
    if not (lead or dsl or slt):
        return Q(pk__in=[])
    scope = (
        Q(organisation_id__in=lead)
        | Q(organisation_id__in=dsl, routed_to_lead=False)
        | Q(organisation_id__in=slt, routed_to_lead=False, is_safeguarding=False)
    )
    return scope & _not_named(user)


def incident_handler_roles(incident) -> frozenset[str]:
    """Roles that may handle a case: the lead alone for an allegation about a DSL."""
    return INCIDENT_LEADS if incident.routed_to_lead else DSL_TEAM | {Role.LEAD, Role.SLT}


def incident_triage_filter(user) -> Q:
    """The incidents the person triages: the DSL team's, or the lead's when a DSL is the subject."""
    lead, dsl, _ = _incident_orgs(user)
    if not (lead or dsl):
        return Q(pk__in=[])
    return (Q(organisation_id__in=lead, routed_to_lead=True) | Q(organisation_id__in=dsl, routed_to_lead=False)) & (
        _not_named(user)
    )


def is_named_in_incident(user, incident) -> bool:
    return incident.named_people.filter(user_id=user.pk).exists()


def can_see_incident(user, incident) -> bool:
    """May open the case file: its detail, chronology, evidence and exports (and so handle it)."""
    roles = access_for(user).roles_in(incident.organisation_id)
    if incident.routed_to_lead:
        allowed = Role.LEAD in roles
    else:
        allowed = bool(roles & (DSL_TEAM | INCIDENT_LEADS)) or (Role.SLT in roles and not incident.is_safeguarding)
    return allowed and not is_named_in_incident(user, incident)


def can_triage_incident(user, incident) -> bool:
    """Triage, legal hold and retention decisions: the DSL team, or the lead for an allegation about a DSL."""
    roles = access_for(user).roles_in(incident.organisation_id)
    allowed = Role.LEAD in roles if incident.routed_to_lead else bool(roles & DSL_TEAM)
    return allowed and not is_named_in_incident(user, incident)


def is_incident_reporter(user, incident) -> bool:
    """The reporter sees their own report's reference and status, and may add evidence; nothing else."""
    return incident.reported_by_id is not None and incident.reported_by_id == user.pk
