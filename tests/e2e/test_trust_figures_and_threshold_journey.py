"""Browser journeys on the demo: the trust's safeguarding lead reads the trust's protected figures and downloads
them; the school's DSL takes the harm-threshold step on the demo's concern about a contractor, from the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, _new_page, check_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desktop(browser):
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


def test_the_trust_lead_reads_and_downloads_figures_with_no_small_count(live_server, demo_data, desktop, sign_in):
    page = sign_in(desktop, "trust.dsl@example.org")
    page.goto(f"{live_server.url}/organisations/northfield-trust/incidents/dashboard/")
    expect(page.get_by_role("heading", name="Across the trust")).to_be_visible()
    cells = page.locator("table td").all_inner_texts()
    assert cells and not [c for c in cells if re.fullmatch(r"\s*[1-4]\s*", c)]
    assert "<5" in cells
    check_page(page, "trust dashboard", "incident-trust-dashboard")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures (CSV)").click()
    assert download.value.suggested_filename.startswith("northfield-trust-incident-figures-")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert "Incidents by kind" in text and "Whole trust" in text


def test_the_dsl_takes_the_harm_threshold_step_from_the_keyboard(live_server, demo_data, desktop, sign_in):
    from incidents.models import Incident, ThresholdDecision

    incident = Incident.objects.get(description__contains="contractor followed them")
    page = sign_in(desktop, "dsl@example.org")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("the harm threshold")))
    expect(section).to_be_visible()
    # Open at first, as no decision is on record yet.
    expect(section.get_by_role("button", name="Record the decision")).to_be_visible()
    # From the keyboard: Tab to each question and choose with the arrow keys and Space; nothing is chosen for you.
    for field, answer in (("harmed_child", "0"), ("criminal_offence", "1"), ("risk_of_harm", "0"), ("unsuitable", "0")):
        radio = page.locator(f"#threshold_{field}_{answer}")
        radio.focus()
        page.keyboard.press("Space")
        expect(radio).to_be_checked()
    section.get_by_label("Reasons for the decision").fill("Followed a pupil and messaged them privately.")
    check_page(page, "harm-threshold step", "incident-threshold-form")
    section.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Harm-threshold step recorded. Meets the harm threshold")).to_be_visible()
    decision = ThresholdDecision.objects.get(incident=incident)
    assert (decision.harmed_child, decision.criminal_offence) == (True, False)
    assert decision.decided_by.email == "dsl@example.org"
    check_page(page, "harm-threshold decision", "incident-threshold-decided")
