"""Who may do what with account requests, official accounts, their sign-in details and training records.

Each rule is written once here, for the data the approvals app guards, as a filter
(``rule(user) -> Q``); the check on one object asks the same filter (``core.rules``).
Roles and memberships come from ``accounts``. DESIGN.md "Social-media account approvals":
SLT (and the organisation lead) decide requests, never their own; the register is seen
by leaders, administrators and the online safety lead; an account's team runs it;
credentials are stored and changed by the organisation's administrator and the
account's administrators, and shown to them and to SLT, after a fresh second factor;
only SLT make someone an administrator of an account; training counts when it was recorded or verified by an
administrator or SLT (seed 001 §4).
"""

import time

from allauth.account import app_settings as allauth_account_settings
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404

from accounts.models import Membership, Role, User
from accounts.permissions import access_for
from approvals.models import AccountMember, AccountRequest, AccountRole, AccountStatus, OfficialAccount, Runner
from core.rules import RoleRule, holds

REGISTER_VIEWERS = frozenset({Role.SLT, Role.LEAD, Role.ADMIN, Role.ONLINE_SAFETY})
DECIDERS = frozenset({Role.SLT, Role.LEAD})

_REGISTER = RoleRule(({}, REGISTER_VIEWERS))
_DECIDE = RoleRule(({}, DECIDERS))
_ORG_ADMIN = RoleRule(({}, frozenset({Role.ADMIN})))
_SLT = RoleRule(({}, frozenset({Role.SLT})))
_OVERSEE = RoleRule(({}, frozenset({Role.SLT, Role.LEAD, Role.ADMIN})))


def _roles(user) -> dict:
    return access_for(user).roles_by_org


def _in_post(user) -> Q:
    """Rows of organisations the person still reaches (a leaver's requests and teams fall away)."""
    return Q(organisation_id__in=[org.pk for org in access_for(user).organisations])


# Account requests
# ------------------------------------------------------------------------------


def seeable_requests(user) -> Q:
    """The author and the people it names to run the account; once submitted, the people who decide
    it (SLT and the organisation lead; seed 001 §4 puts the business case to the leadership team).
    A draft never submitted is the author's own work in progress (least privilege)."""
    named = Exists(Runner.objects.filter(request=OuterRef("pk"), user_id=user.pk))
    submitted = Q(submission__gt=0) & _DECIDE.filter(_roles(user))
    return _in_post(user) & (Q(requester_id=user.pk) | Q(named) | submitted)


def own_requests(user) -> Q:
    """Edit, submit and withdraw: the requester alone, while in post (DESIGN.md "the requester may withdraw")."""
    return _in_post(user) & Q(requester_id=user.pk)


def can_act_as_requester(user, account_request) -> bool:
    return holds(own_requests(user), account_request)


def decidable_requests(user) -> Q:
    """SLT (and the organisation lead) decide; nobody decides their own request."""
    return _DECIDE.filter(_roles(user)) & ~Q(requester_id=user.pk)


def can_see_request(user, account_request) -> bool:
    return holds(seeable_requests(user), account_request)


def can_decide_request(user, account_request) -> bool:
    return holds(decidable_requests(user), account_request)


def request_for(user, pk):
    """The one way a view fetches an account request: 404 when the person may not see it."""
    return get_object_or_404(
        AccountRequest.objects.select_related("organisation", "requester"), seeable_requests(user), pk=pk
    )


# Official accounts and their teams
# ------------------------------------------------------------------------------


def _on_team(user, *roles) -> Q:
    members = AccountMember.objects.filter(account=OuterRef("pk"), user_id=user.pk)
    if roles:
        members = members.filter(role__in=roles)
    return _in_post(user) & Q(Exists(members))


def seeable_accounts(user) -> Q:
    """The register's viewers, and the account's own team."""
    return _REGISTER.filter(_roles(user)) | _on_team(user)


def administrable_accounts(user) -> Q:
    """Keep the checklist and the team: the account's administrators and the organisation's administrators."""
    return _on_team(user, AccountRole.ADMINISTRATOR) | _ORG_ADMIN.filter(_roles(user))


def loggable_accounts(user) -> Q:
    """Log and answer what the account receives: its team (administrators and moderators) and the
    organisation's administrators."""
    return _on_team(user) | _ORG_ADMIN.filter(_roles(user))


def overseen_accounts(user) -> Q:
    """The accounts whose checks and handovers leaders keep an eye on: SLT, the lead and the
    administrators of the account's organisation (DESIGN.md "Social-media account approvals")."""
    return _OVERSEE.filter(_roles(user))


def can_see_account(user, account) -> bool:
    return holds(seeable_accounts(user), account)


def can_administer_account(user, account) -> bool:
    return holds(administrable_accounts(user), account)


def can_log_responses(user, account) -> bool:
    return holds(loggable_accounts(user), account)


def account_for(user, pk, queryset=None):
    """The one way a view fetches an official account: 404 when the person may not see it."""
    queryset = queryset if queryset is not None else OfficialAccount.objects.all()
    return get_object_or_404(queryset, seeable_accounts(user), pk=pk)


