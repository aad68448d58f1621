"""Training SLT can be satisfied with (seed 001 §4): SLT and administrators see, search and page
the training of everyone they decide for, choose whom to record for by search, and the register
flags teams whose training lapses or is about to."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from approvals import errors, queries, services, training
from approvals.models import TrainingRecord
from tests.approvals.conftest import START, submitted_request
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(now, school, trust, other_school):
    for org in (school, trust, other_school):
        org.require_mfa = False
        org.save()


def named(organisation, first_name="Pat", last_name="Person", *, email, roles=()):
    """A member of staff with the name given (``member`` names them at random)."""
    user = member(organisation, *roles, email=email)
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])
    return user


def self_declared(user, course="Social media for staff", expires_on=dt.date(2028, 2, 1)):
    return training.record_training(
        user=user, actor=user, course=course, completed_on=dt.date(2026, 2, 1), expires_on=expires_on
    )


def page_of(client, **params):
    response = client.get("/approvals/training/", params)
    assert response.status_code == 200
    return response


# The gate
# ------------------------------------------------------------------------------


def test_unverified_training_is_refused_by_the_gate_with_the_reason(client, school, staff, runner, slt, smp):
    from policies import services as policy_services

    smp.refresh_from_db()
    policy_services.acknowledge(user=runner, version=smp.acknowledgement_version)
    self_declared(runner)
    request = submitted_request(school, staff, [runner])
    client.force_login(slt)
    response = client.post(f"/approvals/requests/{request.pk}/decide/", {"kind": "approve"}, follow=True)
    page = response.content.decode()
    assert "Approval refused." in page
    assert (
        f"{runner.full_name} has an in-date social-media training record that no administrator or SLT member "
        "has verified yet." in page
    )
    request.refresh_from_db()
    assert request.status == "submitted" and not request.decisions.exists()
    # The page that lists training says the record does not count yet.
    assert "does not count yet" in page_of(client, q=runner.last_name).content.decode()


def test_self_declared_training_with_a_certificate_still_waits_for_verification(school, staff, runner, slt, smp):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from policies import services as policy_services

    smp.refresh_from_db()
    policy_services.acknowledge(user=runner, version=smp.acknowledgement_version)
    pdf = SimpleUploadedFile("c.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
    record = training.record_training(
        user=runner,
        actor=runner,
        course="c",
        completed_on=dt.date(2026, 2, 1),
        expires_on=dt.date(2028, 2, 1),
        evidence=pdf,
    )
    assert record.evidence and not record.is_verified
    with pytest.raises(errors.ApprovalRefused, match="no administrator or SLT member has verified"):
        services.decide(account_request=submitted_request(school, staff, [runner]), decider=slt, kind="approve")


# Seeing, searching and paging
# ------------------------------------------------------------------------------


def test_slt_search_their_staffs_training_by_name_and_see_no_one_elses(client, school, slt, outside_school):
    alice = named(school, "Alice", "Grant", email="alice@school.example")
    bob = named(school, "Bob", "Hughes", email="bob@school.example")
    stranger = named(outside_school, "Alice", "Stranger", email="alice@elm.example")
    for person in (alice, bob, stranger):
        self_declared(person)
    client.force_login(slt)
    page = page_of(client, q="alice").content.decode()
    staff_section = page.split("Your staff's training", 1)[1].split("Your own training", 1)[0]
    assert "Alice Grant" in staff_section and "Bob Hughes" not in staff_section
    assert "Stranger" not in page
    assert "1 record matches" in staff_section
    # SLT verify from the list.
    assert f"/approvals/training/{TrainingRecord.objects.get(user=alice).pk}/verify/" in staff_section


def test_a_trust_leader_sees_the_training_of_the_member_schools_staff(client, trust, school, other_school):
    trust_slt = member(trust, Role.SLT, email="ceo@trust.example")
    teacher = named(other_school, "Carys", "Jones", email="carys@ash.example")
    self_declared(teacher)
    client.force_login(trust_slt)
    assert "Carys Jones" in page_of(client).content.decode()
    assert training.can_verify_training_of(trust_slt, teacher)


def test_records_come_25_to_a_page_in_the_same_queries_however_many(client, school, slt):
    def queries_for_page():
        with CaptureQueriesContext(connection) as ctx:
            page_of(client)
        return len(ctx.captured_queries)

    client.force_login(slt)
    for n in range(3):
        self_declared(named(school, "Pat", f"Aa{n:02}", email=f"a{n}@school.example"))
    few = queries_for_page()
    for n in range(3, 40):
        self_declared(named(school, "Pat", f"Aa{n:02}", email=f"a{n}@school.example"))
    assert queries_for_page() == few
    first = page_of(client).content.decode()
    assert "Page 1 of 2" in first and "Aa24" in first and "Aa25" not in first
    second = page_of(client, page=2).content.decode()
    assert "Aa25" in second and "Aa39" in second


def test_the_list_filters_by_where_records_stand(client, school, slt, school_admin):
    waiting = named(school, "Wendy", "Waiting", email="w@school.example")
    soon = named(school, "Sam", "Soon", email="s@school.example")
    gone = named(school, "Gina", "Gone", email="g@school.example")
    self_declared(waiting)
    training.record_training(
        user=soon, actor=school_admin, course="c", completed_on=dt.date(2024, 5, 1), expires_on=dt.date(2026, 4, 20)
    )
    TrainingRecord.objects.create(
        user=gone, course="c", completed_on=dt.date(2023, 1, 1), expires_on=dt.date(2025, 1, 1), recorded_by=gone
    )
    client.force_login(slt)

    def listed(status):
        page = page_of(client, status=status).content.decode()
        return {n for n in ("Wendy", "Sam", "Gina") if n in page.split("Your own training")[0]}

    assert listed("unverified") == {"Wendy"}
    assert listed("expiring") == {"Sam"}
    assert listed("expired") == {"Gina"}
    assert listed("") == {"Wendy", "Sam", "Gina"}
    assert "Expires soon" in page_of(client, status="expiring").content.decode()


def test_plain_staff_see_their_own_training_alone(client, school, staff):
    colleague = named(school, "Colin", "League", email="colin@school.example")
    self_declared(colleague)
    self_declared(staff, course="My own course")
    client.force_login(staff)
    page = page_of(client, q="Colin", who="Colin").content.decode()
    assert "My own course" in page and "Colin" not in page.replace('value="Colin"', "")
    assert "Your staff's training" not in page


# Recording for someone found by search
# ------------------------------------------------------------------------------


def test_slt_find_the_person_to_record_for_by_search_and_it_counts_at_once(client, school, slt):
    lucy = named(school, "Lucy", "Evans", email="l.evans@school.example")
    client.force_login(slt)
    page = page_of(client, who="evans").content.decode()
    assert f'href="?for={lucy.pk}#record"' in page and "Record training for Lucy Evans" in page
    assert "<select" not in page.split('id="record"', 1)[1].split("</form>", 2)[1]  # no select box of staff
    page = page_of(client, **{"for": lucy.pk}).content.decode()
    assert "Record training for Lucy Evans" in page
    response = client.post(
        "/approvals/training/",
        {"person": lucy.pk, "course": "Online safety", "completed_on": "2026-02-01", "expires_on": "2028-02-01"},
    )
    assert response.status_code == 302
    record = TrainingRecord.objects.get(user=lucy)
    assert (record.recorded_by, record.verified_by, record.verified_at) == (slt, slt, START)


def test_nobody_records_for_someone_they_do_not_oversee(client, school, slt, outside_school):
    stranger = named(outside_school, "Zed", "Stranger", email="zed@elm.example")
    client.force_login(slt)
    page = page_of(client, **{"for": stranger.pk}, who="Stranger").content.decode()
    assert "Zed" not in page.replace('value="Stranger"', "") and "Record training for yourself" in page
    response = client.post(
        "/approvals/training/",
        {"person": stranger.pk, "course": "c", "completed_on": "2026-02-01", "expires_on": "2028-02-01"},
    )
    assert response.status_code == 200 and "you can record training for your own staff" in response.content.decode()
    assert not TrainingRecord.objects.exists()


def test_a_search_for_many_people_shows_twenty_and_says_there_are_more(client, school, slt):
    for n in range(25):
        named(school, "Pat", f"Smith{n:02}", email=f"smith{n}@school.example")
    client.force_login(slt)
    page = page_of(client, who="smith").content.decode()
    assert page.count("Record training for ") - page.count("Record training for yourself") == 20
    assert "More people match" in page


# The register flags training that lapses
# ------------------------------------------------------------------------------


def test_the_register_flags_a_team_whose_training_expires_soon_or_has_lapsed(client, school, account, runner, slt):
    client.force_login(slt)
    url = f"/organisations/{school.slug}/accounts/"
    assert "Training" not in client.get(url).content.decode().split("<tbody>", 1)[1]
    runner.training_records.update(expires_on=dt.date(2026, 4, 15))  # within 60 days of 2 March
    assert "Training expires soon: 1 of the team" in client.get(url).content.decode()
    runner.training_records.update(expires_on=dt.date(2026, 3, 1))
    assert "Training lapsed: 1 of the team" in client.get(url).content.decode()
    # An unverified newer record does not lift the flag: it does not count for the gate either.
    self_declared(runner)
    assert "Training lapsed: 1 of the team" in client.get(url).content.decode()


def test_the_flags_are_part_of_the_registers_one_query(school, account, runner):
    with CaptureQueriesContext(connection) as ctx:
        rows = list(queries.register(school))
    # The organisation's family (one query), then the accounts with their counts and flags (one).
    assert len(ctx.captured_queries) == 2
    assert (rows[0].training_lapsed, rows[0].training_expiring) == (0, 0)
    assert timezone.now() == START
