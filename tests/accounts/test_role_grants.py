"""One way to change roles (DESIGN.md "Who uses it"): nobody changes their own roles by any
path, privileged grants are told at once to the organisation lead and the DSL, and import and
invitation never attach an account outside the organisation's group by its address."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Offer, Role, RoleGrant, User
from accounts.permissions import access_for
from accounts.services import StaffError, invite_person, offer_path
from accounts.staff_import import import_staff
from core.models import AuditEntry
from tests.factories import UserFactory, member
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db

HEADER = "First name,Last name,Email,Roles\n"


def roles_of(user, organisation):
    return Membership.objects.get(user=user, organisation=organisation).roles


# Each path by which an administrator sets someone's roles, as the same call.
def via_staff_page(client, actor, organisation, person, roles):
    membership = Membership.objects.get(user=person, organisation=organisation)
    client.force_login(actor)
    return client.post(
        reverse("accounts:staff_edit", args=[organisation.slug, membership.pk]),
        {"staff_type": membership.staff_type, "job_title": membership.job_title, "roles": roles},
    )


def via_import(client, actor, organisation, person, roles):
    text = HEADER + f"{person.first_name},{person.last_name},{person.email},{';'.join(roles)}\n"
    return import_staff(organisation=organisation, data=text, actor=actor)


def via_admin(client, actor, organisation, person, roles):
    membership = Membership.objects.get(user=person, organisation=organisation)
    client.force_login(actor)
    return client.post(
        f"/django-admin/accounts/membership/{membership.pk}/change/",
        {
            "user": person.pk,
            "organisation": organisation.pk,
            "staff_type": membership.staff_type,
            "job_title": membership.job_title,
            "roles": roles,
        },
    )


PATHS = [via_staff_page, via_import, via_admin]


def admin_actor(organisation, path):
    """An organisation administrator, or for the Django admin a superuser with a membership there."""
    actor = member(organisation, Role.ADMIN, email=f"actor-{path.__name__}@school.example")
    if path is via_admin:
        actor.is_staff = actor.is_superuser = True
        actor.save()
        organisation.require_mfa = False  # the admin's own second factor is tested in test_sign_in
        organisation.save()
    return actor


@pytest.fixture
def enrol_mfa():
    """Administrators need a second factor; these tests drive their forms, not the sign-in."""
    from allauth.mfa.models import Authenticator

    def enrol(user):
        Authenticator.objects.get_or_create(user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "x"}})

    return enrol


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_nobody_gives_themselves_a_role_by_any_path(client, school, path, enrol_mfa):
    actor = admin_actor(school, path)
    enrol_mfa(actor)
    path(client, actor, school, actor, [Role.ADMIN, Role.DSL, Role.LEAD])
    assert roles_of(actor, school) == {Role.STAFF, Role.ADMIN}
    assert not AuditEntry.objects.filter(action="staff.roles_changed").exists()


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_a_privileged_grant_by_any_path_is_told_to_the_lead_and_the_dsl_not_the_grantee(
    client, school, trust, path, enrol_mfa, celery_eager, django_capture_on_commit_callbacks
):
    actor = admin_actor(school, path)
    enrol_mfa(actor)
    head = member(school, Role.LEAD, email="head@school.example")
    dsl = member(school, Role.DSL, email="dsl@school.example")
    trust_dsl = member(trust, Role.DSL, email="trust.dsl@school.example")
    person = member(school, email="teacher@school.example")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        path(client, actor, school, person, [Role.DSL])
    assert roles_of(person, school) == {Role.STAFF, Role.DSL}
    notices = [m for m in deliver() if "Designated safeguarding lead" in m.subject]
    # One message each (nobody sees who else was told), to the lead and the DSLs, never the grantee.
    assert sorted(address for m in notices for address in m.to) == sorted([head.email, dsl.email, trust_dsl.email])
    entry = AuditEntry.objects.get(action="staff.privileged_role_granted")
    assert entry.actor == actor and entry.details["roles"] == [Role.DSL]


def test_a_grant_that_is_not_privileged_is_recorded_but_not_announced(
    client, school, school_admin, enrol_mfa, celery_eager, django_capture_on_commit_callbacks
):
    enrol_mfa(school_admin)
    member(school, Role.LEAD, email="head@school.example")
    person = member(school, email="teacher@school.example")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        via_staff_page(client, school_admin, school, person, [Role.LINE_MANAGER])
    assert roles_of(person, school) == {Role.STAFF, Role.LINE_MANAGER}
    assert AuditEntry.objects.filter(action="staff.roles_changed").count() == 1
    assert deliver() == []


def test_an_import_with_the_importers_own_row_changes_nothing_at_all(school, school_admin):
    """The exploit as found: an administrator's own row with 'DSL; organisation lead'."""
    text = HEADER + "Ann,Admin,admin@school.example,DSL; organisation lead\nNew,Person,new@school.example,\n"
    report = import_staff(organisation=school, data=text, actor=school_admin)
    assert not report.ok and "your own roles" in str(report.errors[0])
    assert roles_of(school_admin, school) == {Role.STAFF, Role.ADMIN}
    assert not User.objects.filter(email="new@school.example").exists()  # a refused row changes nothing


