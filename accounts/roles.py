"""The one way a person's roles change.

The staff page, the CSV import, invitations, accepted offers to join, the Django
admin and the demo all call ``change_roles``, so the rules hold on every path
(DESIGN.md "Who uses it"):

- nobody changes their own roles;
- staff without an email address cannot sign in, so they hold the staff role only;
- granting DSL, deputy DSL, organisation lead or administrator is recorded and
  told at once to the organisation lead and the DSL (the person granted
  excluded), so no privileged grant goes unseen.
"""

from accounts.models import Membership, Role, RoleGrant
from accounts.notices import send_role_grant_notice
from accounts.permissions import forget_access
from core.audit import log_action

# Grants that open case files, staff records or the organisation's settings.
TOLD_GRANTS = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.LEAD, Role.ADMIN})


class RoleChangeRefused(Exception):
    """A change of roles the rules do not allow; the message says why."""


def change_roles(*, membership: Membership, roles, actor, via: str) -> bool:
    """Make ``membership`` hold exactly ``roles`` (the staff role always included).

    ``actor`` is the person making the change (``None`` for the server's own
    commands, such as the demo). ``via`` names the path, for the audit trail.
    Returns whether anything changed. Call inside the transaction that makes
    the rest of the change, so a refusal changes nothing.
    """
    new = frozenset(roles) | {Role.STAFF.value}
    old = frozenset(RoleGrant.objects.filter(membership=membership).values_list("role", flat=True))
    if new == old:
        return False
    if actor is not None and actor.pk == membership.user_id and new != (old | {Role.STAFF.value}):
        raise RoleChangeRefused("You cannot change your own roles: ask another administrator.")
    if new != {Role.STAFF.value} and not membership.user.has_email:
        raise RoleChangeRefused(
            f"{membership.user} has no email address, so cannot sign in: only the staff role applies. "
            "Invite them with an address to give them other roles."
        )
    RoleGrant.objects.filter(membership=membership).exclude(role__in=new).delete()
    RoleGrant.objects.bulk_create([RoleGrant(membership=membership, role=role) for role in new - old])
    if hasattr(membership, "_prefetched_objects_cache"):
        membership._prefetched_objects_cache.pop("role_grants", None)
    forget_access(membership.user)
    if old or new != {Role.STAFF.value}:
        log_action(
            "staff.roles_changed",
            actor=actor,
            organisation=membership.organisation,
            obj=membership,
            details={"from": sorted(old), "to": sorted(new), "via": via},
        )
    granted = (new - old) & TOLD_GRANTS
    if granted:
        _tell_of_grant(membership, granted, actor, via)
    return True


def _tell_of_grant(membership: Membership, granted: frozenset[str], actor, via: str) -> None:
    """The organisation lead and the DSL hear at once; administrators when there is neither."""
    organisation = membership.organisation
    people = Membership.objects.current().reaching(organisation).exclude(user_id=membership.user_id)
    recipients = people.with_role(Role.LEAD, Role.DSL).emails() or people.with_role(Role.ADMIN).emails()
    labels = [Role(code).label for code in Role.values if code in granted]
    entry = log_action(
        "staff.privileged_role_granted",
        actor=actor,
        organisation=organisation,
        obj=membership,
        details={"roles": sorted(granted), "via": via, "told": recipients},
    )
    if recipients:
        send_role_grant_notice(
            to=recipients,
            membership=membership,
            roles=labels,
            granted_by=(actor.full_name or actor.email) if actor else "",
            via=via,
            grant_id=entry.pk,
        )
