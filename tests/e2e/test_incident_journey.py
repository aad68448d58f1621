"""An incident's life in a real browser: staff@ reports online abuse with a screenshot, dsl@ is
alerted, triages, records actions and closes it; staff@ sees the status but not the notes; another
member of staff gets 404 for the case and its evidence. The public page is tried too. axe-core
checks every page."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    assert_no_horizontal_scroll,
    check_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESCRIPTION = "A parent posted in the village Facebook group that I lied about their child's detention."
NOTE = "Phoned the parent, who agreed to take the post down today."


@pytest.fixture
def screenshot_file(tmp_path):
    image = Image.new("RGB", (640, 300), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 48), fill=(59, 89, 152))
    draw.text((16, 16), "Village group (demo)", fill=(255, 255, 255))
    draw.text((16, 80), "demo_parent: (an invented abusive post about a teacher)", fill=(0, 0, 0))
    path = tmp_path / "facebook-post.png"
    image.save(path, "PNG")
    return path


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_staff_report_dsl_handle_and_the_reporter_sees_only_the_status(
    live_server, demo_data, celery_eager, open_browser, sign_in, screenshot_file
):
    from incidents.models import Incident

    yesterday = timezone.now() - dt.timedelta(days=1)
    mail.outbox.clear()

    # staff@ reports online abuse with a screenshot.
    staff = sign_in(open_browser(), "staff@example.org")
    nav = staff.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Incidents").click()
    nav.get_by_role("link", name="Report an incident").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Report an online-safety incident")
    staff.get_by_label("Online abuse of a member of staff").check()
    staff.get_by_label("Where online").select_option(label="Facebook")
    staff.get_by_label("When did it happen?").fill(_local(yesterday))
    staff.get_by_label("Web address or account name").fill("https://facebook.example/groups/village")
    staff.get_by_label("What happened?").fill(DESCRIPTION)
    staff.get_by_text("Who is involved (optional)").click()
    affected = staff.get_by_role("group", name="Staff affected (for example, abused online)")
    affected.get_by_label("Sam Taylor").check()
    staff.locator("#id_evidence-0-file").set_input_files(str(screenshot_file))
    staff.locator("#id_evidence-0-shown_at").fill(_local(yesterday + dt.timedelta(minutes=5)))
    check_page(staff, "report form", "incident-report-form")
    staff.get_by_role("button", name="Send report").click()
    expect(staff.get_by_role("heading", name="Your report has been sent")).to_be_visible()
    reference = staff.locator("#reference").inner_text()
    assert re.fullmatch(r"INC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", reference)
    expect(staff.get_by_role("heading", name="What happens next")).to_be_visible()
    check_page(staff, "report sent", "incident-submitted")
    incident = Incident.objects.get(reference=reference, organisation__slug="northfield-primary")
    evidence = incident.evidence.get()

    # dsl@ is alerted at once; Sam Taylor, named as affected, is not.
    to_dsl = [m for m in mail.outbox if "dsl@example.org" in m.to and reference in m.subject]
    assert len(to_dsl) == 1 and DESCRIPTION not in to_dsl[0].body
    assert not [m for m in mail.outbox if "staff@example.org" in m.to and reference in m.subject]

    # dsl@ finds it on the home page, oldest first with time left, and triages it.
    dsl = sign_in(open_browser(), "dsl@example.org")
    waiting = dsl.locator(".card", has=dsl.get_by_role("heading", name="Incidents awaiting triage"))
    expect(waiting.get_by_role("link", name=reference)).to_be_visible()
    check_page(dsl, "DSL home", "incident-home-dsl")
    waiting.get_by_role("link", name=reference).click()
    expect(dsl.get_by_text("Awaiting triage:")).to_be_visible()
    expect(dsl.get_by_text(DESCRIPTION)).to_be_visible()
    check_page(dsl, "case before triage", "incident-case-new")
    triage = dsl.locator("form[action$='/triage/']")
    triage.get_by_label("Medium").check()
    triage.get_by_label("No: SLT can see and lead it").check()
    triage.get_by_label("Who handles it").select_option(label="Chris Patel")
    triage.get_by_label("First assessment").fill("Abusive but not a safeguarding matter. Ask for removal; support Sam.")
    triage.get_by_role("button", name="Save triage").click()
    expect(dsl.get_by_text(f"{reference} is triaged.")).to_be_visible()

    action = dsl.locator("form[action$='/actions/']")
    action.get_by_label("Action").select_option(label="Asked for the content to be removed")
    action.get_by_label("What was done, and by whom").fill(NOTE)
    action.get_by_role("button", name="Add to chronology").click()
    expect(dsl.get_by_text("Added to the chronology.")).to_be_visible()
    action = dsl.locator("form[action$='/actions/']")
    action.get_by_label("Action").select_option(label="Support offered to the member of staff")
    action.get_by_label("What was done, and by whom").fill(
        "Offered Sam time with the head and the employee assistance line."
    )
    action.get_by_role("button", name="Add to chronology").click()
    expect(dsl.locator(".chronology")).to_contain_text(NOTE)
    check_page(dsl, "case in progress", "incident-case-in-progress")

    # A case closes once each task of its support plan (002 App. 1) is done or not needed, with the reason.
    for task in incident.tasks.filter(status="open"):
        item = dsl.locator(f"#task-{task.pk}")
        item.locator("summary").click()
        item.get_by_label("Not needed", exact=True).check()
        item.get_by_label("What was done, or why it is not needed").fill("Settled by the removal and Sam's support.")
        item.get_by_role("button", name="Save").click()
        expect(dsl.get_by_text("Task marked not needed.")).to_be_visible()

    close = dsl.locator("form[action$='/close/']")
    close.get_by_label("Outcome").select_option(label="Content removed")
    close.get_by_label("Reason and summary").fill("The parent removed the post; Sam supported.")
    close.get_by_role("button", name="Close incident").click()
    expect(dsl.get_by_text(f"{reference} is closed.")).to_be_visible()
    check_page(dsl, "case closed", "incident-case-closed")
    with dsl.expect_download() as download:
        dsl.get_by_role("link", name="Chronology PDF").click()
    assert download.value.suggested_filename == f"{reference}-chronology.pdf"

    dsl.goto(f"{live_server.url}/organisations/northfield-primary/incidents/dashboard/")
    expect(dsl.get_by_role("heading", name="Incident dashboard")).to_be_visible()
    check_page(dsl, "dashboard", "incident-dashboard")
    dsl.goto(f"{live_server.url}/organisations/northfield-primary/incidents/")
    check_page(dsl, "incident list", "incident-list")

    # staff@ sees the status, never the notes.
    staff.goto(f"{live_server.url}/incidents/mine/")
    row = staff.get_by_role("row").filter(has=staff.get_by_role("link", name=reference))
    expect(row).to_contain_text("Closed")
    row.get_by_role("link", name=reference).click()
    expect(staff.get_by_role("heading", name=f"Your report {reference}")).to_be_visible()
    assert NOTE not in staff.content() and "Offered Sam" not in staff.content()
    check_page(staff, "reporter's status page", "incident-reporter-status")

    # another member of staff: 404 for the case and for its evidence.
    other = sign_in(open_browser(), "l.evans@example.org")
    for url in (
        f"/incidents/{incident.pk}/",
        f"/incidents/evidence/{evidence.pk}/",
        f"/incidents/{incident.pk}/chronology.csv",
    ):
        response = other.request.get(f"{live_server.url}{url}")
        assert response.status == 404, url
    other.goto(f"{live_server.url}/incidents/{incident.pk}/")
    expect(other.get_by_role("heading", level=1)).to_contain_text("not found", ignore_case=True)


def test_the_public_page_takes_a_concern_without_signing_in(live_server, demo_data, celery_eager, open_browser):
    from incidents.models import Incident

    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page = open_browser(viewport)
        page.goto(f"{live_server.url}/report/northfield-primary/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Report a concern to Northfield Primary School")
        check_page(page, "public form", f"incident-public-form{suffix}")
        if viewport is PHONE:
            assert_no_horizontal_scroll(page, "public form on a phone")
            continue
        page.get_by_label("A parent or carer").check()
        page.get_by_label("An account using the organisation's name or logo that may not be official").check()
        page.get_by_label("Where online").select_option(label="Instagram")
        page.get_by_label("When did it happen or when did you see it?").fill(
            _local(timezone.now() - dt.timedelta(hours=3))
        )
        page.get_by_label("What happened?").fill("An account called northfield_fans_demo uses the school badge.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
        check_page(page, "public thanks", "incident-public-thanks")
    assert Incident.objects.filter(is_public=True, description__contains="northfield_fans_demo").count() == 1
