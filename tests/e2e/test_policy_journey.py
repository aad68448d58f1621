"""A policy's life in a real browser: the owner publishes a new version, a teacher reads and
acknowledges it, and the school's leadership sees the figure move. axe-core checks every page."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    PHONE,
    assert_no_horizontal_scroll,
    check_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POLICY = "Social Media Policy"
NEW_PARAGRAPH = (
    "Staff who use generative AI tools to draft posts for an official account check every post "
    "before it is published and never enter learners' personal information into those tools."
)
SUMMARY = "A new paragraph on using AI tools to draft posts for official accounts."
RIGHT_ANSWERS = {
    "A learner sends you a friend request on your personal account. What do you do?": (
        "Decline it, and tell the DSL if you are worried"
    ),
    "How quickly must a comment on an official account be answered?": "Within 24 hours",
}


def _version_rows(page, status: str):
    table = page.get_by_role("table", name=f"Versions of {POLICY}")
    return table.get_by_role("row").filter(has=page.get_by_role("cell", name=status, exact=True))


def _policy_row(page):
    table = page.get_by_role("table", name="Acknowledgements by policy version")
    expect(table).to_be_visible()
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(POLICY)))


def _open_dashboard(page, live_server, shot: str) -> int:
    """The leader opens the primary's compliance dashboard from the menu; returns the policy's acknowledged count."""
    page.goto(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Compliance", exact=True).click()
    nav.get_by_role("link", name="Northfield Primary School").click()
    expect(page).to_have_url(f"{live_server.url}/organisations/northfield-primary/compliance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Policy acknowledgements")
    expect(page.get_by_text("Showing all staff")).to_be_visible()
    row = _policy_row(page)
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_contain_text("v3")
    # The chart repeats the row's numbers in words for people who cannot see the colours.
    expect(row.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"^\d+ acknowledged, \d+ outstanding, \d+ overdue$")
    )
    check_page(page, "the compliance dashboard", shot)
    return int(row.get_by_role("cell").first.inner_text().strip())


def test_new_version_is_published_acknowledged_and_counted(live_server, demo_data, open_browser, sign_in):
    from accounts.models import User, today
    from policies.models import Acknowledgement, Policy

    policy = Policy.objects.get(organisation__slug="northfield-trust", title=POLICY)
    staff = User.objects.get(email="staff@example.org")
    # The demo data: Sam acknowledged version 1 and has not acknowledged version 2.
    assert list(
        Acknowledgement.objects.filter(user=staff, version__policy=policy).values_list("version__label", flat=True)
    ) == ["1"]

    # (1) The trust's policy owner writes and publishes version 3.
    owner = open_browser()
    sign_in(owner, "owner@example.org")
    check_page(owner, "the policy owner's home page", "policy-home-owner")
    nav = owner.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Manage policies", exact=True).click()
    nav.get_by_role("link", name="Northfield Learning Trust").click()
    expect(owner).to_have_url(f"{live_server.url}/organisations/northfield-trust/policies/")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Policies")
    check_page(owner, "the list of policies to manage", "policy-manage-list")

    owner.get_by_role("link", name=f"Manage {POLICY}").click()
    expect(owner).to_have_url(f"{live_server.url}/policies/{policy.pk}/manage/")
    expect(owner.get_by_role("heading", level=1)).to_have_text(POLICY)
    expect(_version_rows(owner, "Published").get_by_role("cell").first).to_have_text("2")
    check_page(owner, "the policy's management page", "policy-manage")

    owner.get_by_role("link", name="New version").click()
    expect(owner).to_have_url(f"{live_server.url}/policies/{policy.pk}/versions/new/")
    expect(owner.get_by_role("heading", level=1)).to_have_text("New version")
    check_page(owner, "the new version form", "policy-version-form")
    owner.get_by_role("textbox", name=re.compile(r"^Version")).fill("3")
    text = owner.get_by_label("Policy text")
    # The text starts from the current version's Markdown.
    expect(text).to_have_value(re.compile(r"## 7\. Reporting concerns"))
    text.fill(text.input_value().rstrip() + "\n\n" + NEW_PARAGRAPH + "\n")
    owner.get_by_label("Summary of changes").fill(SUMMARY)
    expect(owner.get_by_label("Staff must acknowledge this version")).to_be_checked()
    owner.get_by_role("button", name="Save draft").click()

    expect(owner).to_have_url(f"{live_server.url}/policies/{policy.pk}/manage/")
    expect(owner.get_by_role("status")).to_contain_text("Draft version 3 saved.")
    expect(_version_rows(owner, "Draft").get_by_role("cell").first).to_have_text("3")
    check_page(owner, "the management page with a draft", "policy-manage-draft")
    owner.get_by_role("link", name="Publish version 3").click()

    expect(owner).to_have_url(re.compile(r"/policies/versions/\d+/publish/$"))
    expect(owner.get_by_role("heading", level=1)).to_have_text("Publish version 3")
    # The date is filled in with the trust's usual period; the owner keeps it.
    default_due = today() + dt.timedelta(days=policy.organisation.acknowledgement_period_days)
    # An <input type="date"> shows only an ISO value: a date rendered in the en-GB format leaves it blank.
    expect(
        owner.get_by_label("Staff must acknowledge it by"),
        "the default due date is missing: the DateInput needs format='%Y-%m-%d' (policies/forms.py)",
    ).to_have_value(default_due.isoformat())
    check_page(owner, "the publish page", "policy-publish")
    owner.get_by_role("button", name="Publish").click()

    expect(owner).to_have_url(f"{live_server.url}/policies/{policy.pk}/manage/")
    expect(owner.get_by_role("status")).to_contain_text(
        re.compile(r"Version 3 is published\. \d+ people have been asked to acknowledge it\.")
    )
    expect(_version_rows(owner, "Published").get_by_role("cell").first).to_have_text("3")
    expect(_version_rows(owner, "Superseded")).to_have_count(2)
    check_page(owner, "the management page after publishing", "policy-manage-published")

    # (3, before) A deputy head looks at the primary's figures.
    slt = open_browser()
    sign_in(slt, "slt@example.org")
    check_page(slt, "a school leader's home page", "policy-home-slt")
    before = _open_dashboard(slt, live_server, "policy-dashboard-before")

    # (2) The teacher reads what changed, answers the questions and acknowledges version 3.
    teacher = open_browser()
    sign_in(teacher, "staff@example.org")
    teacher.get_by_role("navigation", name="Main").get_by_role("link", name="My policies").click()
    expect(teacher).to_have_url(f"{live_server.url}/policies/")
    to_do = teacher.get_by_role("table", name="Policies you must read and acknowledge")
    row = to_do.get_by_role("row").filter(has_text=POLICY)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text("3")
    check_page(teacher, "My policies", "policy-my-policies")
    row.get_by_role("link", name=f"Read and acknowledge {POLICY}").click()

    expect(teacher).to_have_url(f"{live_server.url}/policies/{policy.pk}/")
    expect(teacher.get_by_role("heading", level=1).first).to_have_text(POLICY)
    changes = teacher.get_by_role(
        "region", name=re.compile(r"^What changed since the version you acknowledged \(version 1,")
    )
    expect(changes).to_be_visible()
    expect(changes).to_contain_text(SUMMARY)
    expect(changes.locator("ins").filter(has_text=NEW_PARAGRAPH)).to_be_visible()
    expect(teacher.get_by_role("article", name="Policy text")).to_contain_text(NEW_PARAGRAPH)
    # The box to acknowledge waits for the right answers.
    expect(teacher.get_by_role("checkbox", name=re.compile("I have read and understood"))).to_have_count(0)
    quiz = teacher.get_by_role("region", name="Check your understanding")
    check_page(teacher, "the reading page", "policy-read")
    for question, answer in RIGHT_ANSWERS.items():
        quiz.get_by_role("group", name=re.compile(re.escape(question))).get_by_role("radio", name=answer).check()
    quiz.get_by_role("button", name="Check my answers").click()

    expect(teacher.get_by_role("status")).to_contain_text("All your answers are right.")
    expect(teacher.get_by_role("region", name="Check your understanding")).to_have_count(0)
    check_page(teacher, "the reading page, questions answered", "policy-read-answered")
    teacher.get_by_role("checkbox", name=re.compile("I have read and understood")).check()
    teacher.get_by_role("button", name="Acknowledge", exact=True).click()

    expect(teacher).to_have_url(f"{live_server.url}/policies/")
    expect(teacher.get_by_role("status")).to_contain_text(f"You acknowledged {POLICY} (version 3)")
    done = teacher.get_by_role("region", name="Acknowledged")
    done_row = (
        done.get_by_role("row").filter(has_text=POLICY).filter(has=teacher.get_by_role("cell", name="3", exact=True))
    )
    expect(done_row).to_have_count(1)
    expect(
        teacher.get_by_role("table", name="Policies you must read and acknowledge")
        .get_by_role("row")
        .filter(has_text=POLICY)
    ).to_have_count(0)
    check_page(teacher, "My policies after acknowledging", "policy-my-policies-done")
    assert Acknowledgement.objects.filter(user=staff, version__policy=policy, version__label="3").count() == 1

    # (3, after) The same leader reloads the figures: one more acknowledgement of version 3.
    after = _open_dashboard(slt, live_server, "policy-dashboard-after")
    assert after == before + 1, f"acknowledged went from {before} to {after}"


@pytest.mark.parametrize(
    ("email", "path", "shot"),
    [
        ("staff@example.org", "/policies/", "policy-my-policies-phone"),
        ("staff@example.org", "/policies/{pk}/", "policy-read-phone"),
        ("owner@example.org", "/organisations/northfield-trust/policies/", "policy-manage-list-phone"),
        ("owner@example.org", "/policies/{pk}/manage/", "policy-manage-phone"),
        # The head sees the policy records and her calendar link, and writes none (issue 14).
        ("head@example.org", "/organisations/northfield-primary/policies/", "policy-list-head-phone"),
        ("slt@example.org", "/organisations/northfield-primary/compliance/", "policy-dashboard-phone"),
        (
            "slt@example.org",
            "/organisations/northfield-primary/compliance/people/?status=outstanding",
            "policy-people-phone",
        ),
    ],
)
def test_policy_pages_fit_a_phone(live_server, demo_data, open_browser, sign_in, email, path, shot):
    from policies.models import Policy

    pk = Policy.objects.get(organisation__slug="northfield-trust", title=POLICY).pk
    page = open_browser(PHONE)
    sign_in(page, email)
    page.goto(live_server.url + path.format(pk=pk))
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    assert_no_horizontal_scroll(page, f"{path} at 390px")
    check_page(page, f"{path} on a phone", shot)
