"""The acknowledgement tallies stay equal to a live count after every write that moves a request.

Each test makes one kind of move the way the portal makes it, then compares
every tally with a fresh count (``tallies.differences``) and the leaders'
dashboard figures with the same figures counted from the requests.
"""

import datetime as dt
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction

from accounts import services as staff
from accounts.models import Membership, Role, StaffType, User
from accounts.staff_import import import_staff
from policies import compliance, services, tallies
from policies.models import AcknowledgementRequest, AcknowledgementTally
from tests.factories import member

from .conftest import publish


@pytest.fixture
def trust_lead(trust):
    return member(trust, Role.LEAD, email="lead@trust.example")


@pytest.fixture
def trust_policy(trust, trust_lead):
    return services.create_policy(organisation=trust, actor=trust_lead, title="Trust Code of Conduct", owner=trust_lead)


@pytest.fixture
def staffed(now, school, other_school, trust_lead):
    """Eight people over two schools, two departments and two staff types; one due to leave."""
    people = []
    for i in range(8):
        people.append(
            member(
                school if i % 2 else other_school,
                email=f"teacher{i}@school.example",
                department="Maths" if i % 3 else "English",
                staff_type=StaffType.EMPLOYEE if i % 4 else StaffType.VOLUNTEER,
                leaving_date=dt.date(2026, 3, 20) if i == 5 else None,
            )
        )
    return people


@contextmanager
def counted():
    """Figures counted from the requests, as where no tallies are kept (``tallies.kept()`` False): the
    path line managers' figures always take."""
    kept = tallies.kept
    tallies.kept = lambda using=None: False
    try:
        yield
    finally:
        tallies.kept = kept


def live_dashboard(user, organisation, by, on=None):
    with counted():
        return compliance.dashboard(user, organisation, by, on)


def assert_right(user, organisations, on=None):
    """The tallies equal a fresh count, and every figure read from them (each breakdown of the dashboard,
    the rates by organisation) equals the same figure counted from the requests."""
    assert tallies.differences() == []
    for organisation in organisations:
        for by in compliance.BREAKDOWNS:
            assert compliance.dashboard(user, organisation, by, on) == live_dashboard(user, organisation, by, on)
        ids = organisation.family_ids
        from_tallies = compliance.rates_by_organisation(ids, on)
        with counted():
            assert from_tallies == compliance.rates_by_organisation(ids, on)


def test_every_breakdown_reads_the_same_from_the_tallies_as_counted_from_the_requests(
    staffed, trust, school, other_school, trust_policy, trust_lead, now
):
    """tallies.kept() is a matter of speed only: for every breakdown, on days before and after the due
    date and a leaving date, with some acknowledged, the figures are the same either way."""
    version = publish(trust_policy, trust_lead)
    for person in staffed[::3]:
        services.acknowledge(user=person, version=version)
    local = services.create_policy(
        organisation=school, actor=trust_lead, title="Oak Primary Addendum", owner=trust_lead
    )
    publish(local, trust_lead, due=dt.date(2026, 3, 10))
    for day in (dt.date(2026, 3, 2), dt.date(2026, 3, 15), dt.date(2026, 3, 25), dt.date(2026, 6, 1)):
        for organisation in (trust, school, other_school):
            for by in compliance.BREAKDOWNS:
                from_tallies = compliance.dashboard(trust_lead, organisation, by, day)
                assert from_tallies[0].total, (organisation, by, day)
                assert from_tallies == live_dashboard(trust_lead, organisation, by, day), (organisation, by, day)
        assert_right(trust_lead, [trust, school, other_school], day)


def test_publication_counts_everyone_asked(staffed, trust, school, trust_policy, trust_lead):
    publish(trust_policy, trust_lead)
    totals, versions, _ = compliance.dashboard(trust_lead, trust, "organisation")
    assert (totals.total, totals.acknowledged) == (9, 0)  # eight staff and the lead
    assert AcknowledgementTally.objects.exists()
    assert_right(trust_lead, [trust, school])


