"""A deputy head searches the staff's training (seed 001 §4) and the administrator sets who approves
each kind of request (002 §4.2, 004 "Blogging"), in a real browser; axe-core checks each page."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_slt_search_the_staffs_training_and_the_administrator_sets_the_approval_rules(
    live_server, demo_data, page, sign_in
):
    from accounts.models import Organisation
    from approvals.approval_rules import rules_for

    # The demo's rules are the seeds': the head approves curriculum blogs and groups, and websites.
    school = Organisation.objects.get(slug="northfield-primary")
    assert rules_for(school)["curriculum_group"].lead_must_approve and rules_for(school)["website"].lead_must_approve

    sign_in(page, "slt@example.org")
    page.goto(f"{live_server.url}/approvals/training/")
    staff = page.get_by_role("region", name="Your staff's training")
    staff.get_by_label("Search by name, email or course").fill("Dunn")
    staff.get_by_role("button", name="Search").click()
    expect(staff.get_by_role("row")).to_have_count(2)  # the header and Kate Dunn's record
    expect(staff.get_by_role("row").nth(1)).to_contain_text("Kate Dunn")
    check_page(page, "the training records searched", "training-slt-search")

    page.context.clear_cookies()
    sign_in(page, "l.harris@example.org")  # the school's administrator (and SLT)
    page.goto(f"{live_server.url}/organisations/northfield-primary/settings/")
    page.get_by_role("link", name="Who approves each kind of social-media request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who approves each kind of request")
    page.get_by_label("A website or blog that mentions the provision: approvals needed").fill("2")
    check_page(page, "the approval rules", "approval-rules")
    page.get_by_role("button", name="Save approval rules").click()
    expect(page.get_by_role("status")).to_contain_text("Approval rules saved.")
    assert rules_for(school)["website"].slt_approvals == 2