def test_a_trust_administrator_cannot_invite_themselves_as_dsl_at_a_member_school(trust, school):
    trust_admin = member(trust, Role.ADMIN, email="trust.admin@school.example")
    with pytest.raises(StaffError, match="yourself"):
        invite_person(
            organisation=school,
            email="Trust.Admin@school.example",
            first_name="T",
            last_name="A",
            actor=trust_admin,
            roles=[Role.DSL],
        )
    assert not Membership.objects.filter(user=trust_admin, organisation=school).exists()
    # and the page says so instead of failing
    from django.test import Client

    client = Client()
    client.force_login(trust_admin)
    trust.require_mfa = school.require_mfa = False
    trust.save()
    school.save()
    response = client.post(
        reverse("accounts:staff_invite", args=[school.slug]),
        {
            "first_name": "T",
            "last_name": "A",
            "email": trust_admin.email,
            "staff_type": "employee",
            "roles": [Role.DSL],
        },
    )
    assert response.status_code == 200 and "cannot invite yourself" in response.content.decode()
    assert not access_for(User.objects.get(pk=trust_admin.pk)).has_role(school, Role.DSL)


def test_the_admin_has_no_other_way_to_edit_role_grants(admin_client, admin_user, enrol_mfa):
    enrol_mfa(admin_user)
    assert admin_client.get("/django-admin/accounts/membership/").status_code == 200
    assert admin_client.get("/django-admin/accounts/rolegrant/").status_code == 404


# Accounts outside the organisation's group
# ------------------------------------------------------------------------------


def test_an_invitation_to_an_account_elsewhere_is_an_offer_it_must_accept(
    client, school, school_admin, outside_school, celery_eager, django_capture_on_commit_callbacks, time_machine
):
    # The offer's link is signed with the time: the clock held still, the link built below is the one sent.
    time_machine.move_to(timezone.now(), tick=False)
    stranger = member(outside_school, email="someone@elm.example")
    User.objects.filter(pk=stranger.pk).update(first_name="Private", last_name="Name")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = invite_person(
            organisation=school,
            email="someone@elm.example",
            first_name="Wrong",
            last_name="Name",
            actor=school_admin,
            roles=[Role.DSL],
        )
    assert isinstance(result, Offer)
    assert not Membership.objects.filter(user=stranger, organisation=school).exists()
    assert User.objects.get(pk=stranger.pk).first_name == "Private"
    assert [m.to for m in deliver()] == [["someone@elm.example"]]
    link = offer_path(result)
    assert link in deliver()[0].body

    # The school's administrator still cannot see the person's stored name.
    client.force_login(school_admin)
    school.require_mfa = False
    school.save()
    assert "Private" not in client.get(reverse("accounts:staff_list", args=[school.slug])).content.decode()

    # Only the account holder, signed in, can accept; someone else with the link cannot.
    client.force_login(school_admin)
    assert client.post(link, {"answer": "accept"}).status_code == 404
    client.force_login(stranger)
    assert client.get(link).status_code == 200
    head = member(school, Role.LEAD, email="head@school.example")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, {"answer": "accept"})
    assert response.status_code == 302
    assert roles_of(stranger, school) == {Role.STAFF, Role.DSL}
    # the grant is the administrator's, told like any other
    assert any(head.email in m.to for m in deliver())
    entry = AuditEntry.objects.get(action="staff.privileged_role_granted")
    assert entry.actor == school_admin
    assert client.post(link, {"answer": "accept"}).status_code == 404  # answered once


def test_a_declined_offer_adds_nothing(client, school, school_admin, outside_school):
    stranger = member(outside_school, email="someone@elm.example")
    offer = invite_person(organisation=school, email=stranger.email, first_name="S", last_name="O", actor=school_admin)
    client.force_login(stranger)
    client.post(offer_path(offer), {"answer": "decline"})
    assert not Membership.objects.filter(user=stranger, organisation=school).exists()
    assert Offer.objects.get(pk=offer.pk).accepted is False


def test_an_offer_link_is_refused_when_tampered_with(client, school, school_admin, outside_school):
    stranger = member(outside_school, email="someone@elm.example")
    offer = invite_person(organisation=school, email=stranger.email, first_name="S", last_name="O", actor=school_admin)
    client.force_login(stranger)
    assert client.get(offer_path(offer)[:-3] + "xyz/").status_code == 404


