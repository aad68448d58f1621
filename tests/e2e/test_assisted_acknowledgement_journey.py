"""A line manager records an assisted acknowledgement in a real browser (issue 14; seed 000 §2,
002 §3: staff without a work email or device are in scope). Morgan, a phase leader, opens his
team's figures, finds Sue, a lunchtime supervisor with no email address, among those not yet due,
records that she signed the policy on paper with a photo of the sheet, and the dashboard counts
her acknowledgement as assisted. axe-core checks every page."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_page, drawn_post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_line_manager_records_an_assisted_acknowledgement_and_the_dashboard_counts_it(
    live_server, demo_data, open_browser, sign_in, tmp_path
):
    from policies.models import Acknowledgement

    manager = open_browser()
    sign_in(manager, "manager@example.org")
    manager.goto(f"{live_server.url}/organisations/northfield-primary/compliance/")
    # The demo's cleaner signed on paper already: one assisted acknowledgement in the team's figures.
    expect(manager.get_by_role("link", name="acknowledged, 1 of them assisted")).to_be_visible()
    check_page(manager, "the line manager's dashboard", "assisted-dashboard-before")

    manager.get_by_role("link", name=re.compile("not yet due")).first.click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Not yet due")
    row = manager.get_by_role("row").filter(has_text="Sue Barker")
    expect(row).to_contain_text("no email")
    check_page(manager, "the team's not-yet-due list", "assisted-people")
    row.get_by_role("link", name="Record a signed acknowledgement for Sue Barker").click()

    expect(manager.get_by_role("heading", level=1)).to_have_text("Record an acknowledgement for Sue Barker")
    policy = manager.get_by_role("checkbox", name=re.compile("Social Media Policy"))
    expect(policy).to_be_checked()  # the row's policy, chosen from the list
    check_page(manager, "the recording form", "assisted-form")
    # Sent without saying how or confirming: the error summary, focused, and nothing kept.
    manager.get_by_role("button", name="Record acknowledgement").click()
    summary = manager.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choose how they acknowledged")
    expect(summary).to_contain_text("Confirm that they read and signed")
    check_page(manager, "the recording form with errors", "assisted-form-errors")
    assert not Acknowledgement.objects.filter(user__first_name="Sue").exists()

    manager.get_by_role("radio", name="On paper").check()
    manager.get_by_label("Scan or photo of the signed sheet (optional)").set_input_files(
        str(drawn_post(tmp_path / "sheet.png", "Signed sheet", "Social Media Policy: read and understood. S. Barker"))
    )
    manager.get_by_role("checkbox", name=re.compile("They have read these policies")).check()
    manager.get_by_role("button", name="Record acknowledgement").click()
    expect(manager.get_by_role("status").first).to_contain_text("Recorded: Sue Barker acknowledged Social Media Policy")
    expect(manager.get_by_text("Sue has nothing left to acknowledge.")).to_be_visible()
    table = manager.get_by_role("table")
    expect(table).to_contain_text("Assisted")
    expect(table).to_contain_text("On paper, recorded by Morgan Reid")
    expect(table.get_by_role("link", name="signed sheet for Social Media Policy")).to_be_visible()
    check_page(manager, "the person's acknowledgements", "assisted-recorded")

    ack = Acknowledgement.objects.get(user__first_name="Sue", user__last_name="Barker")
    assert ack.method == "paper" and ack.recorded_by.email == "manager@example.org" and ack.signed_sheet

    manager.goto(f"{live_server.url}/organisations/northfield-primary/compliance/")
    expect(manager.get_by_role("link", name="acknowledged, 2 of them assisted")).to_be_visible()
    check_page(manager, "the line manager's dashboard after recording", "assisted-dashboard-after")
    manager.get_by_role("link", name="2 assisted").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Acknowledged with assistance")
    expect(manager.get_by_role("row").filter(has_text="Assisted")).to_have_count(2)
