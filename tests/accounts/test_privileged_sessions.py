"""Privileged means privileged everywhere: Django admin users and the holders of official
accounts' sign-in details need a second factor and get short, bounded sessions, whatever
their memberships (issue: a superuser signed in with a password alone for 8 hours)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from accounts.models import Role, User
from tests.accounts.test_sign_in import sign_in, totp_code
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(school):
    user = member(school, email="root@school.example")
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    school.require_mfa = False  # the organisation's switch does not reach the Django admin
    school.save()
    return User.objects.get(pk=user.pk)


def enrol(client, user):
    """Through allauth's own pages: confirm the password, then activate an authenticator app."""
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session[SECRET_SESSION_KEY]
    assert client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}).status_code == 302
    return secret


def test_a_superuser_with_a_password_alone_cannot_open_the_admin(client, superuser):
    sign_in(client, superuser)
    for path in ("/django-admin/", "/django-admin/accounts/membership/", "/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"


def test_a_superuser_without_any_membership_is_held_to_the_same_rule(client, db):
    root = User.objects.create_superuser("ops@example.net", PASSWORD, first_name="O", last_name="P")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=root, email=root.email, verified=True, primary=True)
    sign_in(client, root)
    assert client.get("/django-admin/").status_code == 302


def test_a_superuser_with_a_second_factor_signs_in_with_it(client, superuser):
    sign_in(client, superuser)
    secret = enrol(client, superuser)
    assert client.get("/django-admin/").status_code == 200
    client.post("/accounts/logout/")
    response = sign_in(client, superuser)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/django-admin/").status_code == 302
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/django-admin/").status_code == 200


def test_a_superuser_gets_the_short_idle_timeout(client, superuser):
    sign_in(client, superuser)
    enrol(client, superuser)
    client.get("/django-admin/")
    assert client.session.get_expiry_age() == settings.PRIVILEGED_SESSION_IDLE_SECONDS


def test_a_privileged_session_ends_after_its_absolute_lifetime_however_active(client, school):
    school.require_mfa = False
    school.save()
    dsl = member(school, Role.DSL)
    start = dt.datetime(2026, 11, 2, 7, 30, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, dsl)
        # active every 20 minutes, so the idle timeout never ends it
        for _ in range(settings.PRIVILEGED_SESSION_MAX_SECONDS // (20 * 60)):
            assert client.get("/").status_code == 200
            clock.shift(dt.timedelta(minutes=20))
        clock.shift(dt.timedelta(minutes=20))
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session


def test_an_account_administrator_is_privileged_and_must_enrol(client, school):
    """Holders of an official account's sign-in details (seed 001 §3) need a second factor."""
    from approvals.models import AccountMember, AccountRequest, AccountRole, AccountStatus, OfficialAccount
    from tests.approvals.conftest import BUSINESS_CASE

    volunteer = member(school)
    account_request = AccountRequest.objects.create(organisation=school, requester=volunteer, **BUSINESS_CASE)
    account = OfficialAccount.objects.create(
        request=account_request,
        organisation=school,
        name="Oak PTA",
        platform="facebook",
        official_email="pta@school.example",
        lead=volunteer,
        status=AccountStatus.ACTIVE,
    )
    AccountMember.objects.create(account=account, user=volunteer, role=AccountRole.ADMINISTRATOR)
    sign_in(client, volunteer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    account.status = AccountStatus.CLOSED
    account.save()
    assert client.get("/").status_code == 200
