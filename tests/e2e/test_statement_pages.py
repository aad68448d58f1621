"""The accessibility statement, the pages that were dead ends and the administrator's one warning, in a browser."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, page_errors, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_statement_and_the_dead_ends_lead_somewhere(live_server, demo_data, page, phone_page, sign_in):
    for shown, suffix in ((page, ""), (phone_page, "-phone")):
        shown.goto(f"{live_server.url}/accounts/login/")
        shown.get_by_role("contentinfo").get_by_role("link", name="Accessibility statement").click()
        expect(shown).to_have_title("Accessibility statement – Policy Portal")
        expect(shown.get_by_role("heading", name="What is not accessible yet")).to_be_visible()
        screenshot(shown, f"accessibility-statement{suffix}")
        assert_accessible(shown, "the accessibility statement")

    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot create an account here")
    screenshot(page, "signup-closed")
    assert_accessible(page, "the sign-up-closed page")
    page.get_by_role("main").get_by_role("link", name="sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")

    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page.get_by_role("main")).to_contain_text("ask your organisation's administrator")
    screenshot(page, "password-reset")
    assert_accessible(page, "the password-reset page")

    sign_in(page, "admin@example.org")
    warnings = page.get_by_role("note").filter(has_text="Two-factor sign-in is not required")
    expect(warnings).to_have_count(1)
    screenshot(page, "home-admin-two-factor")
    assert_accessible(page, "an administrator's home page")
    assert page_errors(page) == [] and page_errors(phone_page) == []


@pytest.mark.parametrize(
    "path, heading, onward",
    [
        ("/report/status/not-a-real-token/", "Report not found", "Go to the Policy Portal home page"),
        ("/accounts/password/reset/done/", "Check your email", "Back to sign in"),
        ("/accounts/password/reset/key/done/", "Your password has been changed", "Sign in"),
        ("/report/northfield-primary/thanks/", None, "Report another concern to Northfield Primary School"),
        ("/no-such-page/", "Page not found", "Go to your home page"),
    ],
)
def test_each_dead_end_offers_a_link_onward_with_no_wcag_violation(live_server, demo_data, page, path, heading, onward):
    from tests.e2e.test_error_summary import assert_no_wcag_violations

    page.goto(f"{live_server.url}{path}")
    if heading:
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    link = page.get_by_role("main").get_by_role("link", name=onward)
    expect(link).to_be_visible()
    screenshot(page, "dead-end" + path.rstrip("/").replace("/", "-"))
    assert_no_wcag_violations(page, path)
    link.click()
    expect(page).not_to_have_url(f"{live_server.url}{path}")
    assert page_errors(page) == [], page_errors(page)
