"""Who may publish and retire a policy's versions: the one definition, used by services, views and templates.

Issue 10, "least privilege": publishing is the policy owner's act (DESIGN.md
"Who uses it": the policy owner keeps a policy's text, versions and review;
seed 001's policy table names an owner for each policy). An organisation
administrator may draft and edit (``accounts.permissions.can_edit_policy``)
but publishes only if they also hold the policy owner role there.
"""

from accounts.models import Role
from accounts.permissions import access_for, can_edit_policy


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
    """Manage the policy and draft its versions: its owner or an administrator of the organisation
    that owns it (``accounts.permissions.can_edit_policy``), and anyone who may publish it, who
    must reach the draft they publish."""
    return can_edit_policy(user, policy) or can_publish(user, policy)
