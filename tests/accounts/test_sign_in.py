import datetime as dt
import time
from types import SimpleNamespace

import pytest
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, hotp_value
from django.conf import settings
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from accounts.adapters import SocialAccountAdapter
from accounts.models import Role, User
from accounts.services import invite_person
from core.models import AuditEntry
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db


def sign_in(client, user, password=PASSWORD):
    return client.post("/accounts/login/", {"login": user.email, "password": password})


def totp_code(secret):
    return f"{hotp_value(secret, int(time.time()) // 30):06d}"


def test_staff_sign_in_with_email_and_password(client, staff):
    response = sign_in(client, staff)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, staff):
    response = sign_in(client, staff, password="wrong")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_the_email_is_matched_whatever_its_case(client, staff):
    response = client.post("/accounts/login/", {"login": "STAFF@School.Example", "password": PASSWORD})
    assert response.status_code == 302


def test_there_is_no_public_sign_up(client, db):
    """Accounts come only from an organisation (invitation or import): the sign-up page says it
    is closed, and a sign-up posted to it anyway makes no account."""
    assert "You cannot create an account here" in client.get("/accounts/signup/").content.decode()
    password = "a-long-enough-pass-2026"
    response = client.post(
        "/accounts/signup/", {"email": "newcomer@example.org", "password1": password, "password2": password}
    )
    assert (
        "You cannot create an account here" in response.content.decode()
        and not User.objects.filter(email="newcomer@example.org").exists()
    )
    assert "_auth_user_id" not in client.session


