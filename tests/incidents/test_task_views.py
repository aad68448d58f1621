"""The task and takedown pages: the owner off the case sees the task alone; outsiders and named people get 404;
bad input changes nothing; the member of staff sees their support plan's steps, never the notes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from incidents import casework
from incidents.models import Category, IncidentTask, Takedown, TaskStatus
from tests.factories import member
from tests.incidents.conftest import report, triaged

pytestmark = pytest.mark.django_db

DESCRIPTION = "The parent's post says the teacher lied (words only the handlers read)."


@pytest.fixture(autouse=True)
def _no_mfa(school, outside_school):
    for org in (school, outside_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def manager(school):
    return member(school, Role.LINE_MANAGER, email="manager@school.example")


@pytest.fixture
def teacher(school, manager):
    return member(school, email="teacher@school.example", line_manager=manager)


@pytest.fixture
def case(now, school, teacher, head):
    return report(school, teacher, Category.ABUSE_OF_STAFF, description=DESCRIPTION)


def test_the_line_manager_sees_their_task_but_not_the_case(client, case, manager):
    support = case.tasks.get(plan_step="support")
    client.force_login(manager)
    page = client.get(f"/incidents/tasks/{support.pk}/").content.decode()
    assert support.title in page and case.reference in page
    assert DESCRIPTION not in page and f'href="/incidents/{case.pk}/"' not in page
    assert "Give it to someone else" not in page  # handing on is for the handlers
    assert client.get(f"/incidents/{case.pk}/").status_code == 404
    police = case.tasks.get(plan_step="police")
    assert client.get(f"/incidents/tasks/{police.pk}/").status_code == 404
    assert client.post(f"/incidents/tasks/{support.pk}/owner/", {"owner": manager.pk}).status_code == 403


@pytest.mark.parametrize("choice", ["colleague", "nobody", "not-a-number"])
def test_the_owner_cannot_hand_their_task_on_whatever_they_post(client, case, school, manager, choice):
    """The rule is the service's (casework.reassign_task): it refuses the owner before it reads the choice."""
    colleague = member(school, email="colleague@school.example")
    support = case.tasks.get(plan_step="support")
    client.force_login(manager)
    posted = {"colleague": {"owner": colleague.pk}, "nobody": {}, "not-a-number": {"owner": "x"}}[choice]
    assert client.post(f"/incidents/tasks/{support.pk}/owner/", posted).status_code == 403
    support.refresh_from_db()
    assert support.owner_id == manager.pk


def test_a_handler_without_a_choice_is_told_and_nothing_changes(client, case, head, manager):
    support = case.tasks.get(plan_step="support")
    client.force_login(head)
    response = client.post(f"/incidents/tasks/{support.pk}/owner/", {})
    assert response.status_code == 400  # the task page again, its summary at the top
    page = response.content.decode()
    assert "<title>Error: " in page and 'href="#reassign_owner">Select who to give the task to</a>' in page
    support.refresh_from_db()
    assert support.owner_id == manager.pk


@pytest.mark.parametrize("who", ["outsider", "colleague", "named"])
def test_anyone_else_gets_404_for_the_task_and_its_actions(client, now, school, teacher, head, outsider, who):
    colleague = member(school, email="colleague@school.example")
    case = report(school, teacher, Category.ABUSE_OF_STAFF, affected=[colleague] if who == "named" else [])
    task = case.tasks.first()
    client.force_login(outsider if who == "outsider" else colleague)
    assert client.get(f"/incidents/tasks/{task.pk}/").status_code == 404
    response = client.post(f"/incidents/tasks/{task.pk}/finish/", {f"task{task.pk}-result": "done"})
    assert response.status_code == 404 and IncidentTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_the_task_actions_take_post_only(client, case, manager):
    task = case.tasks.get(plan_step="support")
    client.force_login(manager)
    assert client.get(f"/incidents/tasks/{task.pk}/finish/").status_code == 405
    assert client.get(f"/incidents/{case.pk}/tasks/").status_code == 405


def test_not_needed_without_a_reason_is_refused_with_a_message_and_changes_nothing(client, case, head):
    task = case.tasks.get(plan_step="procedures")
    client.force_login(head)
    response = client.post(
        f"/incidents/tasks/{task.pk}/finish/",
        {f"task{task.pk}-result": "not_needed", f"task{task.pk}-note": ""},
        follow=True,
    )
    assert "Say why it is not needed." in response.content.decode()
    assert IncidentTask.objects.get(pk=task.pk).status == TaskStatus.OPEN
    client.post(
        f"/incidents/tasks/{task.pk}/finish/",
        {f"task{task.pk}-result": "not_needed", f"task{task.pk}-note": "A parent posted it."},
    )
    assert IncidentTask.objects.get(pk=task.pk).status == TaskStatus.NOT_NEEDED


def test_the_member_of_staff_sees_the_plans_progress_not_the_notes(client, case, teacher, head):
    task = case.tasks.get(plan_step="procedures")
    casework.finish_task(task=task, actor=head, done=False, note="Only the handlers read this reason.")
    client.force_login(teacher)
    page = client.get(f"/incidents/mine/{case.pk}/").content.decode()
    assert "Your support plan" in page and "Support offered to you" in page and "Not needed" in page
    assert "Only the handlers read this reason." not in page and task.title not in page


