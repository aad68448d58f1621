"""Who may do what with official accounts' sign-in details and with training records.

Each rule is written once here, for the data the approvals app guards; roles and
memberships come from ``accounts``. DESIGN.md "Social-media account approvals":
credentials are stored and changed by the organisation's administrator and the
account's administrators, shown only to SLT and the account's administrators, both
after a fresh second factor; training counts when it was recorded or verified by an
administrator or SLT (seed 001 §4).
"""

import time

from allauth.account import app_settings as allauth_account_settings
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.db.models import Q

from accounts.models import Membership, Role, User
from accounts.permissions import access_for, account_role
from approvals.models import AccountMember, AccountRole, AccountStatus

# Sign-in details
# ------------------------------------------------------------------------------


def can_store_credentials(user, account) -> bool:
    """Keep or change the sign-in details: the account's administrators and the organisation's administrators."""
    return account_role(user, account) == "administrator" or access_for(user).has_role(account.organisation, Role.ADMIN)


def can_reveal_credentials(user, account) -> bool:
    """See the sign-in details: the account's administrators and SLT (seed 004 §4.2), nobody else."""
    return account_role(user, account) == "administrator" or access_for(user).has_role(account.organisation, Role.SLT)


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
    """A filter on ``User``: current staff of any of ``organisations`` (or of their trust)."""
    reach = {org_id for org in organisations for org_id in org.reach_ids}
    return Q(pk__in=Membership.objects.current().filter(organisation_id__in=reach).values("user_id"))


def training_people(user) -> Q:
    """Whose training the person sees and records: their own, and that of the staff they oversee."""
    overseen = _organisations_with(user, TRAINING_OVERSEERS)
    return Q(pk=user.pk) | (_staff_of_any(overseen) if overseen else Q(pk__in=[]))


def training_verifiable_people(user) -> Q:
    """Whose training the person can vouch for: the staff they oversee, never themselves."""
    overseen = _organisations_with(user, TRAINING_OVERSEERS)
    return (_staff_of_any(overseen) if overseen else Q(pk__in=[])) & ~Q(pk=user.pk)


def can_verify_training_of(user, person) -> bool:
    """An administrator or SLT of the person's organisation, for someone else's record."""
    return User.objects.filter(training_verifiable_people(user), pk=person.pk).exists()
