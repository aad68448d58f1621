"""Who may read, edit, publish and oversee which policy, and whose acknowledgements they see.

Each rule is written once here, for the data the policies app guards; roles and
memberships come from ``accounts``. DESIGN.md "Policy acknowledgement" and "Who uses it":
staff read the policies of their organisation and of its trust; the policy owner keeps
a policy's text, versions and review (seed 001's policy table names an owner for each);
the organisation administrator keeps staff records, roles and settings and, unless they
also hold the policy owner role, neither edits policies nor sees their figures (least
privilege); leaders (SLT and the lead) see every member of staff's acknowledgements, line managers their own team, policy
owners the requests of their policies.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts.models import Membership, Role, User
from accounts.permissions import COMPLIANCE_ALL_STAFF, Action, access_for
from core.rules import RoleRule
from policies.models import AcknowledgementRequest, Policy

# Whose calendar carries a policy's review date: its organisation's leaders and policy owners.
_REVIEWERS = RoleRule(({}, COMPLIANCE_ALL_STAFF | {Role.POLICY_OWNER}))


# Reading, editing and publishing
# ------------------------------------------------------------------------------


def _reading_organisations(user) -> set[int]:
    reachable = set()
    for organisation in access_for(user).organisations:
        reachable.update({organisation.pk, organisation.parent_id})
    reachable.discard(None)
    return reachable


def readable_policies(user) -> Q:
    """Staff read the policies of their organisations and of their trust."""
    return Q(organisation_id__in=_reading_organisations(user))


def policy_to_read(user, pk):
    """The one way a view fetches a policy: 404 when the person cannot read it."""
    return get_object_or_404(Policy.objects.select_related("organisation", "owner"), readable_policies(user), pk=pk)


def can_read_policy(user, policy) -> bool:
    """``readable_policies`` for one policy (the same set, without a query)."""
    return policy.organisation_id in _reading_organisations(user)


def can_manage(user, policy) -> bool:
    """Keep the policy's text, versions and review: its owner while in post, or anyone holding the
    policy owner role in the organisation that owns it (the same people who publish it)."""
    return can_publish(user, policy)


def can_publish(user, policy) -> bool:
    """The policy's owner while still on the staff of its organisation's family, or anyone holding
    the policy owner role in the organisation that owns it (a trust's role reaches its members)."""
    access = access_for(user)
    if access.has_role(policy.organisation_id, Role.POLICY_OWNER):
        return True
    if policy.owner_id != getattr(user, "pk", None):
        return False
    # A leaver keeps the owner field until it is handed on, but no longer publishes.
    family = {policy.organisation_id, policy.organisation.parent_id}
    return any(
        m.organisation_id in family or m.organisation.parent_id == policy.organisation_id for m in access.memberships
    )


def can_edit(user, policy) -> bool:
    """Manage the policy and draft its versions."""
    return can_manage(user, policy)


def can_create_policies(user, organisation) -> bool:
    """Write a new policy or import one for ``organisation``: its policy owners (a trust's reach its
    members), who then manage what they made by the same role (``can_manage``)."""
    return access_for(user).can(Action.MANAGE_POLICIES, organisation)


def can_add_addendum(user, policy, organisation) -> bool:
    """Add ``organisation``'s local addendum to its trust's ``policy`` (003 §1), whoever owns the trust's."""
    return policy.takes_addendum_from(organisation) and can_create_policies(user, organisation)


def eligible_owners(organisation):
    """Who may be named a policy's owner: the policy owners and leaders of the organisation, of its
    members and of its trust, so that a trust's policy owner who writes a school's policy or
    addendum can name themselves (001 policy table: each policy names its owner)."""
    family = [organisation.pk, *organisation.members.values_list("pk", flat=True)]
    if organisation.parent_id:
        family.append(organisation.parent_id)
    return User.objects.filter(
        memberships__in=Membership.objects.current()
        .filter(organisation_id__in=family)
        .with_role(Role.POLICY_OWNER, Role.SLT, Role.LEAD)
    ).distinct()


def reviewed_policies(user) -> Q:
    """Policies whose review dates the person's calendar carries: those of organisations where they
    lead or own policies."""
    return _REVIEWERS.filter(access_for(user).roles_by_org)


# Acknowledgements: compliance figures and evidence
# ------------------------------------------------------------------------------


def sees_all_staff(user, organisation) -> bool:
    """Leaders see every member of staff's acknowledgements in the organisation (and its members)."""
    return bool(access_for(user).roles_in(organisation) & COMPLIANCE_ALL_STAFF)


def compliance_filter(user, organisation) -> Q | None:
    """Which acknowledgement requests in ``organisation`` the person may see, as a filter on
    ``AcknowledgementRequest``; ``None`` when they may see none."""
    if sees_all_staff(user, organisation):
        return Q()
    roles = access_for(user).roles_in(organisation)
    if not roles & {Role.LINE_MANAGER, Role.POLICY_OWNER}:
        return None
    scope = Q(pk__in=[])
    if Role.LINE_MANAGER in roles:
        scope |= Q(membership__line_manager=user)
    if Role.POLICY_OWNER in roles:
        scope |= Q(version__policy__owner=user)
    return scope


def compliance_scope_label(user, organisation) -> str:
    """In words, whose acknowledgements ``compliance_filter`` shows the person."""
    if sees_all_staff(user, organisation):
        return "all staff"
    roles = access_for(user).roles_in(organisation)
    parts = (["your team"] if Role.LINE_MANAGER in roles else []) + (
        ["the policies you own"] if Role.POLICY_OWNER in roles else []
    )
    return " and ".join(parts)


def evidence_scope(user, policy) -> list[int] | None:
    """Whose acknowledgements of ``policy`` the person may download as evidence.

    ``None``: everyone's (the policy's editors and the leaders of its organisation).
    Otherwise the ids of the member schools the person leads, for a trust's policy
    (an inspector asks a school for its own staff); an empty list means none.
    """
    access = access_for(user)
    if can_manage(user, policy) or sees_all_staff(user, policy.organisation):
        return None
    return [
        org.pk for org in access.organisations if org.parent_id == policy.organisation_id and sees_all_staff(user, org)
    ]


def can_download_evidence(user, policy) -> bool:
    return evidence_scope(user, policy) != []


# Assisted acknowledgements
# ------------------------------------------------------------------------------


def can_record_acknowledgement_for(user, membership: Membership) -> bool:
    """Whether ``user`` may record acknowledgements for the person of ``membership``, made on paper or
    at a shared device (seed 000 §2, 002 §3: staff without a work email or device are in scope too).

    Only for people without an email address, who cannot sign in to acknowledge for themselves: the
    evidence of everyone else is their own act (000 §3). Their line manager (holding the line manager
    role there, as for the team's figures) or an administrator of the organisation records it; nobody
    records for themselves or for someone who has left.
    """
    person = membership.user
    if person.has_email or person.pk == user.pk or not person.is_active or membership.has_left():
        return False
    access = access_for(user)
    if access.can(Action.MANAGE_STAFF, membership.organisation_id):
        return True
    return membership.line_manager_id == user.pk and Role.LINE_MANAGER in access.roles_in(membership.organisation_id)


def recordable_memberships(user, memberships) -> set[int]:
    """Of ``memberships``, the ids of those ``can_record_acknowledgement_for`` allows (for a page's rows)."""
    return {m.pk for m in memberships if can_record_acknowledgement_for(user, m)}


def can_see_signed_sheet(user, acknowledgement) -> bool:
    """The scan kept with an assisted acknowledgement: for those who see the acknowledgement in the
    figures (leaders, the person's line manager, the policy's owner: ``compliance_filter``) and for
    those who may record it (the organisation's administrators)."""
    request = (
        AcknowledgementRequest.objects.filter(acknowledgement=acknowledgement)
        .select_related("membership__user")
        .first()
    )
    if request is None:
        return False
    if can_record_acknowledgement_for(user, request.membership):
        return True
    scope = compliance_filter(user, request.membership.organisation)
    return scope is not None and AcknowledgementRequest.objects.filter(scope, pk=request.pk).exists()
