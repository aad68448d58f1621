"""Each form a demo person sends back wrong opens on the GOV.UK error summary (issue 15): "Error: "
before the title, one summary at the top of the page's content (base.html) that is
announced (role=alert), linking each message to its field, which is marked invalid; what was typed
is still there; nothing is saved. The browser side (focus moving to the summary, each link reaching
its field) is tests/e2e/test_error_summary.py's."""

import io
import re
from html import unescape

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

NORTHFIELD = "/organisations/northfield-primary"
SUMMARY = re.compile(
    r'<div class="alert alert-danger error-summary" role="alert" tabindex="-1" data-error-summary>.*?</div>', re.S
)


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def _sign_in(client, email):
    from accounts.models import User

    client.force_login(User.objects.get(email=email))


def assert_sent_back(response, links: dict[str, str], typed: tuple[str, ...] = (), status: int = 200) -> str:
    """``links`` maps each message the summary must hold to the id of the field it links to. A form
    re-rendered by its own view answers 200; one whose view redirects on success and renders another
    page to send it back (a decision, an answer, the case page's forms) answers 400."""
    assert response.status_code == status, response.status_code
    page = response.content.decode()
    assert re.search(r"<title>Error: ", page), re.search(r"<title>.*?</title>", page, re.S).group(0)
    summaries = SUMMARY.findall(page)
    assert len(summaries) == 1, f"{len(summaries)} summaries"
    summary = summaries[0]
    assert page.index(summary) < page.index("<h1"), "the summary is not at the top of the page's content"
    found = {unescape(m): t for t, m in re.findall(r'<a class="alert-link" href="#([^"]+)">(.*?)</a>', summary)}
    for message, target in links.items():
        assert found.get(message) == target, f"{message!r} -> {target!r}; the summary links {found}"
        field = re.search(rf'<[^>]* id="{re.escape(target)}"[^>]*>', page)
        assert field, f"no element #{target} on the page"
        if "_0" not in target:  # a radio group's first radio carries no aria-invalid of its own
            assert 'aria-invalid="true"' in field.group(0), field.group(0)
    for text in typed:
        assert text in page, f"{text!r} was lost"
    return page


def test_an_approval_decision_without_its_reason_comes_back_with_what_was_chosen(client, demo):
    from approvals.models import AccountRequest

    request = AccountRequest.objects.get(organisation__slug="northfield-primary", status="submitted")
    _sign_in(client, "slt@example.org")
    response = client.post(f"/approvals/requests/{request.pk}/decide/", {"kind": "reject", "reason": "  "})
    page = assert_sent_back(response, {"Give the reason, so the requester knows what to do.": "id_reason"}, status=400)
    assert re.search(r'value="reject"[^>]*checked', page)
    response = client.post(f"/approvals/requests/{request.pk}/decide/", {"reason": "Too soon."})
    assert_sent_back(response, {"Select your decision": "id_kind_0"}, typed=("Too soon.",), status=400)
    request.refresh_from_db()
    assert request.status == "submitted"


def test_the_response_log_sends_back_an_item_and_an_answer_as_typed(client, demo):
    from approvals.models import OfficialAccount, ResponseItem

    account = OfficialAccount.objects.filter(organisation__slug="northfield-primary").order_by("pk").first()
    _sign_in(client, "osc@example.org")
    before = ResponseItem.objects.count()
    response = client.post(f"/approvals/accounts/{account.pk}/log/", {"summary": "A parent asks about the fair."})
    assert_sent_back(response, {}, typed=("A parent asks about the fair.",))
    assert ResponseItem.objects.count() == before
    item = ResponseItem.objects.filter(account=account, answered_at__isnull=True).first()
    response = client.post(f"/approvals/items/{item.pk}/answer/", {"response": ""})
    assert_sent_back(
        response,
        {"Say how it was answered, even if only that it was received": f"answer-{item.pk}-response"},
        status=400,
    )
    item.refresh_from_db()
    assert item.answered_at is None


@pytest.mark.parametrize(
    "who, path, posted, links",
    [
        (
            "slt@example.org",
            "/approvals/training/",
            {"course": "Online safety", "completed_on": "not a date"},
            {"Enter a real date for the completed on, for example 14/03/2026": "id_completed_on"},
        ),
        (
            "l.harris@example.org",
            f"{NORTHFIELD}/staff/import/",
            {"invite": "on"},
            {"Choose a file: CSV file": "id_file"},
        ),
        (
            "l.harris@example.org",
            f"{NORTHFIELD}/staff/add-without-email/",
            {"job_title": "Caretaker"},
            {"Enter the person's first name": "id_first_name"},
        ),
        ("l.harris@example.org", f"{NORTHFIELD}/staff/invite/", {"first_name": "Ada"}, {}),
        ("staff@example.org", "/incidents/report/", {"location": "The car park"}, {}),
    ],
)
def test_each_form_sent_back_opens_on_its_summary(client, demo, who, path, posted, links):
    _sign_in(client, who)
    page = assert_sent_back(
        client.post(path, posted), links, typed=tuple(v for v in posted.values() if v not in ("on", "not a date"))
    )
    assert page


def test_an_assisted_acknowledgement_sent_back_keeps_its_choices(client, demo):
    from accounts.models import Membership

    sue = Membership.objects.get(organisation__slug="northfield-primary", user__first_name="Sue")
    _sign_in(client, "manager@example.org")
    response = client.post(f"/policies/staff/{sue.pk}/record-acknowledgement/", {"made_on": "2026-11-30"})
    assert_sent_back(response, {}, typed=('value="2026-11-30"',))
