"""A privileged grant in a real browser: the administrator gives a teacher the DSL role, the
organisation lead and the DSL are told at once, and the new DSL must set up a second factor
before they can open anything (DESIGN.md "Who uses it")."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, assert_accessible, page_errors, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_dsl_grant_is_told_and_the_new_dsl_must_set_up_two_factor(
    live_server, demo_data, browser, page, sign_in, celery_eager
):
    from accounts.models import Organisation, Role

    sign_in(page, "admin@example.org")
    page.goto(f"{live_server.url}/organisations/northfield-primary/staff/?q=l.evans")
    page.get_by_role("link", name=re.compile("Lucy Evans")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucy Evans")
    page.get_by_label(Role.DSL.label, exact=True).check()
    screenshot(page, "role-grant-edit")
    mail.outbox.clear()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved Lucy Evans's record.")).to_be_visible()

    # One message to each person told (the outbox writes one per recipient), never to the grantee.
    notices = [m for m in mail.outbox if "Lucy Evans was given" in m.subject]
    told = [address for m in notices for address in m.to]
    assert {"head@example.org", "dsl@example.org"} <= set(told), [m.subject for m in mail.outbox]
    assert len(told) == len(set(told)) and "l.evans@example.org" not in told
    notice = next(m for m in notices if m.to == ["head@example.org"])
    # The notice as the head teacher reads it.
    html = next(body for body, kind in notice.alternatives if kind == "text/html")
    reader = browser.new_context(locale="en-GB")
    email_page = reader.new_page()
    email_page.set_content(html)
    expect(email_page.get_by_text("Lucy Evans now holds Designated safeguarding lead")).to_be_visible()
    screenshot(email_page, "role-grant-notice")
    reader.close()

    # Real schools require two-factor sign-in for their DSL (the demo switches it off).
    Organisation.objects.filter(slug="northfield-primary").update(require_mfa=True)
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("l.evans@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Sent to set up an authenticator app; allauth first asks for the password again.
    expect(page).to_have_url(re.compile(r"/accounts/(reauthenticate|2fa/totp/activate)/"))
    screenshot(page, "role-grant-must-enrol")
    expect(page.get_by_text("Your roles need two-factor sign-in")).to_be_visible()
    assert_accessible(page, "the two-factor set-up step")
    # Nothing opens until they do.
    page.goto(f"{live_server.url}/organisations/northfield-primary/incidents/")
    expect(page).to_have_url(re.compile(r"/accounts/(reauthenticate|2fa/totp/activate)/"))
    assert page_errors(page) == []
