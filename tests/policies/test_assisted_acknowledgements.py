"""Assisted acknowledgements (issue 14): staff without a work email or device are in scope (seed 000
§2, 002 §3); they sign for a policy on paper or at a shared device, their line manager or an
administrator records it, and every figure and export says it was assisted."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Membership, Role
from accounts.roles import RoleChangeRefused, change_roles
from accounts.services import StaffError, add_person_without_email, resend_invitation
from core.models import AuditEntry, OutboxMessage
from policies import compliance, reminders
from policies.assisted import open_requests_of, record_assisted_acknowledgement
from policies.models import Acknowledgement
from policies.services import PolicyError
from tests.factories import member
from tests.policies.conftest import START, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


@pytest.fixture
def manager(now, school):
    return member(school, Role.LINE_MANAGER, email="manager@school.example")


@pytest.fixture
def cleaner(school, manager):
    """Pat, a cleaner with no email address, in Morgan's team."""
    return add_person_without_email(
        organisation=school,
        actor=None,
        first_name="Pat",
        last_name="Lowe",
        job_title="Cleaner",
        department="Operations",
        line_manager=manager,
    )


@pytest.fixture
def version(now, policy, owner, cleaner):
    return publish(policy, owner, due=START.date() + dt.timedelta(days=14))


def sheet_png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    return SimpleUploadedFile("signed sheet.png", buffer.getvalue(), content_type="image/png")


def record(actor, membership, **fields):
    values = {
        "method": "paper",
        "made_on": START.date(),
        "request_ids": [r.pk for r in open_requests_of(membership)],
        **fields,
    }
    return record_assisted_acknowledgement(actor=actor, membership=membership, **values)


def test_a_person_without_email_is_asked_like_everyone_and_cannot_sign_in(cleaner, version):
    person = cleaner.user
    assert person.email is None and not person.has_usable_password()
    assert [r.version for r in open_requests_of(cleaner)] == [version]
    assert AuditEntry.objects.filter(action="staff.added_without_email").count() == 1
    # Only the staff role: nobody with privileges can be someone who never signs in.
    with pytest.raises(RoleChangeRefused, match="no email address"):
        change_roles(membership=cleaner, roles=[Role.DSL], actor=None, via="a test")
    with pytest.raises(StaffError, match="no invitation"):
        resend_invitation(cleaner)


def test_the_line_manager_records_a_paper_acknowledgement_and_every_figure_counts_it_as_assisted(
    client, school, manager, cleaner, version, slt
):
    [ack] = record(manager, cleaner, signed_sheet=sheet_png())
    assert ack.method == "paper" and ack.recorded_by == manager and ack.user == cleaner.user
    assert ack.is_assisted and ack.how() == f"On paper, recorded by {manager}"
    assert ack.content_sha256 == version.content_sha256
    assert ack.signed_sheet.name.startswith(f"signed-sheets/{cleaner.user_id}/") and ack.signed_sheet_sha256
    assert ack.signed_sheet.read().startswith(b"\x89PNG")  # re-encoded, kept privately
    entry = AuditEntry.objects.get(action="policy.acknowledgement_recorded")
    assert entry.actor == manager and entry.details["method"] == "paper" and entry.details["signed_sheet"]

    # The line manager's figures (counted from the requests) and SLT's (from the tallies).
    for viewer in (manager, slt):
        totals, by_version, breakdown = compliance.dashboard(viewer, school, "department")
        assert totals.assisted == 1 and totals.acknowledged >= 1
        assert dict((v.pk, f.assisted) for v, f in by_version)[version.pk] == 1
        assert {label: f.assisted for _, label, f in breakdown}["Operations"] == 1
    assert compliance.rates_by_organisation([school.pk])[school.pk].assisted == 1

    client.force_login(slt)
    page = client.get(f"/organisations/{school.slug}/compliance/").content.decode()
    assert "acknowledged, 1 of them assisted" in page and "1 assisted</a>" in page
    people = client.get(f"/organisations/{school.slug}/compliance/people/?status=assisted").content.decode()
    assert "Pat Lowe" in people and "recorded by" in people
    rows = list(
        csv.reader(
            io.StringIO(client.get(f"/organisations/{school.slug}/compliance/export.csv").content.decode("utf-8-sig"))
        )
    )
    pat = next(row for row in rows if row[0] == "Pat Lowe")
    assert pat[8] == "Acknowledged" and pat[-1] == f"Assisted: on paper, recorded by {manager}"
    assert pat[1] == "" and pat[-2] == "2026-03-02"  # no address; the day they signed


def test_a_double_submission_keeps_one_acknowledgement(manager, cleaner, version):
    first = record(manager, cleaner)
    again = record(manager, cleaner, request_ids=[r.pk for r in cleaner.acknowledgement_requests.all()])
    assert [a.pk for a in again] == [a.pk for a in first]
    assert Acknowledgement.objects.filter(user=cleaner.user).count() == 1
    assert AuditEntry.objects.filter(action="policy.acknowledgement_recorded").count() == 1


def test_an_administrator_of_the_school_or_its_trust_may_record(school, trust, cleaner, version):
    record(member(trust, Role.ADMIN, email="trust.admin@school.example"), cleaner)
    assert Acknowledgement.objects.filter(user=cleaner.user, method="paper").count() == 1


