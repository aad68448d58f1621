import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Role
from accounts.permissions import Action, access_for, can, get_organisation_for
from tests.factories import MembershipFactory, member

pytestmark = pytest.mark.django_db

ROLE_CASES = [
    # role held in the school, then whether it may view staff, manage staff, manage the organisation
    (Role.STAFF, False, False, False),
    (Role.LINE_MANAGER, False, False, False),
    (Role.SLT, True, False, False),
    (Role.LEAD, True, False, False),
    (Role.DSL, False, False, False),
    (Role.DEPUTY_DSL, False, False, False),
    (Role.ONLINE_SAFETY, False, False, False),
    (Role.POLICY_OWNER, False, False, False),
    (Role.ADMIN, True, True, True),
]


@pytest.mark.parametrize(("role", "view_staff", "manage_staff", "manage_org"), ROLE_CASES)
def test_each_role_is_allowed_exactly_its_actions(school, other_school, role, view_staff, manage_staff, manage_org):
    person = member(school, role)
    assert can(person, Action.VIEW_STAFF, school) is view_staff
    assert can(person, Action.MANAGE_STAFF, school) is manage_staff
    assert can(person, Action.MANAGE_ORGANISATION, school) is manage_org
    # nothing reaches a sibling school from a school-level role
    assert access_for(person).roles_in(other_school) == frozenset()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.STAFF])
def test_every_role_also_makes_the_person_staff(school, role):
    assert access_for(member(school, role)).roles_in(school) == {Role.STAFF, role}


def test_trust_level_roles_reach_every_member_organisation(trust, school, other_school, outside_school, trust_slt):
    access = access_for(trust_slt)
    for organisation in (trust, school, other_school):
        assert access.has_role(organisation, Role.SLT)
        assert can(trust_slt, Action.VIEW_STAFF, organisation)
    assert not can(trust_slt, Action.VIEW_STAFF, outside_school)
    assert [org.slug for org in access.organisations] == ["oak-trust", "ash-academy", "oak-primary"]


def test_school_roles_do_not_climb_to_the_trust(trust, school, school_admin):
    assert not can(school_admin, Action.MANAGE_STAFF, trust)
    assert trust not in access_for(school_admin).organisations


def test_a_person_in_two_organisations_holds_each_set_of_roles_separately(school, outside_school):
    person = member(school, Role.DSL)
    MembershipFactory(user=person, organisation=outside_school, roles=[Role.ADMIN])
    access = access_for(person)
    assert access.roles_in(school) == {Role.STAFF, Role.DSL}
    assert access.roles_in(outside_school) == {Role.STAFF, Role.ADMIN}
    assert can(person, Action.MANAGE_STAFF, outside_school)
    assert not can(person, Action.MANAGE_STAFF, school)


def test_trust_and_school_roles_combine(trust, school, other_school):
    person = member(trust, Role.POLICY_OWNER)
    MembershipFactory(user=person, organisation=school, roles=[Role.ADMIN])
    access = access_for(person)
    assert access.roles_in(school) == {Role.STAFF, Role.POLICY_OWNER, Role.ADMIN}
    assert access.roles_in(other_school) == {Role.STAFF, Role.POLICY_OWNER}


def test_leavers_lose_every_role_but_keep_their_record(school, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC))
    leaver = member(school, Role.SLT, leaving_date=dt.date(2026, 11, 25))
    leaving_today = member(school, Role.SLT, leaving_date=dt.date(2026, 11, 26))
    assert not access_for(leaver).has_access
    assert access_for(leaver).roles_in(school) == frozenset()
    assert leaver.memberships.count() == 1
    assert access_for(leaving_today).has_role(school, Role.SLT)


def test_a_deactivated_person_has_no_access(school):
    person = member(school, Role.ADMIN)
    person.is_active = False
    person.save()
    assert access_for(person).roles_by_org == {}


def test_mfa_is_required_for_privileged_roles_only(school):
    assert access_for(member(school, Role.SLT)).requires_mfa
    assert access_for(member(school, Role.DEPUTY_DSL)).requires_mfa
    assert not access_for(member(school, Role.LINE_MANAGER, Role.POLICY_OWNER, Role.ONLINE_SAFETY)).requires_mfa


def test_mfa_follows_the_organisation_setting(school, trust):
    school.require_mfa = False
    school.save()
    assert not access_for(member(school, Role.DSL)).requires_mfa
    # a trust-level DSL still needs it where the trust requires it
    assert access_for(member(trust, Role.DSL)).requires_mfa


def test_get_organisation_hides_organisations_out_of_reach(school, outside_school, staff, outsider):
    with pytest.raises(Http404):
        get_organisation_for(outsider, school.slug, Action.VIEW_STAFF)
    with pytest.raises(PermissionDenied):
        get_organisation_for(staff, school.slug, Action.VIEW_STAFF)
    assert get_organisation_for(outsider, outside_school.slug, Action.MANAGE_STAFF) == outside_school


def test_building_access_takes_a_fixed_number_of_queries(trust, school, other_school, django_assert_num_queries):
    person = member(trust, Role.SLT)
    MembershipFactory(user=person, organisation=school, roles=[Role.ADMIN])
    for _ in range(5):
        member(school)
    with django_assert_num_queries(3):
        access = access_for(person)
        access.roles_in(other_school)
        access_for(person)


def test_an_anonymous_visitor_has_no_access(school):
    from django.contrib.auth.models import AnonymousUser

    assert not can(AnonymousUser(), Action.VIEW_STAFF, school)


def test_menus_list_up_to_eight_organisations_then_the_top_of_each_family(trust, school):
    from accounts.permissions import MENU_LIMIT, menu_of
    from tests.factories import OrganisationFactory

    few = [school, trust]
    assert menu_of(few).organisations == few and menu_of(few).more == 0
    many = [trust, *(OrganisationFactory(parent=trust) for _ in range(MENU_LIMIT))]
    assert menu_of(many).organisations == [trust] and menu_of(many).more == MENU_LIMIT
