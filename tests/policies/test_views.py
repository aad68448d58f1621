import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role, RoleGrant, StaffType, User
from policies import services
from policies.models import Acknowledgement, AcknowledgementRequest, QuizQuestion
from tests.factories import member
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, other_school, outside_school):
    for org in (school, trust, other_school, outside_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def published(now, policy, owner, staff):
    return publish(policy, owner)


def test_my_policies_lists_what_to_acknowledge_and_what_is_done(client, published, staff, time_machine):
    client.force_login(staff)
    page = client.get("/policies/").content.decode()
    assert "Social Media Policy" in page and "16 March 2026" in page
    time_machine.move_to(dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC), tick=False)
    client.force_login(staff)  # the earlier session has expired by now
    assert "Overdue" in client.get("/policies/").content.decode()
    services.acknowledge(user=staff, version=published)
    page = client.get("/policies/").content.decode()
    assert "You have no policies to acknowledge" in page and "20 March 2026" in page


def test_reading_and_acknowledging_through_the_page(client, published, staff):
    client.force_login(staff)
    page = client.get(f"/policies/{published.policy_id}/").content.decode()
    assert "Be kind online." in page and "I have read and understood" in page
    response = client.post(
        f"/policies/versions/{published.pk}/acknowledge/",
        {"confirm": "on"},
        HTTP_USER_AGENT="Edge",
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302 and response["Location"] == "/policies/"
    acknowledgement = Acknowledgement.objects.get(user=staff)
    assert (acknowledgement.user_agent, acknowledgement.ip_address) == ("Edge", "198.51.100.7")
    # a double click: the same acknowledgement, no error
    client.post(f"/policies/versions/{published.pk}/acknowledge/", {"confirm": "on"})
    assert Acknowledgement.objects.filter(user=staff).count() == 1


def test_acknowledging_needs_the_deliberate_confirmation(client, published, staff):
    client.force_login(staff)
    response = client.post(f"/policies/versions/{published.pk}/acknowledge/", {}, follow=True)
    assert "Tick the box to confirm" in response.content.decode()
    assert not Acknowledgement.objects.exists()


def test_acknowledging_needs_post(client, published, staff):
    client.force_login(staff)
    assert client.get(f"/policies/versions/{published.pk}/acknowledge/").status_code == 405


def test_the_reading_page_shows_what_changed_since_the_acknowledged_version(client, published, policy, owner, staff):
    services.acknowledge(user=staff, version=published)
    publish(policy, owner, label="2", text="# Rules\n\nBe kind and careful online.", summary_of_changes="Careful too.")
    client.force_login(staff)
    page = client.get(f"/policies/{policy.pk}/").content.decode()
    assert "What changed since the version you acknowledged" in page
    assert "<ins>" in page and "careful" in page


def test_policies_of_other_organisations_are_hidden(client, published, outsider):
    client.force_login(outsider)
    assert client.get(f"/policies/{published.policy_id}/").status_code == 404
    assert client.post(f"/policies/versions/{published.pk}/acknowledge/", {"confirm": "on"}).status_code == 404


def test_only_owners_manage_a_policy(client, published, staff, school_admin, owner):
    for person in (staff, school_admin):  # the administrator keeps staff records, not policies
        client.force_login(person)
        assert client.get(f"/policies/{published.policy_id}/manage/").status_code == 403
        assert client.get("/organisations/oak-primary/policies/").status_code == 403
    client.force_login(owner)
    assert client.get(f"/policies/{published.policy_id}/manage/").status_code == 200


def test_an_owner_writes_and_publishes_a_version_through_the_pages(client, now, policy, owner, staff):
    client.force_login(owner)
    response = client.post(
        f"/policies/{policy.pk}/versions/new/",
        {
            "label": "1",
            "source_format": "markdown",
            "text": "# Our rules\n\nThink before you post.",
            "requires_acknowledgement": "on",
        },
    )
    assert response.status_code == 302
    version = policy.versions.get()
    response = client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-20"}, follow=True)
    assert "is published" in response.content.decode()
    assert AcknowledgementRequest.objects.get(user=staff).due_date == dt.date(2026, 3, 20)


def test_publishing_with_a_past_due_date_shows_a_message_and_changes_nothing(client, now, policy, owner):
    client.force_login(owner)
    version = services.create_version(policy=policy, actor=owner, text="# A\n\nB", label="1", source_format="markdown")
    response = client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-02-01"})
    assert "cannot be before today" in response.content.decode()
    version.refresh_from_db()
    assert version.is_draft


def test_a_fake_pdf_upload_is_refused_on_the_page(client, now, policy, owner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(owner)
    response = client.post(
        f"/policies/{policy.pk}/versions/new/",
        {"label": "1", "source_format": "pdf", "upload": SimpleUploadedFile("p.pdf", b"not a pdf", "application/pdf")},
    )
    assert response.status_code == 200 and "not a PDF" in response.content.decode()
    assert not policy.versions.exists()


def test_a_reader_can_ask_the_owner(client, published, staff, owner, celery_eager, django_capture_on_commit_callbacks):
    from django.core import mail

    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/policies/versions/{published.pk}/ask/", {"question": "Does this cover WhatsApp groups?"})
    (message,) = mail.outbox
    assert message.to == [owner.email] and message.reply_to == [staff.email]
    assert "WhatsApp" in message.body


def bulk_staff(organisation, count, department="Year 1", manager=None):
    users = User.objects.bulk_create(
        [
            User(
                email=f"{n}-{department}-{organisation.slug}@school.example".replace(" ", ""),
                first_name="Bulk",
                last_name=f"Person {n}",
            )
            for n in range(count)
        ]
    )
    memberships = Membership.objects.bulk_create(
        [
            Membership(
                user=u,
                organisation=organisation,
                department=department,
                line_manager=manager,
                staff_type=StaffType.EMPLOYEE,
            )
            for u in users
        ]
    )
    RoleGrant.objects.bulk_create([RoleGrant(membership=m, role=Role.STAFF) for m in memberships])
    return users


def query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


DASHBOARD_URLS = [
    "/organisations/{org}/compliance/",
    "/organisations/{org}/compliance/?by=department",
    "/organisations/{org}/compliance/?by=staff_type",
    "/organisations/{org}/compliance/people/?status=outstanding",
    "/organisations/{org}/compliance/export.csv",
    "/policies/{policy}/evidence.csv",
    "/policies/{policy}/evidence.pdf",
    "/",
    "/policies/",
]


@pytest.mark.parametrize("who", ["slt", "line_manager", "owner"])
def test_dashboards_run_the_same_queries_for_10_and_500_staff(client, now, school, policy, owner, slt, who):
    manager = member(school, Role.LINE_MANAGER)
    viewer = {"slt": slt, "line_manager": manager, "owner": owner}[who]
    bulk_staff(school, 10, manager=manager)
    version = publish(policy, owner)
    for request in AcknowledgementRequest.objects.all()[:4]:
        services.acknowledge(user=request.user, version=version)
    client.force_login(viewer)
    urls = [u.format(org=school.slug, policy=policy.pk) for u in DASHBOARD_URLS]
    if who == "line_manager":
        urls = [u for u in urls if "evidence" not in u]
    small = {url: query_count(client, url) for url in urls}
    bulk_staff(school, 490, department="Year 2", manager=manager)
    services.sync_requests()
    for request in AcknowledgementRequest.objects.filter(acknowledgement__isnull=True)[:200]:
        services.acknowledge(user=request.user, version=version)
    large = {url: query_count(client, url) for url in urls}
    assert large == small
    assert max(small.values()) <= 20


def test_the_dashboard_counts_and_the_drill_down_agree(client, now, school, policy, owner, slt):
    bulk_staff(school, 6)
    version = publish(policy, owner)
    for request in AcknowledgementRequest.objects.order_by("pk")[:3]:
        services.acknowledge(user=request.user, version=version)
    client.force_login(slt)
    response = client.get(f"/organisations/{school.slug}/compliance/")
    totals = response.context["totals"]
    total = AcknowledgementRequest.objects.count()
    assert (totals.acknowledged, totals.outstanding) == (3, total - 3)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/organisations/{school.slug}/compliance/export.csv?status=outstanding").content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert len(rows) == 1 + total - 3 and rows[0][0] == "Name"


def test_a_line_manager_sees_only_their_team(client, now, school, policy, owner):
    manager = member(school, Role.LINE_MANAGER)
    team = bulk_staff(school, 3, department="Team", manager=manager)
    bulk_staff(school, 5, department="Other")
    publish(policy, owner)
    client.force_login(manager)
    totals = client.get(f"/organisations/{school.slug}/compliance/").context["totals"]
    assert totals.total == len(team)


def test_plain_staff_have_no_dashboard(client, published, staff):
    client.force_login(staff)
    assert client.get("/organisations/oak-primary/compliance/").status_code == 403


def test_a_trust_dashboard_rolls_up_its_members(client, now, trust, school, other_school):
    trust_owner = member(trust, Role.POLICY_OWNER)
    trust_slt = member(trust, Role.SLT)
    bulk_staff(school, 3)
    bulk_staff(other_school, 4)
    policy = services.create_policy(organisation=trust, actor=trust_owner, title="Trust policy", owner=trust_owner)
    publish(policy, trust_owner)
    client.force_login(trust_slt)
    response = client.get(f"/organisations/{trust.slug}/compliance/")
    names = {label for _, label, _ in response.context["breakdown"]}
    assert {"Oak Primary", "Ash Academy", "Oak Trust"} <= names


def test_the_evidence_pack_downloads_as_csv_and_pdf(client, published, staff, owner):
    services.acknowledge(user=staff, version=published)
    client.force_login(owner)
    rows = list(
        csv.reader(io.StringIO(client.get(f"/policies/{published.policy_id}/evidence.csv").content.decode("utf-8-sig")))
    )
    assert rows[1][:2] == [staff.full_name, staff.email] and rows[1][5] == published.content_sha256
    pdf = client.get(f"/policies/{published.policy_id}/evidence.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_evidence_pack_is_not_for_plain_staff(client, published, staff):
    client.force_login(staff)
    assert client.get(f"/policies/{published.policy_id}/evidence.csv").status_code == 403


def test_the_review_calendar_feed(client, published, owner, staff):
    response = client.get(f"/policies/calendar/{services.new_calendar_link(user=owner)}/reviews.ics")
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in body and "Review due: Social Media Policy" in body and "20270302" in body
    staff_link = f"/policies/calendar/{services.new_calendar_link(user=staff)}/reviews.ics"
    assert "BEGIN:VEVENT" not in client.get(staff_link).content.decode()
    assert client.get("/policies/calendar/forged/reviews.ics").status_code == 404


def test_the_home_page_shows_what_needs_me_now(client, published, staff, slt, owner, time_machine):
    client.force_login(staff)
    assert "Policies to read and acknowledge" in client.get("/").content.decode()
    time_machine.move_to(dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC), tick=False)
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert "Policies due for review" in page
    client.force_login(slt)
    assert "Acknowledgement rate" in client.get("/").content.decode()


def test_a_pdf_version_is_shown_inside_the_page(client, now, policy, owner, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    version = services.create_version(
        policy=policy, actor=owner, upload=io.BytesIO(data), label="1", source_format="pdf"
    )
    services.publish_version(version=version, actor=owner)
    client.force_login(staff)
    page = client.get(f"/policies/{policy.pk}/").content.decode()
    assert f"/policies/versions/{version.pk}/document/" in page and "<iframe" in page
    response = client.get(f"/policies/versions/{version.pk}/document/")
    assert response["Content-Type"] == "application/pdf" and b"".join(response.streaming_content) == data
    assert (
        response["X-Frame-Options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in response["Content-Security-Policy"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_staff_of_a_member_school_acknowledge_the_trust_policy_with_their_addendum(client, now, trust, school):
    trust_owner = member(trust, Role.POLICY_OWNER)
    local_owner = member(school, Role.POLICY_OWNER)
    teacher = member(school)
    trust_policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust Social Media Policy", owner=trust_owner
    )
    trust_version = publish(trust_policy, trust_owner)
    addendum = services.create_policy(
        organisation=school, actor=local_owner, title="Oak addendum", owner=local_owner, addendum_to=trust_policy
    )
    addendum_version = publish(addendum, local_owner, text="# Local\n\nOur blogs are closed groups.")
    client.force_login(teacher)
    page = client.get(f"/policies/{trust_policy.pk}/").content.decode()
    assert "Be kind online." in page and "Our blogs are closed groups." in page
    client.post(f"/policies/versions/{trust_version.pk}/acknowledge/", {"confirm": "on"})
    assert set(Acknowledgement.objects.filter(user=teacher).values_list("version", flat=True)) == {
        trust_version.pk,
        addendum_version.pk,
    }


def test_an_addendum_whose_questions_are_unanswered_stops_both_acknowledgements(client, now, trust, school):
    trust_owner, local_owner, teacher = (
        member(trust, Role.POLICY_OWNER),
        member(school, Role.POLICY_OWNER),
        member(school),
    )
    trust_policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust policy", owner=trust_owner
    )
    trust_version = publish(trust_policy, trust_owner)
    addendum = services.create_policy(
        organisation=school, actor=local_owner, title="Addendum", owner=local_owner, addendum_to=trust_policy
    )
    draft = services.create_version(
        policy=addendum, actor=local_owner, text="# Local\n\nClosed blogs.", label="1", source_format="markdown"
    )
    services.add_question(
        version=draft, actor=local_owner, prompt="Blogs are?", choices=["Open", "Closed"], correct_choice=2
    )
    services.publish_version(version=draft, actor=local_owner)
    client.force_login(teacher)
    response = client.post(f"/policies/versions/{trust_version.pk}/acknowledge/", {"confirm": "on"}, follow=True)
    assert "Answer the questions" in response.content.decode()
    assert not Acknowledgement.objects.filter(user=teacher).exists()


def test_a_trust_leaders_home_page_takes_the_same_queries_for_2_or_12_schools(client, now, trust, school, other_school):
    from tests.factories import OrganisationFactory

    trust_owner, trust_slt = member(trust, Role.POLICY_OWNER), member(trust, Role.SLT)
    publish(
        services.create_policy(organisation=trust, actor=trust_owner, title="Trust policy", owner=trust_owner),
        trust_owner,
    )
    client.force_login(trust_slt)
    few = query_count(client, "/")
    for n in range(10):
        bulk_staff(OrganisationFactory(name=f"Extra {n}", slug=f"extra-{n}", parent=trust, require_mfa=False), 2)
    services.sync_requests()
    many = query_count(client, "/")
    assert many == few
    page = client.get("/").content.decode()
    assert "Oak Trust" in page and "Extra 9" in page


def test_a_school_leader_downloads_the_evidence_of_a_trust_policy_for_their_own_staff(
    client, now, trust, school, other_school
):
    trust_owner = member(trust, Role.POLICY_OWNER)
    head = member(school, Role.LEAD)
    here, there = member(school, email="here@school.example"), member(other_school, email="there@school.example")
    policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust Social Media Policy", owner=trust_owner
    )
    version = publish(policy, trust_owner)
    for person in (here, there):
        services.acknowledge(user=person, version=version)
    client.force_login(head)
    assert (
        f"/policies/{policy.pk}/evidence.csv"
        in client.get(f"/organisations/{school.slug}/compliance/").content.decode()
    )
    rows = client.get(f"/policies/{policy.pk}/evidence.csv").content.decode("utf-8-sig")
    assert "here@school.example" in rows and "there@school.example" not in rows
    client.force_login(trust_owner)
    rows = client.get(f"/policies/{policy.pk}/evidence.csv").content.decode("utf-8-sig")
    assert "here@school.example" in rows and "there@school.example" in rows
    client.force_login(member(school, Role.LINE_MANAGER))
    assert client.get(f"/policies/{policy.pk}/evidence.csv").status_code == 403


def test_the_dashboard_cards_add_up_to_the_people_asked(client, now, school, policy, owner, slt):
    """Acknowledged + not yet due + overdue = asked: overdue is no longer counted inside "outstanding"."""
    import re

    people = [member(school, Role.STAFF) for _ in range(4)]
    version = publish(policy, owner)
    services.acknowledge(user=people[0], version=version)
    AcknowledgementRequest.objects.filter(user__in=people[1:3]).update(due_date=dt.date(2020, 1, 1))
    client.force_login(slt)
    page = client.get(f"/organisations/{school.slug}/compliance/").content.decode()
    cards = dict(
        (label.strip(), int(value))
        for value, label in re.findall(
            r'stat-value">(\d+)</span><span class="stat-label">(?:<svg.*?</svg>)?([^<]+)', page
        )
    )
    asked = AcknowledgementRequest.objects.count()
    assert (
        cards["acknowledged"] + cards["not yet due"] + cards["overdue"]
        == asked
        == int(re.search(r'stat-value">(\d+)</span><span class="stat-label">asked', page)[1])
    )
    assert cards["overdue"] == 2 and cards["acknowledged"] == 1
    due = client.get(f"/organisations/{school.slug}/compliance/people/?status=due").content.decode()
    assert "<title>Not yet due – Compliance – " in due
    listed = re.findall(r'class="cell-name"><span class="fw-semibold">([^<]+)</span>', due)
    assert len(listed) == cards["not yet due"] and people[3].full_name in listed


def test_the_reading_page_opens_with_what_is_asked_and_a_way_to_it(client, published, staff):
    client.force_login(staff)
    page = client.get(f"/policies/{published.policy_id}/").content.decode()
    top = page[page.index("<h1") : page.index('class="policy-facts"')]
    assert "acknowledge it by 16 March 2026" in top and 'href="#ack-title"' in top and 'id="ack-title"' in page

    QuizQuestion.objects.create(
        version=published, prompt="Who reads this?", choices=["Nobody", "Everyone"], correct_choice=1
    )
    page = client.get(f"/policies/{published.policy_id}/").content.decode()
    top = page[page.index("<h1") : page.index('class="policy-facts"')]
    assert "1 question checks your understanding" in top and 'href="#check"' in top and 'id="check"' in page


def test_a_quiz_sent_unanswered_comes_back_naming_the_question(client, published, staff):
    question = QuizQuestion.objects.create(
        version=published, prompt="Who reads this?", choices=["Nobody", "Everyone"], correct_choice=1
    )
    client.force_login(staff)
    response = client.post(f"/policies/versions/{published.pk}/quiz/", {})
    page = response.content.decode()
    assert response.status_code == 200 and "<title>Error: " in page
    assert f'href="#id_question-{question.pk}_0"' in page and "Select an answer to question 1" in page
    assert not published.quiz_attempts.exists()