def account_role(user, account) -> str | None:
    """'administrator' or 'moderator' when the person is on the account's team (and still in post
    there): for showing the person their place on the team."""
    if account.organisation not in access_for(user).organisations:
        return None
    for member in account.members.all():
        if member.user_id == user.pk:
            return member.role
    return None


# Sign-in details
# ------------------------------------------------------------------------------


def credential_keepers(user) -> Q:
    """Keep or change the sign-in details: the account's administrators and the organisation's
    administrator, whom seed 001 §3 makes responsible for storing account details: those who
    administer the account."""
    return administrable_accounts(user)


def credential_readers(user) -> Q:
    """See the sign-in details: those who keep them, and SLT, with whom every password is shared
    (seed 004 §4.2). Moderators and volunteers run the account without it."""
    return credential_keepers(user) | _SLT.filter(_roles(user))


def reveal_watchers(user) -> Q:
    """See who revealed the sign-in details, when and from where: SLT and the account's
    administrators (seed 001 §3, 004 §4.2)."""
    return _on_team(user, AccountRole.ADMINISTRATOR) | _SLT.filter(_roles(user))


def team_keepers(user) -> Q:
    """Change who runs the account: those who administer it, and SLT, who alone make someone an
    administrator of it (``can_appoint_administrators``)."""
    return administrable_accounts(user) | _SLT.filter(_roles(user))


def administrator_appointers(user) -> Q:
    """Make someone an administrator of an account (and so a keeper of its password): SLT, who
    approved the people running it (seed 001 §4); everyone else joins as a moderator."""
    return _SLT.filter(_roles(user))


def can_store_credentials(user, account) -> bool:
    return holds(credential_keepers(user), account)


def can_reveal_credentials(user, account) -> bool:
    return holds(credential_readers(user), account)


def can_see_reveals(user, account) -> bool:
    return holds(reveal_watchers(user), account)


def can_change_team(user, account) -> bool:
    return holds(team_keepers(user), account)


def can_appoint_administrators(user, account) -> bool:
    return holds(administrator_appointers(user), account)


def holds_credentials(user) -> bool:
    """An administrator of an official account that is not closed can reveal and change its sign-in
    details (seed 001 §3): that needs a second factor and short sessions, like any privileged role
    (registered with ``accounts.permissions`` in ``ApprovalsConfig.ready``)."""
    return (
        AccountMember.objects.filter(user=user, role=AccountRole.ADMINISTRATOR)
        .exclude(account__status=AccountStatus.CLOSED)
        .exists()
    )


def has_second_factor(user) -> bool:
    return is_mfa_enabled(user)


def second_factor_is_fresh(request) -> bool:
    """The person proved a second factor (signing in or re-authenticating) within
    ACCOUNT_REAUTHENTICATION_TIMEOUT, in this session; allauth keeps the record."""
    cutoff = time.time() - allauth_account_settings.REAUTHENTICATION_TIMEOUT
    return any(
        record.get("method") == "mfa" and record.get("at", 0) >= cutoff
        for record in get_authentication_records(request, request.user)
    )


# Training records
# ------------------------------------------------------------------------------
# Administrators and SLT are the ones to be satisfied that staff were trained: they see,
# record and verify the training of the staff their roles reach.
TRAINING_OVERSEERS = frozenset({Role.ADMIN, Role.SLT})


def _organisations_with(user, roles) -> list:
    access = access_for(user)
    return [org for org in access.organisations if access.roles_in(org) & roles]


def _staff_of_any(organisations) -> Q:
    """A filter on ``User``: current staff of any of ``organisations``, of their trust, and, for a
    trust, of its members: everyone who may be named to run an account the person decides on."""
    reach = {org_id for org in organisations for org_id in (*org.reach_ids, *org.family_ids)}
    return Q(pk__in=Membership.objects.current().filter(organisation_id__in=reach).values("user_id"))


def training_people(user) -> Q:
    """Whose training the person sees and records: their own, and that of the staff they oversee."""
    overseen = _organisations_with(user, TRAINING_OVERSEERS)
    return Q(pk=user.pk) | (_staff_of_any(overseen) if overseen else Q(pk__in=[]))


def oversees_training(user) -> bool:
    """An administrator or SLT somewhere: they see, search and vouch for their staff's training."""
    return bool(_organisations_with(user, TRAINING_OVERSEERS))


def training_verifiable_people(user) -> Q:
    """Whose training the person can vouch for: the staff they oversee, never themselves."""
    overseen = _organisations_with(user, TRAINING_OVERSEERS)
    return (_staff_of_any(overseen) if overseen else Q(pk__in=[])) & ~Q(pk=user.pk)


def can_verify_training_of(user, person) -> bool:
    """An administrator or SLT of the person's organisation, for someone else's record."""
    return User.objects.filter(training_verifiable_people(user), pk=person.pk).exists()
