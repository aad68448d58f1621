import pytest

from approvals.models import AccountRequest, RequestStatus, TrainingRecord
from tests.approvals.conftest import BUSINESS_CASE, make_ready, submitted_request
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, outside_school, other_school):
    for org in (school, trust, outside_school, other_school):
        org.require_mfa = False
        org.save()


def test_staff_submit_a_request_through_the_pages(client, school, staff, runner):
    client.force_login(staff)
    data = {**BUSINESS_CASE, "lead": runner.pk, "others": [staff.pk]}
    response = client.post(f"/organisations/{school.slug}/requests/new/", data)
    request = AccountRequest.objects.get()
    assert response["Location"] == f"/approvals/requests/{request.pk}/"
    assert {(r.user_id, r.is_lead) for r in request.runners.all()} == {(runner.pk, True), (staff.pk, False)}
    client.post(f"/approvals/requests/{request.pk}/submit/")
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_a_missing_point_is_shown_and_nothing_is_saved(client, school, staff, runner):
    client.force_login(staff)
    response = client.post(
        f"/organisations/{school.slug}/requests/new/", {**BUSINESS_CASE, "aim": "", "lead": runner.pk}
    )
    assert response.status_code == 200 and "Enter the aim of the account" in response.content.decode()
    assert not AccountRequest.objects.exists()


def test_an_off_domain_email_is_shown_and_nothing_is_saved(client, school, staff, runner):
    client.force_login(staff)
    response = client.post(
        f"/organisations/{school.slug}/requests/new/",
        {**BUSINESS_CASE, "official_email": "x@hotmail.example", "lead": runner.pk},
    )
    assert "must be on one of Oak Primary" in response.content.decode()
    assert not AccountRequest.objects.exists()


def test_slt_is_refused_approval_with_the_reason_shown(client, school, staff, runner, slt, smp):
    request = submitted_request(school, staff, [runner])
    client.force_login(slt)
    response = client.post(f"/approvals/requests/{request.pk}/decide/", {"kind": "approve"}, follow=True)
    page = response.content.decode()
    assert "Approval refused" in page and "has no in-date social-media training record" in page
    make_ready(runner, smp)
    response = client.post(f"/approvals/requests/{request.pk}/decide/", {"kind": "approve"}, follow=True)
    assert "now approved" in response.content.decode()


def test_requests_are_hidden_from_other_staff_and_outsiders(client, school, staff, runner, outsider):
    request = submitted_request(school, staff, [runner])
    other = member(school)
    for person in (other, outsider):
        client.force_login(person)
        assert client.get(f"/approvals/requests/{request.pk}/").status_code == 404


def test_decisions_need_post(client, school, staff, runner, slt):
    request = submitted_request(school, staff, [runner])
    client.force_login(slt)
    assert client.get(f"/approvals/requests/{request.pk}/decide/").status_code == 405


def test_credentials_are_never_shown_to_other_roles(client, account, school, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = "yS6cfA3wO8O2V6Mr3W0Pqk8m1rT4Jt3nKcZ9m7p0u1E="
    online_safety = member(school, "online_safety")
    client.force_login(online_safety)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert client.post(f"/approvals/accounts/{account.pk}/credentials/reveal/").status_code == 403


@pytest.mark.parametrize(
    "who,register,account_page,log_page",
    [
        ("staff", 403, 404, 404),
        ("runner", 403, 200, 200),
        ("slt", 200, 200, 200),
        ("school_admin", 200, 200, 200),
        ("outsider", 404, 404, 404),
    ],
)
def test_who_sees_the_register_and_an_account(client, request, school, account, who, register, account_page, log_page):
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/organisations/{school.slug}/accounts/").status_code == register
    assert client.get(f"/approvals/accounts/{account.pk}/").status_code == account_page
    assert client.get(f"/approvals/accounts/{account.pk}/log/").status_code == log_page


def test_only_the_team_logs_and_answers(client, account, runner, slt):
    client.force_login(slt)
    response = client.post(
        f"/approvals/accounts/{account.pk}/log/", {"kind": "query", "received_at": "2026-03-02T08:00", "summary": "x"}
    )
    assert response.status_code == 403
    client.force_login(runner)
    response = client.post(
        f"/approvals/accounts/{account.pk}/log/",
        {"kind": "query", "received_at": "2026-03-02T08:00", "summary": "When is sports day?"},
    )
    assert response.status_code == 302
    item = account.items.get()
    client.post(f"/approvals/items/{item.pk}/answer/", {"response": "Friday 12 June."})
    item.refresh_from_db()
    assert item.answered_by == runner


def test_a_person_records_their_own_training(client, staff):
    client.force_login(staff)
    response = client.post(
        "/approvals/training/",
        {"person": staff.pk, "course": "Online safety", "completed_on": "2026-02-01", "expires_on": "2028-02-01"},
    )
    assert response.status_code == 302 and TrainingRecord.objects.get().user == staff


def test_plain_staff_cannot_record_training_for_others(client, staff, slt):
    client.force_login(staff)
    response = client.post(
        "/approvals/training/",
        {"person": slt.pk, "course": "x", "completed_on": "2026-02-01", "expires_on": "2028-02-01"},
    )
    assert response.status_code == 200 and not TrainingRecord.objects.exists()


def test_training_evidence_must_really_be_a_pdf_or_image(client, staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(staff)
    fake = SimpleUploadedFile("certificate.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    data = {
        "person": staff.pk,
        "course": "c",
        "completed_on": "2026-02-01",
        "expires_on": "2028-02-01",
        "evidence": fake,
    }
    response = client.post("/approvals/training/", data)
    assert "is not a PNG, JPEG, WebP or PDF file" in response.content.decode()
    assert not TrainingRecord.objects.exists()


def test_a_leaver_loses_their_place_on_an_accounts_team(client, account, runner):
    import datetime as dt

    runner.memberships.update(leaving_date=dt.date.today() - dt.timedelta(days=1))
    from approvals.access import account_role

    assert account_role(runner, account) is None
