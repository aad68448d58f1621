"""Keyboard-only journeys: acknowledge a policy, report an incident, triage it, pressing only Tab,
Space and Enter (the arrow keys inside a radio group, as browsers require, and typing into text
fields). Each counts its Tab presses, starting with the skip link; the incident report reaches
"Send report" in at most 20."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, page_errors, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_TABS = 120  # a journey that never reaches its button fails here rather than looping


def _focused(page) -> dict:
    return page.evaluate(
        "() => { const e = document.activeElement; return {tag: e.tagName.toLowerCase(), id: e.id,"
        " name: e.getAttribute('name') || '', type: e.getAttribute('type') || '', text: (e.innerText || e.value || '').trim()} }"
    )


def tab_through(page, until, act) -> int:
    """From the top of the page: Tab to the skip link and Enter (past the navigation, as a keyboard
    user would), or from the fragment the page opened at, then Tab until ``until(focused)``; at each stop ``act(focused, visit)`` types or
    presses Space and returns True once that field is done. Returns the number of Tab presses."""
    start = 1
    target = page.evaluate("() => location.hash && document.getElementById(location.hash.slice(1))")
    if not target:  # a page opened at a fragment (#ack-title) starts there, as the browser puts the reader
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        page.keyboard.press("Tab")
        assert _focused(page)["text"] == "Skip to main content"
        page.keyboard.press("Enter")
        start = 2
    done, visits = set(), {}
    for tabs in range(start, MAX_TABS + 1):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if until(focused):
            return tabs
        key = focused["name"] or focused["id"]
        visits[key] = visits.get(key, 0) + 1
        if key not in done and act(focused, visits[key]):
            done.add(key)
    pytest.fail(f"{MAX_TABS} Tab presses without reaching the button; last stop {focused}")


# Day and month the same, so the date reads right in any order the browser draws it (headless
# Chromium draws month first whatever the page's language).
HAPPENED = dt.datetime(2026, 11, 11, 19, 30)


def _date_then_time(page, visit: int) -> bool:
    """A datetime-local field takes the date and, after a Tab, the time: the year takes up to six
    digits, so it does not move on by itself."""
    if visit == 1:
        page.keyboard.type(HAPPENED.strftime("%d%m%Y"))
        return False
    page.keyboard.type(HAPPENED.strftime("%H%M"))
    value = page.evaluate("() => document.activeElement.value")
    assert value == HAPPENED.strftime("%Y-%m-%dT%H:%M"), f"typed {value}"
    return True


def test_a_policy_is_acknowledged_from_the_keyboard(live_server, demo_data, open_browser, sign_in):
    from policies.models import AcknowledgementRequest

    page = sign_in(open_browser(), "staff@example.org")
    request = (
        AcknowledgementRequest.objects.outstanding()
        .filter(user__email="staff@example.org")
        .select_related("version")
        .first()
    )
    version = request.version
    right = {f"question-{q.pk}": q.correct_choice for q in version.questions.all()}
    page.goto(f"{live_server.url}/policies/{version.policy_id}/")

    def answer(f, visit):
        if f["tag"] == "a" and f["text"].startswith("Go to the question"):
            page.keyboard.press("Enter")  # the jump link at the top of the page, past the policy's text
            return True
        # A radio group is one Tab stop; its answers are chosen with the arrow keys, as every browser does.
        if f["name"] in right:
            for _ in range(right[f["name"]]):
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
            return True
        return False

    tabs = 0
    if right:
        tabs = tab_through(page, lambda f: f["tag"] == "button" and f["text"] == "Check my answers", answer)
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("All your answers are right.")

    def tick(f, visit):
        if f["name"] == "confirm":
            page.keyboard.press("Space")
            return True
        return False

    tabs += tab_through(page, lambda f: f["tag"] == "button" and f["text"] == "Acknowledge", tick)
    print(f"keyboard: acknowledge a policy ({len(right)} questions) took {tabs} Tab presses")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("You acknowledged")
    request.refresh_from_db()
    assert request.acknowledgement_id is not None
    assert page_errors(page) == []


def test_an_incident_is_reported_and_triaged_from_the_keyboard(live_server, demo_data, open_browser, sign_in):
    from incidents.models import Incident

    page = sign_in(open_browser(), "staff@example.org")
    page.goto(f"{live_server.url}/incidents/report/")

    def act(f, visit):
        if f["name"] == "category":
            page.keyboard.press("Space")  # the first answer in the group
        elif f["name"] == "occurred_at":
            return _date_then_time(page, visit)
        elif f["name"] == "description":
            page.keyboard.type("Someone posted a photo of the school gate with a rude caption.")
        else:
            return False
        return True

    tabs = tab_through(page, lambda f: f["tag"] == "button" and f["text"] == "Send report", act)
    print(f"keyboard: report an incident took {tabs} Tab presses to reach Send report")
    screenshot(page, "keyboard-incident-report")
    assert tabs <= 20, f"{tabs} Tab presses to reach Send report"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    screenshot(page, "keyboard-incident-sent")
    expect(page.get_by_role("heading", name="Your report has been sent")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    incident = Incident.objects.get(reference=reference)

    dsl = sign_in(open_browser(), "dsl@example.org")
    dsl.goto(f"{live_server.url}/incidents/{incident.pk}/")

    def triage(f, visit):
        if f["name"] == "severity":
            dsl.keyboard.press("ArrowDown")  # the second answer: Medium
            dsl.keyboard.press("Space")
        elif f["name"] == "is_safeguarding":
            dsl.keyboard.press("Space")
        elif f["name"] == "assignee":
            dsl.keyboard.type("Chris")  # a select answers to what is typed: Chris Patel
        elif f["name"] == "first_assessment":
            dsl.keyboard.type("A rude post; ask for removal.")
        else:
            return False
        return True

    tabs = tab_through(dsl, lambda f: f["type"] == "submit" and f["text"] == "Save triage", triage)
    print(f"keyboard: triage took {tabs} Tab presses to reach Save triage")
    dsl.keyboard.press("Enter")
    expect(dsl.get_by_text(f"{reference} is triaged.")).to_be_visible()
    assert_accessible(dsl, "the case after a keyboard triage")
    assert page_errors(page) == [] and page_errors(dsl) == []


def test_evidence_slots_are_added_one_at_a_time_up_to_the_limit(live_server, demo_data, open_browser):
    from incidents import evidence

    page = open_browser()
    page.goto(f"{live_server.url}/report/northfield-primary/")
    slots = page.locator("[data-evidence-slots] input[type=file]")
    expect(slots).to_have_count(1)
    add = page.get_by_role("button", name="Add another file")
    for count in range(2, evidence.PUBLIC_MAX_FILES + 1):
        add.focus()
        page.keyboard.press("Enter")
        expect(slots).to_have_count(count)
        assert page.evaluate("() => document.activeElement.id") == f"id_evidence-{count - 1}-file"
        expect(page.get_by_role("group", name=f"File {count}")).to_be_visible()
    expect(page.locator('input[name="evidence-TOTAL_FORMS"]')).to_have_value(str(evidence.PUBLIC_MAX_FILES))
    expect(add).to_be_hidden()
    assert_accessible(page, "the public report with every evidence slot")
    screenshot(page, "evidence-slots-public")
