"""An official account's password in a real browser (seed 001 §3, 004 §4.2): the organisation's
administrator stores it, SLT are told; a deputy head reveals it after a code from her authenticator
app and sees her view listed on the account page; she adds a volunteer to the team, who joins as a
moderator and is offered no reveal, and a POST straight to the reveal address is refused with
nothing revealed. axe-core checks every page."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, check_page
from tests.mailbox import deliver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ACCOUNT = "Northfield Primary News"
PASSWORD_KEPT = "user: northfield.news\npassword: Bl0ssom-Tr33-Hill"


def _code(secret: str) -> str:
    return f"{hotp_value(secret, int(time.time()) // 30):06d}"


def _sign_in_with_code(page, live_server, email: str, secret: str) -> None:
    """Password, then a code from the authenticator app: the second factor is fresh from here."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.locator('input[name="code"]').fill(_code(secret))
    page.locator('input[name="code"]').press("Enter")
    page.wait_for_url(f"{live_server.url}/")


def test_the_administrator_stores_slt_reveal_and_a_volunteer_is_refused(
    live_server, demo_data, open_browser, sign_in, settings, celery_eager
):
    from accounts.models import User
    from approvals.models import AccountMember, AccountRole, OfficialAccount
    from core.models import AuditEntry

    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    account = OfficialAccount.objects.get(name=ACCOUNT)
    account_url = f"{live_server.url}/approvals/accounts/{account.pk}/"
    secrets = {}
    for email in ("admin@example.org", "slt@example.org"):
        secrets[email] = generate_totp_secret()
        TOTP.activate(User.objects.get(email=email), secrets[email])
    deliver()

    # (1) The organisation's administrator keeps the password in the portal; SLT are told.
    admin = open_browser()
    _sign_in_with_code(admin, live_server, "admin@example.org", secrets["admin@example.org"])
    admin.goto(account_url)
    expect(admin.get_by_role("heading", level=1)).to_have_text(ACCOUNT)
    admin.get_by_text("Keep the sign-in details in the portal").click()
    admin.get_by_role("region", name="Sign-in details").get_by_role("textbox").fill(PASSWORD_KEPT)
    check_page(admin, "the account page with the credentials form", "credentials-admin-form")
    admin.get_by_role("button", name="Save sign-in details").click()
    expect(admin.get_by_role("status")).to_contain_text("Sign-in details saved, encrypted. SLT have been told.")
    expect(admin.get_by_text("Kept encrypted in the portal")).to_be_visible()
    # The list of who has seen them is for SLT and the account's administrators.
    expect(admin.get_by_role("heading", name="Who has seen the sign-in details")).to_have_count(0)
    check_page(admin, "the account page after storing", "credentials-admin-stored")
    changed = [m for m in deliver() if m.subject.startswith("Sign-in details changed")]
    assert {"slt@example.org", "head@example.org"} <= {a for m in changed for a in m.to}

    # (2) The deputy head reveals them, and her view is listed with when and from where.
    slt = open_browser()
    _sign_in_with_code(slt, live_server, "slt@example.org", secrets["slt@example.org"])
    slt.goto(account_url)
    reveals = slt.get_by_role("region", name="Who has seen the sign-in details")
    expect(reveals).to_contain_text("Nobody has seen them in the portal yet.")
    check_page(slt, "the account page before a reveal", "credentials-slt-account")
    slt.get_by_role("button", name="Show the sign-in details").click()
    expect(slt.get_by_role("heading", level=1)).to_have_text("Sign-in details")
    expect(slt.locator("pre")).to_have_text(PASSWORD_KEPT)
    check_page(slt, "the revealed sign-in details", "credentials-slt-revealed")
    slt.get_by_role("link", name="Back to the account").click()
    row = slt.get_by_role("region", name="Who has seen the sign-in details").get_by_role("row").nth(1)
    expect(row).to_contain_text("Alex Okafor")
    expect(row).to_contain_text("127.0.0.1")
    check_page(slt, "the account page listing the reveal", "credentials-slt-reveal-listed")
    viewed = [m for m in deliver() if m.subject.startswith("Sign-in details viewed")]
    assert "head@example.org" in {a for m in viewed for a in m.to}

    # (3) She adds a volunteer to the team: the volunteer joins as a moderator, the least privilege.
    slt.get_by_text("Add someone to the team, or change their role").click()
    slt.get_by_label("Person").select_option(label="Grace Wilson")
    expect(slt.get_by_label("Role")).to_have_value("moderator")
    slt.get_by_role("button", name="Add to the team").click()
    expect(slt.get_by_role("status")).to_contain_text("Team updated.")
    volunteer_user = User.objects.get(email="g.wilson@example.org")
    assert AccountMember.objects.get(account=account, user=volunteer_user).role == AccountRole.MODERATOR

    # (4) The volunteer sees the account but no reveal, and a POST straight to the address is refused.
    volunteer = open_browser()
    sign_in(volunteer, "g.wilson@example.org")
    volunteer.goto(account_url)
    expect(volunteer.get_by_role("heading", level=1)).to_have_text(ACCOUNT)
    expect(volunteer.get_by_role("button", name="Show the sign-in details")).to_have_count(0)
    expect(volunteer.get_by_text("Who has seen the sign-in details")).to_have_count(0)
    check_page(volunteer, "the account page as a volunteer", "credentials-volunteer-account")
    before = AuditEntry.objects.filter(action="approvals.credentials_revealed").count()
    token = next(c["value"] for c in volunteer.context.cookies() if c["name"] == "csrftoken")
    response = volunteer.request.post(
        f"{account_url}credentials/reveal/", headers={"X-CSRFToken": token, "Referer": account_url}
    )
    assert response.status == 403
    assert "Bl0ssom" not in response.text() and "CSRF" not in response.text()
    assert AuditEntry.objects.filter(action="approvals.credentials_revealed").count() == before
