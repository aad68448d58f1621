"""A parent reports a fake account on the public page (seed 004 §4.1, §8.4-8.5), with a screenshot and
no sign-in: SLT and the DSL team are told at once, the parent gets a confirmation with a private status
link and a confirmation email; the DSL closes the case with a message for the reporter; the parent's
link, opened in a fresh browser, shows the outcome and nothing of the handling. axe-core checks every page."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    _new_page,
    assert_accessible,
    assert_no_horizontal_scroll,
    page_errors,
    screenshot,
)
from tests.mailbox import deliver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PARENT = "parent.demo@home.example"
DESCRIPTION = "An Instagram account called northfield_primary_official uses the school badge and asks parents to DM it."
HANDLERS_REASON = "Account run by a former pupil; Instagram removed it after our impersonation report IG-4471."
MESSAGE = (
    "Thank you for telling us. Instagram has removed the account, and we have reminded parents which accounts are ours."
)


@pytest.fixture
def open_browser(browser):
    contexts = []

    def _open(viewport=DESKTOP):
        context, page = _new_page(browser, viewport)
        contexts.append(context)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def fake_account_screenshot(tmp_path):
    image = Image.new("RGB", (540, 360), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 540, 52), fill=(193, 53, 132))
    draw.text((16, 18), "northfield_primary_official (demo)", fill=(255, 255, 255))
    draw.ellipse((16, 70, 96, 150), outline=(0, 0, 0), width=3)
    draw.text((112, 96), "Official page of Northfield Primary. DM us your child's details!", fill=(0, 0, 0))
    path = tmp_path / "fake-account.png"
    image.save(path, "PNG")
    return path


def _check(page, label: str, shot: str) -> None:
    screenshot(page, shot)
    assert_accessible(page, label)
    assert page_errors(page) == [], f"{label}: {page_errors(page)}"


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_parent_reports_a_fake_account_and_follows_it_to_the_outcome(
    live_server, demo_data, celery_eager, open_browser, fake_account_screenshot
):
    from django.core import mail

    from accounts.models import User
    from incidents import services
    from incidents.models import Incident, Outcome, PublicStatusLink

    seen = timezone.now() - dt.timedelta(hours=2)
    mail.outbox.clear()

    # The parent, on the public page: no sign-in.
    parent = open_browser()
    parent.goto(f"{live_server.url}/report/northfield-primary/")
    expect(parent.get_by_role("heading", level=1)).to_have_text("Report a concern to Northfield Primary School")
    parent.get_by_label("A parent or carer").check()
    parent.get_by_label("An account using the organisation's name or logo that may not be official").check()
    parent.get_by_label("Where online").select_option(label="Instagram")
    parent.get_by_label("When did it happen or when did you see it?").fill(_local(seen))
    parent.get_by_label("Web address or account name").fill("@northfield_primary_official")
    parent.get_by_label("What happened?").fill(DESCRIPTION)
    parent.get_by_label("Email address for updates (optional)").fill(PARENT)
    # First a file that is not what its name says: refused with a message, and nothing is kept.
    parent.locator("#id_evidence-0-file").set_input_files(
        files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 a program, not a picture"}]
    )
    parent.locator("#id_evidence-0-shown_at").fill(_local(seen))
    parent.get_by_role("button", name="Send").click()
    expect(parent.get_by_role("alert").first).to_contain_text("“screenshot.png” is not a PNG, JPEG, WebP or PDF file")
    expect(parent.get_by_text("Nothing has been sent yet. Choose your files again")).to_be_visible()
    assert not Incident.objects.filter(description=DESCRIPTION).exists()
    _check(parent, "public form, file refused", "public-report-file-refused")
    # Then the real screenshot; what they typed is still there.
    expect(parent.get_by_label("What happened?")).to_have_value(DESCRIPTION)
    parent.locator("#id_evidence-0-file").set_input_files(str(fake_account_screenshot))
    _check(parent, "public form with a screenshot", "public-report-form")
    parent.get_by_role("button", name="Send").click()

    # The confirmation: the reference, and the private link to keep.
    expect(parent.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    reference = parent.locator("#reference").inner_text()
    assert re.fullmatch(r"INC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", reference)
    link = parent.get_by_label("Your private status link").input_value()
    assert link == parent.url and re.fullmatch(rf"{live_server.url}/report/status/[A-Za-z0-9_-]{{43}}/", link)
    expect(parent.locator("#status")).to_have_text("Received")
    _check(parent, "public confirmation", "public-report-confirmation")
    token = link.rstrip("/").rsplit("/", 1)[1]
    incident = Incident.objects.get(reference=reference, organisation__slug="northfield-primary")
    assert incident.is_public and incident.evidence.get().original_name == "fake-account.png"
    assert PublicStatusLink.objects.get(incident=incident).token_hash != token

    # SLT and the DSL team are told at once, without what was written; the parent gets a confirmation.
    deliver()
    about = [m for m in mail.outbox if reference in m.subject]
    to = {address for m in about for address in m.to}
    assert {"dsl@example.org", "slt@example.org", PARENT} <= to
    assert all(DESCRIPTION not in m.body and token not in m.body for m in about)
    [confirmation] = [m for m in about if PARENT in m.to]
    assert "was received" in confirmation.subject

    # The DSL triages and closes it with a message for the reporter (through the services).
    dsl = User.objects.get(email="dsl@example.org")
    services.triage(
        incident=incident,
        actor=dsl,
        severity="medium",
        is_safeguarding=False,
        assignee=dsl,
        first_assessment="Impersonation of the school: report to Instagram, warn parents.",
    )
    services.close_incident(
        incident=incident,
        actor=dsl,
        outcome=Outcome.CONTENT_REMOVED,
        reason=HANDLERS_REASON,
        reporter_message=MESSAGE,
    )
    deliver()
    to_parent = [m for m in mail.outbox if PARENT in m.to]
    assert [m.subject.rsplit(": ", 1)[1] for m in to_parent[1:]] == ["being looked into", "closed"]
    assert MESSAGE in to_parent[-1].body and HANDLERS_REASON not in to_parent[-1].body

    # Days later, in a fresh browser (no session), the parent's link shows the outcome, nothing more.
    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        later = open_browser(viewport)
        later.goto(link)
        expect(later.get_by_role("heading", level=1)).to_have_text(f"Your report {reference}")
        expect(later.locator("#status")).to_have_text("Closed")
        expect(later.locator("#outcome")).to_have_text("The account or content you reported has been removed.")
        expect(later.locator("#message")).to_have_text(MESSAGE)
        content = later.content()
        for private in (HANDLERS_REASON, "former pupil", "Impersonation of the school", DESCRIPTION, dsl.full_name):
            assert private not in content, private
        _check(later, "public status link, closed", f"public-report-status-closed{suffix}")
        if viewport is PHONE:
            assert_no_horizontal_scroll(later, "public status link on a phone")

    # A link with one character changed opens nothing, and says so plainly.
    stranger = open_browser()
    wrong = link[:-2] + ("A" if link[-2] != "A" else "B") + "/"
    response = stranger.goto(wrong)
    assert response.status == 404 and response.headers["referrer-policy"] == "no-referrer"
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Report not found")
    assert reference not in stranger.content()
    # The browser logs the page's own 404; that is the answer, not a fault of the page.
    assert [e for e in page_errors(stranger) if "404" not in e] == []
    page_errors(stranger).clear()
    _check(stranger, "public status link, wrong", "public-report-status-wrong")