def test_a_trust_reaches_accounts_in_its_member_schools_without_an_offer(trust, school, other_school):
    """Inside one group (a trust and its members) the staff list is shared: no offer needed."""
    teacher = member(other_school, email="moving@school.example")
    trust_admin = member(trust, Role.ADMIN, email="trust.admin@school.example")
    result = invite_person(organisation=school, email=teacher.email, first_name="M", last_name="T", actor=trust_admin)
    assert isinstance(result, Membership) and result.user == teacher


# Addresses are proof of identity
# ------------------------------------------------------------------------------


def test_an_unconfirmed_address_is_never_matched_by_import_or_invitation(school, school_admin):
    """The exploit as found: a staff member switched to a future DSL's address nobody had confirmed."""
    from allauth.account.models import EmailAddress

    attacker = member(school, email="attacker@school.example")
    # the state the old address page could leave: the account's address unconfirmed
    attacker.email = "new.dsl@school.example"
    attacker.save()
    EmailAddress.objects.filter(user=attacker).delete()
    EmailAddress.objects.create(user=attacker, email=attacker.email, verified=False, primary=True)

    text = HEADER + "New,Lead,new.dsl@school.example,DSL; organisation lead\n"
    report = import_staff(organisation=school, data=text, actor=school_admin)
    assert report.ok and report.offered == ["new.dsl@school.example"]
    assert roles_of(attacker, school) == {Role.STAFF}
    with pytest.raises(StaffError):
        invite_person(organisation=school, email=attacker.email, first_name="N", last_name="L", actor=attacker)
    offer = invite_person(
        organisation=school, email=attacker.email, first_name="N", last_name="L", actor=school_admin, roles=[Role.DSL]
    )
    assert isinstance(offer, Offer)
    assert not access_for(User.objects.get(pk=attacker.pk)).has_role(school, Role.DSL)


def test_a_new_address_cannot_be_made_the_sign_in_address_until_confirmed(client, staff):
    from allauth.account.models import EmailAddress

    client.force_login(staff)
    client.post("/accounts/email/", {"action_add": "", "email": "future.lead@school.example"})
    assert EmailAddress.objects.filter(user=staff, email="future.lead@school.example", verified=False).exists()
    response = client.post("/accounts/email/", {"action_primary": "", "email": "future.lead@school.example"})
    assert response.status_code == 302
    assert User.objects.get(pk=staff.pk).email == "staff@school.example"
    assert EmailAddress.objects.get(user=staff, primary=True).email == "staff@school.example"


def test_another_persons_address_cannot_be_added_and_nothing_breaks(client, school, staff):
    imported = User.objects.create_user("imported@school.example", first_name="I", last_name="P")
    Membership.objects.create(user=imported, organisation=school)
    client.force_login(staff)
    response = client.post("/accounts/email/", {"action_add": "", "email": "IMPORTED@school.example"})
    assert response.status_code == 200 and "belongs to another account" in response.content.decode()
    response = client.post("/accounts/email/", {"action_primary": "", "email": "imported@school.example"})
    assert response.status_code in (200, 302)
    assert User.objects.get(pk=staff.pk).email == "staff@school.example"
    from allauth.account.models import EmailAddress

    assert list(EmailAddress.objects.filter(user=staff).values_list("email", "primary")) == [
        ("staff@school.example", True)
    ]


def test_signing_in_needs_a_confirmed_address(client, school):
    person = UserFactory(email="unconfirmed@school.example", confirmed=False)
    Membership.objects.create(user=person, organisation=school)
    RoleGrant.objects.create(membership=Membership.objects.get(user=person), role=Role.STAFF)
    client.post("/accounts/login/", {"login": person.email, "password": "correct-horse-battery"})
    assert "_auth_user_id" not in client.session


def test_a_draft_never_submitted_is_seen_by_its_author_and_runners_only(client, school, staff, slt):
    """Least privilege where DESIGN.md is silent: SLT, the lead and the register's viewers see it once submitted."""
    from approvals.access import can_see_request
    from approvals.models import AccountRequest, Runner
    from tests.approvals.conftest import BUSINESS_CASE

    runner = member(school, email="runner@school.example")
    head = member(school, Role.LEAD, Role.ADMIN, Role.ONLINE_SAFETY, email="head@school.example")
    draft = AccountRequest.objects.create(organisation=school, requester=staff, **BUSINESS_CASE)
    Runner.objects.create(request=draft, user=runner, is_lead=True)
    assert can_see_request(staff, draft) and can_see_request(runner, draft)
    assert not can_see_request(slt, draft) and not can_see_request(head, draft)
    school.require_mfa = False
    school.save()
    client.force_login(slt)
    assert client.get(reverse("approvals:request", args=[draft.pk])).status_code == 404
    draft.submission = 1
    draft.save()
    assert can_see_request(slt, draft) and can_see_request(head, draft)