def test_acknowledging_moves_one_person_and_a_double_click_counts_once(
    staffed, trust, school, trust_policy, trust_lead
):
    version = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[1], version=version)
    services.acknowledge(user=staffed[1], version=version)
    totals, _, _ = compliance.dashboard(trust_lead, school, "department")
    assert (totals.total, totals.acknowledged) == (4, 1)
    assert_right(trust_lead, [trust, school])


def test_a_new_major_version_counts_only_its_own_requests(staffed, trust, school, trust_policy, trust_lead):
    first = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[0], version=first)
    publish(trust_policy, trust_lead, label="2", text="# Rules\n\nBe kinder online.")
    totals, versions, _ = compliance.dashboard(trust_lead, trust, "organisation")
    assert totals.acknowledged == 0 and [version.label for version, _ in versions] == ["2"]
    assert_right(trust_lead, [trust, school])


def test_staff_record_changes_move_their_requests(staffed, trust, school, other_school, trust_policy, trust_lead):
    version = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[2], version=version)
    membership = Membership.objects.get(user=staffed[2])
    staff.update_membership(
        membership=membership, actor=trust_lead, roles=[], department="Science", staff_type=StaffType.AGENCY
    )
    assert_right(trust_lead, [trust, school, other_school])
    # A bulk change (the admin's actions, a script) is caught too.
    Membership.objects.filter(organisation=school).update(department="Humanities", organisation=other_school)
    assert_right(trust_lead, [trust, school, other_school])


def test_the_staff_import_moves_departments_and_leavers(staffed, trust, school, trust_policy, trust_lead):
    publish(trust_policy, trust_lead)
    report = import_staff(
        organisation=school,
        data="Email,First name,Last name,Department,Staff type,Leaving date\n"
        "teacher1@school.example,Ann,Ash,Science,Agency,2026-03-10\n"
        "teacher3@school.example,Bob,Birch,Science,Employee,\n",
    )
    assert not report.errors
    moved = Membership.objects.get(user__email="teacher1@school.example")
    assert (moved.department, moved.staff_type, moved.leaving_date) == ("Science", "agency", dt.date(2026, 3, 10))
    assert_right(trust_lead, [trust, school])


def test_leavers_drop_out_as_the_days_pass(staffed, trust, school, other_school, trust_policy, trust_lead, now):
    publish(trust_policy, trust_lead)
    before, _, _ = compliance.dashboard(trust_lead, trust, "organisation")
    now.move_to(dt.datetime(2026, 3, 21, 9, tzinfo=dt.UTC), tick=False)
    after, _, _ = compliance.dashboard(trust_lead, trust, "organisation")
    assert after.total == before.total - 1
    assert after.overdue == after.total  # everyone still in post is past the due date
    assert_right(trust_lead, [trust, school, other_school])


def test_deactivating_and_reactivating_a_person(staffed, trust, school, trust_policy, trust_lead):
    version = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[3], version=version)
    User.objects.filter(pk=staffed[3].pk).update(is_active=False)
    totals, _, _ = compliance.dashboard(trust_lead, trust, "organisation")
    assert (totals.total, totals.acknowledged) == (8, 0)
    assert_right(trust_lead, [trust, school])
    person = User.objects.get(pk=staffed[3].pk)
    person.is_active = True
    person.save()
    assert_right(trust_lead, [trust, school])


def test_due_date_changes_and_deleted_requests(staffed, trust, school, trust_policy, trust_lead):
    version = publish(trust_policy, trust_lead)
    AcknowledgementRequest.objects.filter(user=staffed[4]).update(due_date=dt.date(2026, 2, 1))
    assert_right(trust_lead, [trust, school])
    AcknowledgementRequest.objects.filter(user=staffed[6], version=version).delete()
    assert_right(trust_lead, [trust, school])


def test_a_failed_transaction_leaves_the_tallies_as_they_were(staffed, trust, trust_policy, trust_lead):
    version = publish(trust_policy, trust_lead)
    before = list(AcknowledgementTally.objects.values_list("pk", "asked", "acknowledged_count").order_by("pk"))
    with pytest.raises(IntegrityError), transaction.atomic():
        AcknowledgementRequest.objects.filter(user=staffed[0]).update(due_date=dt.date(2026, 1, 1))
        request = AcknowledgementRequest.objects.get(user=staffed[1], version=version)
        AcknowledgementRequest.objects.create(  # a second request for the same person and version
            version=version,
            user=staffed[1],
            membership=request.membership,
            due_date=request.due_date,
            next_reminder_on=request.next_reminder_on,
        )
    assert list(AcknowledgementTally.objects.values_list("pk", "asked", "acknowledged_count").order_by("pk")) == before
    assert tallies.differences() == []