def test_failed_sign_ins_count_together_whatever_host_header_they_carry(client, staff):
    """A port on the Host header must not start a fresh count of failures (allauth's own key names
    the request's host): five wrong passwords for one address, each under another port, and the
    sixth attempt, right password or not, is refused."""
    for port in range(5):
        page = client.post(
            "/accounts/login/", {"login": staff.email, "password": f"wrong-{port}"}, HTTP_HOST=f"testserver:{port + 1}"
        ).content.decode()
        assert "Too many failed login attempts" not in page
    response = client.post(
        "/accounts/login/", {"login": staff.email.upper(), "password": PASSWORD}, HTTP_HOST="testserver:99"
    )
    assert response.status_code == 200 and "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failed_sign_ins_are_rate_limited(client, staff):
    pages = [sign_in(client, staff, password=f"wrong-{n}").content.decode() for n in range(6)]
    assert not any("Too many failed login attempts" in page for page in pages[:5])
    assert "Too many failed login attempts" in pages[5]
    # even the right password is refused while the limit lasts
    response = sign_in(client, staff)
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.SLT, Role.LEAD, Role.DSL, Role.DEPUTY_DSL, Role.ADMIN])
def test_privileged_roles_are_sent_to_set_up_two_factor_until_they_do(client, school, role):
    person = member(school, role)
    sign_in(client, person)
    for path in ("/", f"/organisations/{school.slug}/staff/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    # allauth's own pages stay reachable, or nobody could enrol: confirm the password, then set up
    response = client.get("/accounts/2fa/totp/activate/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    assert response.status_code == 200


def test_two_factor_enrolment_lets_a_privileged_person_in(client, slt, django_capture_on_commit_callbacks):
    sign_in(client, slt)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=slt, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=slt, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert AuditEntry.objects.filter(action="account.two_factor_added", actor=slt, details__type="totp").exists()
    assert client.get("/").status_code == 200

    # next time, the password alone is not enough
    client.post("/accounts/logout/")
    response = sign_in(client, slt)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/").status_code == 200


def test_staff_roles_are_not_asked_for_two_factor(client, school):
    person = member(school, Role.LINE_MANAGER, Role.POLICY_OWNER, Role.ONLINE_SAFETY)
    sign_in(client, person)
    assert client.get("/").status_code == 200


def test_an_organisation_can_switch_the_requirement_off(client, school, slt):
    school.require_mfa = False
    school.save()
    sign_in(client, slt)
    response = client.get("/")
    assert response.status_code == 200
    assert "Two-factor sign-in is not required at Oak Primary" in response.content.decode()


def test_privileged_sessions_expire_after_30_minutes_idle(client, school):
    school.require_mfa = False
    school.save()
    person, teacher = member(school, Role.DSL), member(school)
    sign_in(client, person)
    client.get("/")
    assert client.session.get_expiry_age() == settings.PRIVILEGED_SESSION_IDLE_SECONDS == 30 * 60
    client.post("/accounts/logout/")
    sign_in(client, teacher)
    client.get("/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_a_leaver_cannot_sign_in_and_is_signed_out(client, school):
    person = member(school, leaving_date=timezone.localdate() + dt.timedelta(days=3))
    sign_in(client, person)
    assert client.get("/").status_code == 200
    # the leaving date passes while they are signed in
    person.memberships.update(leaving_date=timezone.localdate() - dt.timedelta(days=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # Signed out, pages for everyone still answer (DESIGN.md: the public form needs no account).
    assert client.get(f"/report/{school.slug}/").status_code == 200
    response = sign_in(client, person)
    assert "_auth_user_id" not in client.session
    assert person.memberships.count() == 1


def test_an_invitation_sets_a_password_once(
    client, school, school_admin, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_person(
            organisation=school,
            email="New.Teacher@school.example",
            first_name="Nia",
            last_name="Jones",
            actor=school_admin,
        )
    message = mail.outbox[-1]
    assert message.to == ["new.teacher@school.example"]
    assert "Set up your Policy Portal account for Oak Primary" == message.subject
    link = next(line for line in message.body.splitlines() if "/invitation/" in line).strip()
    path = link.removeprefix(settings.SITE_URL)
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": "a-long-pass-phrase", "new_password2": "a-long-pass-phrase"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    response = client.post(
        "/accounts/login/", {"login": "new.teacher@school.example", "password": "a-long-pass-phrase"}
    )
    assert response["Location"] == "/" and client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="account.invitation_accepted").count() == 1
    client.post("/accounts/logout/")
    assert client.get(path).status_code == 400  # used once


def test_an_invitation_link_cannot_replace_an_existing_password(client, staff):
    """A resent invitation would otherwise let whoever reads the mailbox in without the second factor."""
    from accounts.services import invitation_path

    assert staff.has_usable_password()
    assert client.get(invitation_path(staff)).status_code == 400


def test_a_tampered_invitation_link_is_refused(client, staff):
    assert client.get("/invitation/MQ/not-a-token/").status_code == 400
    assert client.get("/invitation/!!/x/").status_code == 400


class FakeSocialLogin:
    def __init__(self, provider_id, emails, existing=False):
        self.provider = SimpleNamespace(id=provider_id, app=None, get_settings=lambda: {})
        self.email_addresses = [SimpleNamespace(email=e, verified=v) for e, v in emails]
        self.is_existing = existing
        self.connected_to = None

    def connect(self, request, user):
        self.connected_to = user


def social_request():
    request = RequestFactory().get("/accounts/microsoft/login/callback/")
    request.session = {}
    request._messages = SimpleNamespace(add=lambda *a, **k: None)
    return request


def test_social_sign_in_matches_staff_by_verified_email(staff):
    login = FakeSocialLogin("google", [("Staff@school.example", True)])
    SocialAccountAdapter().pre_social_login(social_request(), login)
    assert login.connected_to == staff


def test_social_sign_in_refuses_an_unverified_address(staff):
    login = FakeSocialLogin("google", [("staff@school.example", False)])
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(social_request(), login)
    assert login.connected_to is None


def test_an_unverified_microsoft_address_is_refused_even_on_an_official_domain(staff):
    """Another tenant can give anyone this address: only the school's own tenant's addresses are verified."""
    login = FakeSocialLogin("microsoft", [("staff@school.example", False)])
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(social_request(), login)
    assert login.connected_to is None


def test_social_sign_in_refuses_people_who_are_not_staff(db, school):
    login = FakeSocialLogin("microsoft", [("stranger@school.example", False)])
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(social_request(), login)