@pytest.mark.parametrize(
    "who",
    ["plain staff", "another team's manager", "SLT", "a manager elsewhere", "the person with an address"],
)
def test_nobody_else_may_record_and_nothing_is_kept(who, school, other_school, manager, cleaner, version, slt):
    actor, membership = {
        "plain staff": lambda: (member(school, email="staff@school.example"), cleaner),
        "another team's manager": lambda: (member(school, Role.LINE_MANAGER, email="lm2@school.example"), cleaner),
        "SLT": lambda: (slt, cleaner),
        "a manager elsewhere": lambda: (
            member(other_school, Role.LINE_MANAGER, Role.ADMIN, email="x@ash.example"),
            cleaner,
        ),
        # Someone who can sign in acknowledges for themselves: their manager cannot do it for them.
        "the person with an address": lambda: (
            manager,
            Membership.objects.get(user=member(school, email="ada@school.example", line_manager=manager)),
        ),
    }[who]()
    if who == "the person with an address":
        from policies.services import sync_requests

        sync_requests()
    with pytest.raises(PolicyError, match="Only their line manager or an administrator"):
        record(actor, membership)
    assert not Acknowledgement.objects.filter(method="paper").exists()


def test_a_person_who_has_left_cannot_be_recorded_for(manager, cleaner, version):
    Membership.objects.filter(pk=cleaner.pk).update(leaving_date=START.date() - dt.timedelta(days=1))
    cleaner.refresh_from_db()
    with pytest.raises(PolicyError):
        record(manager, cleaner)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"made_on": START.date() + dt.timedelta(days=1)}, "cannot be in the future"),
        ({"made_on": START.date() - dt.timedelta(days=1)}, "cannot be earlier"),
        ({"method": "signed_in"}, "Choose how they acknowledged"),
        ({"request_ids": []}, "Choose at least one policy"),
        (
            {"signed_sheet": SimpleUploadedFile("sheet.png", b"not really an image", content_type="image/png")},
            "is not a PNG, JPEG, WebP or PDF file",
        ),
    ],
)
def test_bad_input_says_why_and_changes_nothing(fields, message, manager, cleaner, version):
    with pytest.raises(PolicyError, match=message):
        record(manager, cleaner, **fields)
    assert not Acknowledgement.objects.filter(user=cleaner.user).exists()
    assert open_requests_of(cleaner).count() == 1


def test_no_reminder_is_written_to_a_person_without_an_address(manager, cleaner, version):
    day = START.date() + dt.timedelta(days=30)
    reminders.remind_people([cleaner.user_id], day)
    assert not OutboxMessage.objects.filter(topic__startswith=f"policies.digest:{cleaner.user_id}:").exists()
    # Their line manager hears they are overdue, as for anyone in the team (002 §3).
    assert reminders.tell_managers([manager.pk], day) == 1
    [told] = [m for m in OutboxMessage.objects.all() if m.topic.startswith("policies.team-overdue:")]
    assert "Pat Lowe" in told.text


def test_the_recording_page_is_the_manager_s_alone(client, school, manager, cleaner, version, slt):
    url = f"/policies/staff/{cleaner.pk}/record-acknowledgement/"
    client.force_login(slt)
    assert client.get(url).status_code == 404
    client.force_login(manager)
    page = client.get(url)
    assert page.status_code == 200 and "Record an acknowledgement for Pat Lowe" in page.content.decode()
    request_pk = open_requests_of(cleaner).get().pk
    # Without the confirmation: the error summary, nothing kept.
    sent = client.post(url, {"requests": [request_pk], "method": "paper", "made_on": "2026-03-02"})
    assert sent.status_code == 200 and "There is a problem" in sent.content.decode()
    assert "Confirm that they read and signed" in sent.content.decode()
    assert not Acknowledgement.objects.exists()
    done = client.post(
        url, {"requests": [request_pk], "method": "shared_device", "made_on": "2026-03-02", "confirm": "on"}
    )
    assert done.status_code == 302
    assert Acknowledgement.objects.get(user=cleaner.user).method == "shared_device"


def test_the_administrator_adds_someone_without_an_email(client, school, school_admin, manager):
    client.force_login(school_admin)
    url = f"/organisations/{school.slug}/staff/add-without-email/"
    empty = client.post(url, {"first_name": ""}).content.decode()
    assert "There is a problem" in empty, empty
    assert "Enter the person&#x27;s first name" in empty
    sent = client.post(
        url,
        {"first_name": "Sue", "last_name": "Barker", "staff_type": "employee", "line_manager": manager.pk},
    )
    assert sent.status_code == 302
    membership = Membership.objects.get(user__first_name="Sue", user__email=None)
    assert membership.line_manager == manager and membership.roles == {Role.STAFF}
    listed = client.get(f"/organisations/{school.slug}/staff/").content.decode()
    assert "No email: acknowledgements recorded for them" in listed


def test_the_signed_sheet_downloads_for_those_who_see_the_acknowledgement_alone(
    client, school, other_school, trust, manager, cleaner, version, slt, school_admin
):
    [ack] = record(manager, cleaner, signed_sheet=sheet_png())
    url = f"/policies/acknowledgements/{ack.pk}/signed-sheet/"
    other_school.require_mfa = False
    other_school.save()
    for viewer in (manager, slt, school_admin):
        client.force_login(viewer)
        response = client.get(url)
        assert response.status_code == 200, viewer
        assert response["Content-Type"] == "application/octet-stream"
        assert response["X-Content-Type-Options"] == "nosniff" and "attachment" in response["Content-Disposition"]
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    for outsider in (
        member(school, email="staff@school.example"),
        member(school, Role.LINE_MANAGER, email="lm2@school.example"),
        member(other_school, Role.SLT, Role.ADMIN, email="x@ash.example"),
    ):
        client.force_login(outsider)
        assert client.get(url).status_code == 404, outsider
