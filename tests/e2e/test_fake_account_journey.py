"""A parent reports a fake account, and follows it to the outcome, in one browser journey (seed 004 §4.1,
§8.4-8.5; POSH: escalate when a platform has not acted within 48 hours).

The parent reports an account impersonating the school on the public page with a screenshot and no
sign-in (a file that is not what it says is refused first); SLT and the DSL team are told at once through
the outbox and a real mail server, without what was written, and nobody the parent names is emailed. The
DSL triages and records the report to the platform in the browser; the sweep reminds them of the 48-hour
follow-up once (a second sweep sends nothing); the DSL records the removal and closes the case with a
message; the parent's private link, opened with no session at 1280 and 375 px, shows the reference, the
status and the outcome in plain words, and nothing of the handling. axe checks every page.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_no_horizontal_scroll,
    check_page_clean,
    drawn_post,
    local_input,
    page_errors,
)
from tests.mailbox import body, deliver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NARROW = {"width": 375, "height": 812}
PARENT = "parent.demo@home.example"
HANDLE = "@northfield_primary_official"
# The parent names a member of staff they suspect; the portal emails nobody on the strength of it.
DESCRIPTION = (
    "An Instagram account called northfield_primary_official uses the school badge and asks parents to DM it. "
    "I think Mr Fletcher may know who runs it."
)
NAMED = "d.fletcher@example.org"
ASSESSMENT = "Impersonation of the school: report it to Instagram and warn parents."
HANDLERS_REASON = "Run by a former pupil; Instagram removed it after our impersonation report IG-4471."
MESSAGE = "Thank you for telling us. Instagram has removed the account, and we have reminded parents which are ours."


def about(smtp, address: str, reference: str) -> list:
    deliver()
    return [m for m in smtp.inbox.received(address) if reference in m["Subject"]]


def test_a_parent_reports_a_fake_account_and_follows_the_takedown_to_the_outcome(
    live_server, demo_data, celery_eager, smtp, open_browser, sign_in, tmp_path
):
    from accounts.models import User
    from incidents import reminders
    from incidents.models import Incident, Takedown

    picture = drawn_post(
        tmp_path / "fake-account.png",
        "northfield_primary_official (demo)",
        "Official page of Northfield Primary. DM us your child's details!",
        colour=(193, 53, 132),
    )
    seen = timezone.now() - dt.timedelta(hours=2)
    deliver()
    smtp.inbox.messages.clear()  # the demo's own notices

    # The parent, on the public page: no sign-in.
    parent = open_browser()
    parent.goto(f"{live_server.url}/report/northfield-primary/")
    expect(parent.get_by_role("heading", level=1)).to_have_text("Report a concern to Northfield Primary School")
    parent.get_by_label("A parent or carer").check()
    parent.get_by_label("An account using the organisation's name or logo that may not be official").check()
    parent.get_by_label("Where online").select_option(label="Instagram")
    parent.get_by_label("When did it happen or when did you see it?").fill(local_input(seen))
    parent.get_by_label("Web address or account name").fill(HANDLE)
    parent.get_by_label("What happened?").fill(DESCRIPTION)
    parent.get_by_label("Email address for updates (optional)").fill(PARENT)
    # First a file that is not what its name says: refused with a message, and nothing is kept.
    parent.locator("#id_evidence-0-file").set_input_files(
        files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 a program, not a picture"}]
    )
    parent.locator("#id_evidence-0-shown_at").fill(local_input(seen))
    parent.get_by_role("button", name="Send").click()
    expect(parent.get_by_role("alert").first).to_contain_text("“screenshot.png” is not a PNG, JPEG, WebP or PDF file")
    expect(parent.get_by_text("Nothing has been sent yet. Choose your files again")).to_be_visible()
    assert not Incident.objects.filter(description=DESCRIPTION).exists()
    check_page_clean(parent, "public form, file refused", "fake-account-1-file-refused")
    # Then the real screenshot; what they typed is still there.
    expect(parent.get_by_label("What happened?")).to_have_value(DESCRIPTION)
    parent.locator("#id_evidence-0-file").set_input_files(str(picture))
    check_page_clean(parent, "public form with a screenshot", "fake-account-2-form")
    parent.get_by_role("button", name="Send").click()

    # The confirmation: the reference, and the private link to keep.
    expect(parent.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    reference = parent.locator("#reference").first.inner_text()
    assert re.fullmatch(r"INC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", reference)
    link = parent.get_by_label("Your private status link").input_value()
    assert link == parent.url and re.fullmatch(rf"{live_server.url}/report/status/[A-Za-z0-9_-]{{43}}/", link)
    expect(parent.locator("#status")).to_have_text("Received")
    check_page_clean(parent, "public confirmation", "fake-account-3-confirmation")
    token = link.rstrip("/").rsplit("/", 1)[1]
    incident = Incident.objects.get(reference=reference, organisation__slug="northfield-primary")
    assert incident.is_public and incident.evidence.get().original_name == "fake-account.png"

    # SLT and the DSL team are told at once, through the mail server, without what was written; the parent
    # gets a confirmation; the member of staff the parent named is emailed nothing at all.
    for address in ("slt@example.org", "dsl@example.org", "deputy.dsl@example.org"):
        told = about(smtp, address, reference)
        assert len(told) == 1, address
        assert DESCRIPTION[:40] not in body(told[0]) and token not in body(told[0]) and "Fletcher" not in body(told[0])
    [confirmation] = about(smtp, PARENT, reference)
    assert "was received" in confirmation["Subject"] and token not in body(confirmation)
    assert smtp.inbox.received(NAMED) == []

    # The DSL signs in, triages the case and records the report to Instagram.
    dsl_user = User.objects.get(email="dsl@example.org")
    dsl = sign_in(open_browser(), "dsl@example.org")
    dsl.goto(f"{live_server.url}/incidents/{incident.pk}/")
    check_page_clean(dsl, "case awaiting triage", "fake-account-4-case-new")
    triage = dsl.locator("form[action$='/triage/']")
    triage.get_by_label("Medium").check()
    triage.get_by_label("No: SLT can see and lead it").check()
    triage.get_by_label("Who handles it").select_option(label=dsl_user.full_name)
    triage.get_by_label("First assessment").fill(ASSESSMENT)
    triage.get_by_role("button", name="Save triage").click()
    expect(dsl.get_by_text(f"{reference} is triaged.")).to_be_visible()

    dsl.get_by_text("Record a report to a platform").click()
    takedown_form = dsl.locator("form[action$='/takedowns/']")
    takedown_form.get_by_label("Platform*", exact=True).select_option(label="Instagram")
    takedown_form.get_by_label("Account handle or web address").fill(HANDLE)
    # Reported just now, after the triage: the form offers the current minute.
    when = takedown_form.get_by_label("When it was reported to the platform").input_value()
    reported = timezone.make_aware(dt.datetime.strptime(when, "%Y-%m-%dT%H:%M"))
    takedown_form.get_by_label("How it was reported").select_option(label="The platform's own report button or form")
    takedown_form.get_by_label("The platform's reference (optional)").fill("IG-4471")
    check_page_clean(dsl, "takedown form", "fake-account-5-takedown-form")
    takedown_form.get_by_role("button", name="Record takedown").click()
    expect(dsl.get_by_text("Awaiting the platform")).to_be_visible()
    check_page_clean(dsl, "case with a takedown awaiting the platform", "fake-account-6-takedown-awaiting")
    takedown = Takedown.objects.select_related("follow_up__owner").get(incident=incident)
    follow_up = takedown.follow_up
    assert (takedown.platform, takedown.target, takedown.platform_reference) == ("instagram", HANDLE, "IG-4471")
    assert takedown.reported_at == reported and takedown.how_reported == "report_tool"
    assert follow_up.owner == dsl_user and follow_up.due_at == reported + dt.timedelta(hours=48)

    # Later, before the 48 hours are up, the sweep reminds the owner of the follow-up, once. The moment is
    # the first one the reminder rule (reminders.task_stage) gives the owner a reminder.
    moment = next(
        follow_up.due_at - dt.timedelta(minutes=m)
        for m in range(30, 48 * 60, 30)
        if reminders.task_stage(follow_up, follow_up.due_at - dt.timedelta(minutes=m))
        in (reminders.TASK_DUE_TODAY, reminders.TASK_DUE_SOON)
    )
    deliver()
    smtp.inbox.messages.clear()
    with time_machine.travel(moment, tick=False):
        sent = reminders.send_incident_reminders()
        reminded = about(smtp, dsl_user.email, reference)
        assert len(reminded) == 1 and sent[reminders.task_stage(follow_up, moment)] >= 1
        assert re.search(r"Your task on incident .* is due", reminded[0]["Subject"])
        assert DESCRIPTION[:40] not in body(reminded[0])
        assert [m for m in smtp.inbox.received() if reference in m["Subject"] and dsl_user.email not in m["To"]] == []
        delivered = len(smtp.inbox.messages)
        assert sum(reminders.send_incident_reminders().values()) == 0  # the second sweep sends nothing
        deliver()
        assert len(smtp.inbox.messages) == delivered
    assert smtp.inbox.received(NAMED) == []

    # Instagram removes the account: the DSL records it, and closes the case with a message for the parent.
    dsl.reload()
    dsl.get_by_text("Record its removal").click()
    dsl.get_by_role("button", name="Record removal").click()
    expect(dsl.get_by_text("Removal recorded.")).to_be_visible()
    takedown.refresh_from_db()
    follow_up.refresh_from_db()
    assert takedown.removed_at is not None and not follow_up.is_open
    entries = dsl.locator("section[aria-labelledby='chronology-h'] li")
    expect(entries.filter(has_text="Removed by Instagram")).to_contain_text("Removed by the platform")
    expect(entries.filter(has_text="Reported to Instagram for removal")).to_contain_text("Reported to the platform")
    close = dsl.locator("form[action$='/close/']")
    close.get_by_label("Outcome").select_option(label="Content removed")
    close.get_by_label("Reason and summary").fill(HANDLERS_REASON)
    close.get_by_label("Message to the person who reported it (optional)").fill(MESSAGE)
    close.get_by_role("button", name="Close incident").click()
    expect(dsl.get_by_text(f"{reference} is closed.")).to_be_visible()
    check_page_clean(dsl, "closed case", "fake-account-7-case-closed")
    to_parent = about(smtp, PARENT, reference)
    assert to_parent and "closed" in to_parent[-1]["Subject"]
    assert MESSAGE in body(to_parent[-1]) and HANDLERS_REASON not in body(to_parent[-1])
    assert smtp.inbox.received(NAMED) == []

    # The parent's link, in a fresh browser (no session): the reference, the status and the outcome.
    for viewport, suffix in (({"width": 1280, "height": 800}, ""), (NARROW, "-375")):
        later = open_browser(viewport)
        later.goto(link)
        expect(later.get_by_role("heading", level=1)).to_have_text(f"Your report {reference}")
        expect(later.locator("#status")).to_have_text("Closed")
        expect(later.locator("#outcome")).to_have_text("The account or content you reported has been removed.")
        expect(later.locator("#message")).to_have_text(MESSAGE)
        content = later.content()
        for private in (HANDLERS_REASON, "former pupil", ASSESSMENT, DESCRIPTION, dsl_user.full_name, "IG-4471"):
            assert private not in content, private
        check_page_clean(later, "status link, closed", f"fake-account-8-status-closed{suffix}")
        if viewport is NARROW:
            assert_no_horizontal_scroll(later, "status link at 375 px")

    # A link with one character changed opens nothing, and says so plainly.
    stranger = open_browser()
    wrong = link[:-2] + ("A" if link[-2] != "A" else "B") + "/"
    response = stranger.goto(wrong)
    assert response.status == 404 and response.headers["referrer-policy"] == "no-referrer"
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Report not found")
    assert reference not in stranger.content()
    assert [e for e in page_errors(stranger) if "404" not in e] == []  # the page's own 404, not a fault
    page_errors(stranger).clear()
    check_page_clean(stranger, "status link, wrong", "fake-account-9-status-wrong")
