"""The GOV.UK error pattern in a real browser (core.forms, includes/_error_summary.html,
static/js/error-summary.js): a form sent back with errors opens on a summary that is announced
(role=alert), has focus, puts "Error: " before the title and links each message to its field.
axe finds no WCAG A or AA violation on any of these pages."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, page_errors, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WCAG_A_AA = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"}


def assert_no_wcag_violations(page, label: str) -> None:
    """Every axe rule tagged WCAG A or AA, at any impact (conftest's check stops at serious)."""
    from axe_playwright_python.sync_playwright import Axe

    violations = [v for v in Axe().run(page).response["violations"] if WCAG_A_AA & set(v["tags"])]
    assert violations == [], f"{label}: " + "; ".join(
        f"{v['id']} on {[n['target'] for n in v['nodes']]}" for v in violations
    )


def assert_error_summary(page, label: str, expected: dict[str, str]) -> None:
    """``expected`` maps each message to the id of the field its link must move focus to ("" for none)."""
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="There is a problem"))
    expect(summary).to_have_count(1)
    assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')"), "focus is not on the summary"
    top = summary.bounding_box()["y"]
    assert top < page.viewport_size["height"], f"{label}: the summary starts below the first screen ({top} px)"
    items = summary.get_by_role("listitem")
    assert sorted(items.all_inner_texts()) == sorted(expected), f"{label}: {items.all_inner_texts()}"
    for message, field_id in expected.items():
        item = items.filter(has_text=message)
        expect(item).to_have_count(1)
        if not field_id:
            expect(item.get_by_role("link")).to_have_count(0)
            continue
        link = item.get_by_role("link", name=message)
        expect(link).to_have_attribute("href", f"#{field_id}")
        link.focus()
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == field_id, (
            f"{label}: {message} did not reach its field"
        )
        field = page.locator(f"#{field_id}")
        expect(field).to_be_in_viewport()
        expect(field).to_have_attribute("aria-invalid", "true")
    screenshot(page, label)
    assert_no_wcag_violations(page, label)
    assert page_errors(page) == [], f"{label}: {page_errors(page)}"


def test_an_empty_incident_report_opens_on_a_summary_at_phone_width(live_server, demo_data, open_browser, sign_in):
    page = sign_in(open_browser(PHONE), "staff@example.org")
    page.goto(f"{live_server.url}/incidents/report/")
    expect(page.locator("[data-evidence-slots] input[type=file]")).to_have_count(1)
    page.get_by_role("button", name="Send report").click()
    assert_error_summary(
        page,
        "error-summary-incident-report",
        {
            "Select what kind of concern it is": "id_category_0",
            "Enter the date and time it happened": "id_occurred_at",
            "Describe what happened: what you saw or were told, and by whom": "id_description",
        },
    )
    # Each message is beside its field too, read out with it.
    expect(page.locator("#id_description")).to_have_accessible_description(re.compile("Error: Describe what happened"))


def test_the_account_request_form_asks_for_each_missing_answer(live_server, demo_data, open_browser, sign_in):
    page = sign_in(open_browser(), "staff@example.org")
    page.goto(f"{live_server.url}/organisations/northfield-primary/requests/new/")
    visibility = page.get_by_role("group", name=re.compile("open or private"))
    expect(visibility.get_by_role("radio")).to_have_count(2)  # no "---------"
    expect(visibility.locator("input:checked")).to_have_count(0)  # and nothing chosen for the person
    expect(page.get_by_text("Hold Ctrl")).to_have_count(0)
    expect(page.locator("main form[novalidate]")).to_have_count(page.locator("main form").count())
    page.get_by_role("button", name="Save draft").click()
    assert_error_summary(
        page,
        "error-summary-account-request",
        {
            "Select the platform": "id_platform",
            "Enter the proposed name or handle": "id_proposed_name",
            "Enter the official email it will use": "id_official_email",
            "Enter the aim of the account": "id_aim",
            "Enter the intended audience": "id_audience",
            "Enter how the account will be promoted": "id_promotion",
            "Select whether it will be open or private/closed": "id_visibility_0",
        },
    )


