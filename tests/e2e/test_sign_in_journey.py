"""Signing in and finding one's way, in a real browser, with axe-core checks on each page."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_accessible,
    assert_no_horizontal_scroll,
    page_errors,
    screenshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_member_signs_in_and_sees_their_school(live_server, demo_data, page, sign_in):
    page.goto(f"{live_server.url}/")
    # Signed out, the home page sends people to the sign-in form.
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Policy Portal")
    expect(page).to_have_title(re.compile("Sign in"))
    screenshot(page, "sign-in")
    assert_accessible(page, "the sign-in page")

    sign_in(page, "staff@example.org")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Sam")
    school = page.get_by_role("region", name="Northfield Primary School")
    expect(school).to_be_visible()
    expect(school.get_by_role("listitem")).to_have_text(["Staff member"])
    # A member of staff manages nothing, so the menu offers no Staff or Settings.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Staff", exact=True)).to_have_count(0)
    expect(nav.get_by_role("button", name="Settings", exact=True)).to_have_count(0)
    # Two-factor sign-in never applies to a member of staff, so they are not warned it is off.
    expect(page.get_by_text("Two-factor sign-in is not required")).to_have_count(0)
    screenshot(page, "home-desktop")
    assert_accessible(page, "the home page")
    assert page_errors(page) == []


def test_home_page_fits_a_phone(live_server, demo_data, phone_page, sign_in):
    phone_page.goto(f"{live_server.url}/accounts/login/")
    assert_no_horizontal_scroll(phone_page, "the sign-in page at 390px")
    screenshot(phone_page, "sign-in-phone")

    page = sign_in(phone_page, "staff@example.org")
    expect(page.get_by_role("region", name="Northfield Primary School")).to_be_visible()
    assert_no_horizontal_scroll(page, "the home page at 390px")
    screenshot(page, "home-phone")

    # The menu folds behind a toggle that opens and still fits the screen.
    toggle = page.get_by_role("button", name="Menu", exact=True)
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav").get_by_role("link", name="Home")).to_be_visible()
    page.locator("#main-nav.show:not(.collapsing)").wait_for()
    assert_no_horizontal_scroll(page, "the home page at 390px with the menu open")
    screenshot(page, "home-phone-menu")
    assert_accessible(page, "the home page on a phone, menu open")
    assert page_errors(page) == []


def test_admin_opens_the_staff_list_from_the_menu(live_server, demo_data, page, sign_in):
    sign_in(page, "admin@example.org")
    # An administrator is told two-factor sign-in is off (demo data), once, with the way to turn it on.
    warning = page.get_by_role("note").filter(has_text="Two-factor sign-in is not required")
    expect(warning).to_have_count(1)
    expect(warning.get_by_role("link", name="Turn it on in Northfield Primary School's settings")).to_have_attribute(
        "href", "/organisations/northfield-primary/settings/"
    )

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Staff", exact=True).click()
    nav.get_by_role("link", name="Northfield Primary School").click()

    expect(page).to_have_url(f"{live_server.url}/organisations/northfield-primary/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    table = page.get_by_role("table", name="Staff of Northfield Primary School")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader")).to_contain_text(["Name", "Job and department", "Staff type", "Roles"])
    expect(table.get_by_role("row").filter(has_text="staff@example.org")).to_contain_text("Sam Taylor")
    expect(table.get_by_role("row").filter(has_text="staff@example.org")).to_contain_text("Class Teacher")
    expect(page.get_by_role("link", name="Invite a person")).to_be_visible()
    screenshot(page, "staff-list")
    assert_accessible(page, "the staff list")
    assert page_errors(page) == []


@pytest.mark.parametrize(
    ("path", "heading", "shot"),
    [
        ("/organisations/northfield-primary/staff/import/", "Import staff", "staff-import"),
        ("/organisations/northfield-trust/settings/", "Settings", "trust-settings"),
        ("/organisations/", "Your organisations", "organisations"),
    ],
)
def test_admin_pages_are_accessible(live_server, demo_data, page, sign_in, path, heading, shot):
    sign_in(page, "admin@example.org")
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    screenshot(page, shot)
    assert_accessible(page, path)
    assert page_errors(page) == []


def test_staff_list_fits_a_phone(live_server, demo_data, phone_page, sign_in):
    page = sign_in(phone_page, "admin@example.org")
    page.goto(f"{live_server.url}/organisations/northfield-primary/staff/")
    expect(page.get_by_role("table", name="Staff of Northfield Primary School")).to_be_visible()
    assert_no_horizontal_scroll(page, "the staff list at 390px")
    screenshot(page, "staff-list-phone")
    assert_accessible(page, "the staff list on a phone")
