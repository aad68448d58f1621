"""Online abuse of a member of staff, run as seed 002 §7.1 and Appendix 1 ask, in a real browser.

staff@ (Sam Taylor) reports abuse by a parent with a screenshot; their line manager (manager@) and the
head (head@) are emailed at once; the DSL triages and gives the case to the head; the line manager marks
the support step done from their task page (they never see the case); the head works the rest of the
support plan, marking the pupil route not needed with the reason; Sam sees the plan's progress but no
handler's note; the head closes the case and Sam is emailed the outcome in plain words. axe checks
every page and each page is saved as a screenshot.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import check_page_clean, drawn_post, local_input
from tests.mailbox import body, deliver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESCRIPTION = "A parent posted on the class Facebook page that I bully their child and should be sacked."
NOT_NEEDED = "It was a parent who posted it, not a pupil or a colleague."


def _to(smtp, address: str, reference: str) -> list:
    """What the mail server received for ``address`` about the case, once the outbox is sent."""
    deliver()
    return [m for m in smtp.inbox.received(address) if reference in m["Subject"]]


@pytest.fixture
def post_image(tmp_path):
    return drawn_post(
        tmp_path / "post.png", "Class page (demo)", "demo_parent: (an invented abusive post about a teacher)"
    )


def _finish(page, task_item, *, done: bool, note: str) -> None:
    task_item.locator("summary").click()
    task_item.get_by_label("Done" if done else "Not needed", exact=True).check()
    task_item.get_by_label("What was done, or why it is not needed").fill(note)
    task_item.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Task marked {'done' if done else 'not needed'}.")).to_be_visible()


def test_abuse_of_staff_support_plan_from_report_to_closure(
    live_server,
    demo_data,
    celery_eager,
    smtp,
    open_browser,
    sign_in,
    post_image,
):
    from incidents.models import Incident, TaskStatus

    yesterday = timezone.now() - dt.timedelta(days=1)
    deliver()
    smtp.inbox.messages.clear()

    # Sam reports abuse of themselves by a parent, with a screenshot.
    sam = sign_in(open_browser(), "staff@example.org")
    sam.goto(f"{live_server.url}/incidents/report/")
    sam.get_by_label("Online abuse of a member of staff").check()
    sam.get_by_label("Where online").select_option(label="Facebook")
    sam.get_by_label("When did it happen?").fill(local_input(yesterday))
    sam.get_by_label("What happened?").fill(DESCRIPTION)
    sam.locator("#id_evidence-0-file").set_input_files(str(post_image))
    sam.locator("#id_evidence-0-shown_at").fill(local_input(yesterday + dt.timedelta(minutes=2)))
    sam.get_by_role("button", name="Send report").click()
    expect(sam.get_by_role("heading", name="Your report has been sent")).to_be_visible()
    expect(sam.get_by_text("Your line manager and the head of your organisation have been told")).to_be_visible()
    reference = sam.locator("#reference").inner_text()
    check_page_clean(sam, "report sent (abuse of staff)", "support-plan-submitted")
    incident = Incident.objects.get(reference=reference, organisation__slug="northfield-primary")
    assert incident.tasks.count() == 8

    # The line manager and the head are emailed at once, without what happened; so is the DSL team.
    for address in ("manager@example.org", "head@example.org", "dsl@example.org"):
        told = _to(smtp, address, reference)
        assert told, f"{address} was not told"
        assert all(DESCRIPTION not in body(m) for m in told)
    assert "reported online abuse" in _to(smtp, "manager@example.org", reference)[0]["Subject"]

    # The DSL triages and gives the case to the head, who is emailed.
    dsl = sign_in(open_browser(), "dsl@example.org")
    dsl.goto(f"{live_server.url}/incidents/{incident.pk}/")
    triage = dsl.locator("form[action$='/triage/']")
    triage.get_by_label("Medium").check()
    triage.get_by_label("No: SLT can see and lead it").check()
    triage.get_by_label("Who handles it").select_option(label="Jo Bennett")
    triage.get_by_label("First assessment").fill("Abuse by a parent. The head leads the support plan.")
    triage.get_by_role("button", name="Save triage").click()
    expect(dsl.get_by_text(f"{reference} is triaged.")).to_be_visible()
    assert [m for m in _to(smtp, "head@example.org", reference) if "given incident" in m["Subject"]]

    # The line manager opens their task from the email's link: the task alone, not the case.
    support = incident.tasks.get(plan_step="support")
    manager = sign_in(open_browser(), "manager@example.org")
    mine = manager.locator(".card", has=manager.get_by_role("heading", name="Your tasks"))
    expect(mine.get_by_role("link", name=support.title)).to_be_visible()
    mine.get_by_role("link", name=support.title).click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Task: Support offered to the member of staff")
    assert DESCRIPTION not in manager.content()
    check_page_clean(manager, "line manager's task page", "support-plan-task-line-manager")
    manager.get_by_label("Done", exact=True).check()
    manager.get_by_label("What was done, or why it is not needed").fill("Talked with Sam; support accepted.")
    manager.get_by_role("button", name="Save").click()
    expect(manager.get_by_text("Task marked done.")).to_be_visible()
    assert manager.request.get(f"{live_server.url}/incidents/{incident.pk}/").status == 404

    # The head works the plan on the case page: the pupil route is not needed, with the reason.
    head = sign_in(open_browser(), "head@example.org")
    expect(head.locator(".card", has=head.get_by_role("heading", name="Your tasks"))).to_contain_text(reference)
    head.goto(f"{live_server.url}/incidents/{incident.pk}/")
    check_page_clean(head, "case with its support plan", "support-plan-case-open")
    procedures = incident.tasks.get(plan_step="procedures")
    _finish(head, head.locator(f"#task-{procedures.pk}"), done=False, note=NOT_NEEDED)
    for step in ("evidence", "meeting"):
        task = incident.tasks.get(plan_step=step)
        _finish(head, head.locator(f"#task-{task.pk}"), done=True, note=f"{step.title()} dealt with.")
    # Closing is refused while tasks are open.
    close = head.locator("form[action$='/close/']")
    close.get_by_label("Outcome").select_option(label="Content removed")
    close.get_by_role("button", name="Close incident").click()
    expect(head.get_by_text("4 tasks are still open")).to_be_visible()
    assert Incident.objects.get(pk=incident.pk).status != "closed"

    # Sam sees the plan's progress, not the handlers' notes.
    sam.goto(f"{live_server.url}/incidents/mine/{incident.pk}/")
    plan = sam.get_by_role("list", name="Your support plan")
    expect(plan).to_contain_text("Support offered to you")
    expect(plan.get_by_role("listitem").filter(has_text="If a pupil or colleague posted it")).to_contain_text(
        "Not needed"
    )
    assert NOT_NEEDED not in sam.content() and "support accepted" not in sam.content()
    check_page_clean(sam, "the plan's progress for the member of staff", "support-plan-progress")

    # The head settles the rest and closes the case; Sam is emailed the outcome in plain words.
    for task in incident.tasks.filter(status=TaskStatus.OPEN):
        _finish(head, head.locator(f"#task-{task.pk}"), done=False, note="Removed after the meeting; not needed.")
    deliver()
    smtp.inbox.messages.clear()
    close = head.locator("form[action$='/close/']")
    close.get_by_label("Outcome").select_option(label="Content removed")
    close.get_by_label("Reason and summary").fill("The parent removed the post after the meeting.")
    close.get_by_role("button", name="Close incident").click()
    expect(head.get_by_text(f"{reference} is closed.")).to_be_visible()
    check_page_clean(head, "closed case with its plan", "support-plan-case-closed")
    closed = _to(smtp, "staff@example.org", reference)
    assert len(closed) == 1 and "is closed" in closed[0]["Subject"]
    assert "The account or content you reported has been removed." in body(closed[0])
    assert "after the meeting" not in body(closed[0])

    sam.goto(f"{live_server.url}/incidents/mine/{incident.pk}/")
    expect(sam.get_by_text("This report is closed.")).to_be_visible()
    check_page_clean(sam, "closed report for the member of staff", "support-plan-reporter-closed")


def test_the_demo_takedown_awaits_the_platform_and_its_removal_shows_on_the_dashboard(
    live_server,
    demo_data,
    celery_eager,
    open_browser,
    sign_in,
):
    from incidents.models import Takedown

    takedown = Takedown.objects.select_related("incident", "follow_up").get(target="@northfield.primary.official")
    assert takedown.removed_at is None and takedown.follow_up.is_open
    slt = sign_in(open_browser(), "slt@example.org")
    # The follow-up is slt@'s task, on their home page with its 48-hour date.
    tasks = slt.locator(".card", has=slt.get_by_role("heading", name="Your tasks"))
    expect(tasks).to_contain_text("Check whether TikTok has removed @northfield.primary.official")
    slt.goto(f"{live_server.url}/organisations/northfield-primary/incidents/dashboard/")
    figures = slt.get_by_role("list", name="Takedowns")
    expect(figures.get_by_role("listitem").filter(has_text="awaiting the platform")).to_contain_text("1")
    check_page_clean(slt, "dashboard with takedowns", "takedown-dashboard-awaiting")

    slt.goto(f"{live_server.url}/incidents/{takedown.incident_id}/")
    expect(slt.get_by_text("Awaiting the platform")).to_be_visible()
    check_page_clean(slt, "case with a takedown awaiting the platform", "takedown-case-awaiting")
    slt.get_by_text("Record its removal").click()
    slt.get_by_role("button", name="Record removal").click()
    expect(slt.get_by_text("Removal recorded.")).to_be_visible()
    takedown.refresh_from_db()
    takedown.follow_up.refresh_from_db()
    assert takedown.removed_at is not None and not takedown.follow_up.is_open
    slt.goto(f"{live_server.url}/organisations/northfield-primary/incidents/dashboard/")
    median = slt.get_by_role("list", name="Takedowns").get_by_role("listitem").filter(has_text="median time to removal")
    expect(median).to_contain_text(" h")
    check_page_clean(slt, "dashboard after the removal", "takedown-dashboard-removed")