def test_the_quiz_names_each_unanswered_question_then_says_when_answers_are_wrong(
    live_server, demo_data, open_browser, sign_in
):
    from policies.models import AcknowledgementRequest

    request = (
        AcknowledgementRequest.objects.outstanding()
        .filter(user__email="staff@example.org", version__questions__isnull=False)
        .select_related("version")
        .first()
    )
    questions = list(request.version.questions.all())
    page = sign_in(open_browser(), "staff@example.org")
    page.goto(f"{live_server.url}/policies/{request.version.policy_id}/")
    quiz = page.get_by_role("region", name="Check your understanding")
    quiz.get_by_role("button", name="Check my answers").click()
    assert_error_summary(
        page,
        "error-summary-quiz-unanswered",
        {f"Select an answer to question {n}": f"id_question-{q.pk}_0" for n, q in enumerate(questions, start=1)},
    )
    quiz = page.get_by_role("region", name="Check your understanding")
    for question in questions:
        wrong = next(i for i in range(len(question.choices)) if i != question.correct_choice)
        quiz.locator(f"#id_question-{question.pk}_{wrong}").check()
    quiz.get_by_role("button", name="Check my answers").click()
    assert_error_summary(
        page,
        "error-summary-quiz-wrong",
        {"Not all your answers are right. Read the policy again and have another go.": ""},
    )
    assert not request.version.quiz_attempts.filter(passed=True).exists()


def test_sign_in_says_what_is_missing_and_announces_a_wrong_password(live_server, demo_data, open_browser):
    page = open_browser()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in").click()
    assert_error_summary(
        page,
        "error-summary-sign-in-empty",
        {"Enter your work email address": "id_login", "Enter your password": "id_password"},
    )
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    assert_error_summary(
        page,
        "error-summary-sign-in-wrong",
        {
            "The email address or password is not correct. Check both and try again, "
            "or choose “Forgotten your password?” to set a new one.": ""
        },
    )


def test_the_case_pages_task_form_sent_back_opens_on_a_summary_at_phone_width(
    live_server, demo_data, open_browser, sign_in
):
    """The form sits far down the case page, in a fold: sent back, the page opens on the summary at
    the top, the fold is open, what was typed is there, and each link reaches its field."""
    from incidents.models import Incident

    case = Incident.objects.filter(organisation__slug="northfield-primary", category="unofficial_account").first()
    page = sign_in(open_browser(PHONE), "dsl@example.org")
    page.goto(f"{live_server.url}/incidents/{case.pk}/")
    fold = page.locator("details", has=page.locator("button", has_text="Set task"))  # hidden while shut
    if fold.get_attribute("open") is None:  # open already on a case with no tasks yet
        fold.locator("summary").click()
    page.get_by_label("What is to be done").fill("Ask the platform for an update")
    page.get_by_role("button", name="Set task").click()
    assert_error_summary(
        page,
        "error-summary-case-task",
        {"Select who does it": "task_owner", "Enter the day it is due by, for example 14/03/2026": "task_due_on"},
    )
    expect(page.get_by_label("What is to be done")).to_have_value("Ask the platform for an update")


def test_a_decision_without_its_reason_opens_on_a_summary(live_server, demo_data, open_browser, sign_in):
    from approvals.models import AccountRequest

    request = AccountRequest.objects.get(organisation__slug="northfield-primary", status="submitted")
    page = sign_in(open_browser(), "slt@example.org")
    page.goto(f"{live_server.url}/approvals/requests/{request.pk}/")
    page.get_by_label("Reject").check()
    page.get_by_role("button", name="Record decision").click()
    assert_error_summary(
        page, "error-summary-decision", {"Give the reason, so the requester knows what to do.": "id_reason"}
    )
    expect(page.get_by_label("Reject")).to_be_checked()
