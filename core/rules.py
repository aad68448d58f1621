"""An access rule is written once, as a filter on its model; checking one object asks the same filter.

Each app keeps its rules in its own ``access`` module as functions ``rule(user) -> Q``.
Lists filter by the rule; a page about one object asks ``holds(rule(user), obj)``, so the
list and the page can never disagree about who may see what.
"""

from django.db.models import Q


def holds(rule: Q, obj) -> bool:
    """Whether ``obj`` (a saved model instance) is among the rows ``rule`` lets through."""
    if obj is None or obj.pk is None:
        return False
    return type(obj)._base_manager.filter(rule, pk=obj.pk).exists()


NOTHING = Q(pk__in=[])


class RoleRule:
    """A rule that depends on the row and on the roles a person holds in the row's organisation.

    ``cases`` pairs field values with the roles that allow the act on rows having them (cases
    never overlap: each row matches at most one), so one table gives both the filter for a person
    (``filter``) and the roles that reach one row (``roles_for``: who may be assigned, told).
    """

    def __init__(self, *cases: tuple[dict, frozenset], organisation_field: str = "organisation_id"):
        self.cases = cases
        self.organisation_field = organisation_field

    def roles_for(self, obj) -> frozenset:
        for values, roles in self.cases:
            if all(getattr(obj, name) == value for name, value in values.items()):
                return roles
        return frozenset()

    def filter(self, roles_by_organisation: dict[int, frozenset]) -> Q:
        """The rows a person holding ``roles_by_organisation`` may act on."""
        scope = NOTHING
        for values, roles in self.cases:
            organisations = [org_id for org_id, held in roles_by_organisation.items() if held & roles]
            if organisations:
                scope |= Q(**values, **{f"{self.organisation_field}__in": organisations})
        return scope