def test_the_reminder_sweep_moves_nothing(staffed, trust, trust_policy, trust_lead, settings):
    from policies.reminders import send_acknowledgement_reminders

    publish(trust_policy, trust_lead)
    before = list(AcknowledgementTally.objects.values_list("pk", "asked", "acknowledged_count").order_by("pk"))
    send_acknowledgement_reminders()
    assert list(AcknowledgementTally.objects.values_list("pk", "asked", "acknowledged_count").order_by("pk")) == before


def test_rebuild_counts_the_same_tallies(staffed, trust, school, trust_policy, trust_lead):
    version = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[1], version=version)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {tallies.TALLY} SET asked = asked + 5")  # a tally gone wrong
    assert tallies.differences()
    tallies.rebuild()
    assert_right(trust_lead, [trust, school])


def test_line_managers_still_see_only_their_team(staffed, school, trust_policy, trust_lead):
    manager = member(school, Role.LINE_MANAGER, email="manager@school.example")
    Membership.objects.filter(user__in=staffed[:3]).update(line_manager=manager)
    publish(trust_policy, trust_lead)
    totals, _, _ = compliance.dashboard(manager, school, "department")
    assert totals.total == Membership.objects.filter(user__in=staffed[:3], organisation=school).count()


def test_folding_keeps_the_figures_and_later_moves_stay_right(
    staffed, trust, school, other_school, trust_policy, trust_lead, now
):
    version = publish(trust_policy, trust_lead)
    services.acknowledge(user=staffed[1], version=version)
    now.move_to(dt.datetime(2026, 4, 20, 9, tzinfo=dt.UTC), tick=False)  # past the due date; one has left
    before = {by: compliance.dashboard(trust_lead, trust, by) for by in compliance.BREAKDOWNS}
    rows = AcknowledgementTally.objects.count()
    past_due = AcknowledgementTally.objects.filter(due_date__lt=dt.date(2026, 4, 20), leaving_date__isnull=True)
    folded_groups = past_due.values("version", "organisation", "breakdown", "name").distinct().count()
    # The leaver's three rows (organisation, department, staff type) go; past-due rows fold.
    assert tallies.fold() == {"removed": 3, "folded": folded_groups}
    assert AcknowledgementTally.objects.count() < rows
    assert {by: compliance.dashboard(trust_lead, trust, by) for by in compliance.BREAKDOWNS} == before
    assert_right(trust_lead, [trust, school, other_school])
    # Moves after the fold: an acknowledgement, a leaver who comes back, a change of department.
    services.acknowledge(user=staffed[2], version=version)
    Membership.objects.filter(user=staffed[5]).update(leaving_date=None)
    Membership.objects.filter(user=staffed[7]).update(department="Art")
    assert_right(trust_lead, [trust, school, other_school])


def test_the_daily_duty_folds_the_tallies(celery_eager, staffed, trust_policy, trust_lead, now):
    from policies.tasks import fold_tallies

    publish(trust_policy, trust_lead)
    now.move_to(dt.datetime(2026, 4, 20, 9, tzinfo=dt.UTC), tick=False)
    assert fold_tallies.delay().get()["folded"] > 0
    assert tallies.differences() == []


def test_the_check_command_reports_and_repairs_a_tally_gone_wrong(staffed, trust_policy, trust_lead):
    from django.core.management import CommandError, call_command

    publish(trust_policy, trust_lead)
    call_command("check_tallies")  # agrees: no error
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {tallies.TALLY} SET acknowledged_count = acknowledged_count + 1")
    with pytest.raises(CommandError, match="differ from a fresh count"):
        call_command("check_tallies")
    call_command("check_tallies", "--repair")
    assert tallies.differences() == []
