"""An official account's journey in a real browser: a teacher asks, a leader is refused while a runner
is untrained, the training is recorded, the leader approves, the administrator sets the account up and
a comment is logged and answered. axe-core checks every page."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Northfield Eco Club"


def _accounts_menu(page, item: str) -> None:
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Accounts", exact=True).click()
    nav.get_by_role("link", name=item).click()


def test_request_refused_until_trained_then_approved_set_up_and_a_comment_answered(
    live_server, demo_data, open_browser, sign_in
):
    from approvals.models import OfficialAccount

    # (1) A teacher asks for an account run by a colleague who has read the policy but has no training.
    teacher = open_browser()
    sign_in(teacher, "staff@example.org")
    _accounts_menu(teacher, "Account requests")
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Social-media account requests")
    check_page(teacher, "the account requests page", "approval-requests")
    teacher.get_by_role("link", name="New request").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Ask for a social-media account")
    teacher.get_by_label("What do you want to set up?").select_option(label="An official social-media account")
    teacher.get_by_label("Platform").select_option(label="Instagram")
    teacher.get_by_label("Proposed name or handle").fill(NAME)
    teacher.get_by_label("Official email it will use").fill("eco.club@example.org")
    teacher.get_by_label("The aim of the account").fill("Share the eco club's recycling and garden projects.")
    teacher.get_by_label("The intended audience").fill("Families of pupils in the club.")
    teacher.get_by_label("How the account will be promoted").fill("The weekly newsletter.")
    teacher.get_by_label("Private or closed: members only").check()
    teacher.get_by_label("Who will lead the account").select_option(label="Lucy Evans")
    check_page(teacher, "the request form", "approval-request-form")
    teacher.get_by_role("button", name="Save draft").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text(f"Instagram: {NAME}")
    expect(teacher.get_by_text("Lucy Evans has no in-date social-media training record.")).to_be_visible()
    check_page(teacher, "the draft request", "approval-request-draft")
    teacher.get_by_role("button", name="Submit for a decision").click()
    expect(teacher.get_by_role("status")).to_contain_text("Submitted.")

    # (2) A deputy head tries to approve and is refused, with the reason.
    leader = open_browser()
    sign_in(leader, "slt@example.org")
    waiting = leader.get_by_role("link", name=f"Instagram: {NAME}")
    expect(waiting).to_be_visible()
    check_page(leader, "a leader's home page with a request to decide", "approval-home-slt")
    waiting.click()
    check_page(leader, "the request to decide", "approval-request-decide")
    leader.get_by_label("Approve").check()
    leader.get_by_role("button", name="Record decision").click()
    expect(leader.get_by_role("alert").or_(leader.locator(".alert-danger"))).to_contain_text(
        "Approval refused. Lucy Evans has no in-date social-media training record."
    )
    check_page(leader, "the refusal", "approval-refused")

    # (3) The trust's administrator records Lucy's training.
    admin = open_browser()
    sign_in(admin, "admin@example.org")
    _accounts_menu(admin, "Training records")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Social-media training records")
    admin.get_by_label("Record for a member of staff: search by name or email").fill("Evans")
    admin.get_by_role("button", name="Find").click()
    admin.get_by_role("link", name="Record training for Lucy Evans").click()
    expect(admin.get_by_role("heading", name="Record training for Lucy Evans")).to_be_visible()
    record = admin.get_by_role("region", name="Record training for Lucy Evans")
    record.get_by_label("Course").fill("Social media for school staff")
    today = dt.date.today()
    record.get_by_label("Completed on").fill(today.isoformat())
    record.get_by_label("Expires on").fill((today + dt.timedelta(days=730)).isoformat())
    check_page(admin, "the training form", "approval-training")
    admin.get_by_role("button", name="Record training").click()
    expect(admin.get_by_role("status")).to_contain_text("Training recorded for Lucy Evans.")

    # (4) The leader approves.
    leader.reload()
    expect(leader.get_by_text("Everyone named has acknowledged the current Social Media Policy")).to_be_visible()
    leader.get_by_label("Approve").check()
    leader.get_by_label("Reason").fill("A clear plan with a trained lead.")
    leader.get_by_role("button", name="Record decision").click()
    expect(leader.get_by_role("status")).to_contain_text("The request is now approved.")
    check_page(leader, "the approved request", "approval-approved")
    account = OfficialAccount.objects.get(name=NAME)
    assert account.status == "pending_creation"

    # (5) The administrator completes the set-up checklist in the register.
    _accounts_menu(admin, "Register: Northfield Primary School")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Register of official accounts")
    check_page(admin, "the register", "approval-register")
    admin.get_by_role("link", name=NAME, exact=True).click()
    expect(admin.get_by_text("Set-up not finished.")).to_be_visible()
    check_page(admin, "a new account", "approval-account-pending")
    admin.get_by_label("Address (URL)").fill("https://social.example/northfield-eco")
    for label in (
        "Linked to the official email address",
        "The policy is linked from the About page",
        "Shows “Official / Provision Approved Site” branding",
        "Two-factor sign-in is on",
        "Sign-in details shared with SLT",
    ):
        admin.get_by_label(label).check()
    admin.get_by_label("Where the sign-in details are kept").fill("The SLT safe")
    admin.get_by_label("Sign-in details last changed").fill(today.isoformat())
    admin.get_by_role("button", name="Save checklist").click()
    expect(admin.get_by_role("status")).to_contain_text("the account is now active")
    check_page(admin, "the active account", "approval-account-active")

    # (6) A comment is logged and answered in the response log.
    admin.get_by_role("link", name="Response log").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Response log")
    admin.get_by_label("Kind").select_option(label="Query")
    admin.get_by_label("Summary").fill("Can families visit the garden on Saturday?")
    admin.get_by_role("button", name="Log it").click()
    expect(admin.get_by_role("status")).to_contain_text(re.compile(r"Logged\. Reply by"))
    item = admin.get_by_role("article").filter(has_text="Can families visit the garden on Saturday?")
    expect(item).to_contain_text("left")
    check_page(admin, "the response log with an open item", "approval-log-open")
    item.get_by_label("How was it answered?").fill("Yes, 10am to noon, with a grown-up.")
    item.get_by_role("button", name="Mark answered").click()
    expect(admin.get_by_role("status")).to_contain_text("Answered on time.")
    expect(admin.get_by_role("region", name="Recently answered")).to_contain_text("Can families visit the garden")
    check_page(admin, "the response log after answering", "approval-log-answered")
    assert account.items.get().answered_on_time