def test_a_handler_sets_a_task_and_records_a_takedown_through_the_case_page(client, now, school, staff, dsl, slt):
    case = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    client.force_login(dsl)
    response = client.post(
        f"/incidents/{case.pk}/tasks/",
        {"kind": "meeting", "title": "Meet the parent", "owner": slt.pk, "due_on": "2026-03-07"},
        follow=True,
    )
    assert "not a working day" in response.content.decode() and not case.tasks.exists()
    client.post(
        f"/incidents/{case.pk}/tasks/",
        {"kind": "meeting", "title": "Meet the parent", "owner": slt.pk, "due_on": "2026-03-06"},
    )
    assert case.tasks.get().owner == slt
    client.post(
        f"/incidents/{case.pk}/takedowns/",
        {
            "platform": "instagram",
            "target": "@oak_fake",
            "reported_at": "2026-03-02T08:30",
            "how_reported": "report_tool",
            "platform_reference": "",
            "owner": "",
        },
    )
    takedown = Takedown.objects.get(incident=case)
    assert takedown.follow_up.owner == dsl
    page = client.get(f"/incidents/{case.pk}/").content.decode()
    assert "Awaiting the platform" in page and "Meet the parent" in page
    client.post(
        f"/incidents/takedowns/{takedown.pk}/removed/", {f"removal{takedown.pk}-removed_at": "2026-03-02T08:50"}
    )
    assert Takedown.objects.get(pk=takedown.pk).removed_at is not None


def test_the_takedown_removal_is_404_for_someone_off_the_case(client, now, school, staff, dsl, outsider):
    case = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    takedown = casework.record_takedown(
        incident=case, actor=dsl, platform="x", target="@fake", reported_at=case.reported_at, how_reported="email"
    )
    for person in (outsider, staff):
        client.force_login(person)
        response = client.post(
            f"/incidents/takedowns/{takedown.pk}/removed/", {f"removal{takedown.pk}-removed_at": "2026-03-02T08:50"}
        )
        assert response.status_code == 404 and Takedown.objects.get(pk=takedown.pk).removed_at is None


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_case_page_and_the_home_page_run_the_same_queries_however_many_tasks(
    client, now, school, teacher, head, dsl
):
    case = triaged(report(school, teacher, Category.ABUSE_OF_STAFF), dsl, assignee=head)
    client.force_login(head)
    few = (_queries(client, f"/incidents/{case.pk}/"), _queries(client, "/"))
    for i in range(6):
        casework.add_task(
            incident=case, actor=head, kind="note", title=f"Task {i}", owner=head, due_on=case.reported_at.date()
        )
    assert (_queries(client, f"/incidents/{case.pk}/"), _queries(client, "/")) == few
    assert "Your tasks" in client.get("/").content.decode()


def _sent_back(response, *, link: str, message: str) -> str:
    """The page again (400), opening on one summary that links ``message`` to ``#link``."""
    assert response.status_code == 400
    page = response.content.decode()
    assert "<title>Error: " in page and page.count("data-error-summary") == 1
    summary = page[page.index("data-error-summary") : page.index("</ul>", page.index("data-error-summary"))]
    assert f'href="#{link}">{message}</a>' in summary, summary
    # The summary comes before the page's own content: the report's first heading.
    assert page.index("data-error-summary") < page.index('id="report-h"')
    return page


def test_a_task_sent_back_keeps_what_was_typed_and_opens_on_the_summary(client, now, school, staff, dsl, slt):
    case = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    client.force_login(dsl)
    response = client.post(f"/incidents/{case.pk}/tasks/", {"kind": "meeting", "title": "Meet the parent"})
    page = _sent_back(response, link="task_owner", message="Select who does it")
    assert 'href="#task_due_on">Enter the day it is due by, for example 14/03/2026</a>' in page
    assert 'value="Meet the parent"' in page and not case.tasks.exists()
    # A day the service refuses (a Saturday) comes back as typed too, its reason at the top.
    response = client.post(
        f"/incidents/{case.pk}/tasks/",
        {"kind": "meeting", "title": "Meet the parent", "owner": slt.pk, "due_on": "2026-03-07"},
    )
    assert response.status_code == 400 and "not a working day" in response.content.decode()
    assert 'value="2026-03-07"' in response.content.decode() and not case.tasks.exists()


def test_a_takedown_and_a_removal_sent_back_open_on_the_summary(client, now, school, staff, dsl):
    case = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    client.force_login(dsl)
    response = client.post(
        f"/incidents/{case.pk}/takedowns/",
        {"platform": "instagram", "target": "", "reported_at": "2026-03-02T08:30", "how_reported": "report_tool"},
    )
    page = _sent_back(response, link="takedown_target", message="Enter the account handle or web address")
    assert "<details open>\n        <summary>Record a report to a platform" in page and not Takedown.objects.exists()
    takedown = casework.record_takedown(
        incident=case, actor=dsl, platform="x", target="@fake", reported_at=case.reported_at, how_reported="email"
    )
    response = client.post(
        f"/incidents/takedowns/{takedown.pk}/removed/",
        {f"removal{takedown.pk}-removed_at": "yesterday", f"removal{takedown.pk}-platform_reference": "X-123"},
    )
    _sent_back(
        response,
        link=f"id_removal{takedown.pk}-removed_at",
        message="Enter a real date and time for when it was removed, for example 14/03/2026 09:30",
    )
    assert 'value="X-123"' in response.content.decode()
    assert Takedown.objects.get(pk=takedown.pk).removed_at is None


def test_finishing_a_task_from_the_case_page_without_a_reason_comes_back_to_the_case_page(client, case, head):
    task = case.tasks.get(plan_step="procedures")
    client.force_login(head)
    response = client.post(
        f"/incidents/tasks/{task.pk}/finish/", {"from": "case", f"task{task.pk}-result": "not_needed"}
    )
    page = _sent_back(response, link=f"finish_task{task.pk}-note", message="Say why it is not needed.")
    assert f'id="task-{task.pk}"' in page  # the case page, the task's own form open
    assert IncidentTask.objects.get(pk=task.pk).status == TaskStatus.OPEN
