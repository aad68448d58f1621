"""Seed 004 §4.1: an account using the organisation's name that is not an approved site is reported
to the Senior Leadership and Safeguarding team. Public and staff reports alike tell SLT and the DSL
team at once; nobody named in the report is ever told."""

import pytest

from accounts.models import Role
from core.models import OutboxMessage
from incidents import public_reports, reminders
from incidents.models import Category
from tests.factories import member
from tests.incidents.conftest import SHOWN, report
from tests.mailbox import inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_slt(school):
    return member(school, Role.SLT, email="slt2@school.example")


@pytest.fixture
def third_slt(school):
    return member(school, Role.SLT, email="slt3@school.example")


def senior_alerts(incident) -> set:
    topic = reminders.topic(incident, reminders.SENIOR_LEADERS)
    return set(OutboxMessage.objects.filter(topic=topic).values_list("recipient", flat=True))


def test_a_public_report_of_an_unofficial_account_tells_slt_and_the_dsl_team(now, school, dsl, deputy, slt, staff):
    incident, _ = public_reports.report_publicly(
        organisation=school,
        category=Category.UNOFFICIAL_ACCOUNT,
        occurred_at=SHOWN,
        description="An account called oak_primary_news uses our badge.",
        public_reporter="parent",
    )
    assert inbox(dsl.email) and inbox(deputy.email)
    [to_slt] = inbox(slt.email)
    assert incident.reference in to_slt.subject and "an account that may be using our name" in to_slt.subject
    assert "oak_primary_news" not in to_slt.body and "senior leadership and safeguarding team" in to_slt.body
    assert "seed" not in to_slt.body.lower() and "004" not in to_slt.body
    assert not inbox(staff.email)
    assert senior_alerts(incident) == {slt.email}


def test_a_staff_report_tells_them_too_but_never_anyone_named(
    now, school, staff, dsl, deputy, slt, second_slt, third_slt, head
):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT, subjects=[slt], affected=[second_slt, deputy])
    assert inbox(third_slt.email) and inbox(head.email) and inbox(dsl.email)
    for named in (slt, second_slt, deputy):
        assert not inbox(named.email), named.email
    assert senior_alerts(incident) == {third_slt.email, head.email}


def test_an_unofficial_account_run_by_the_dsl_goes_to_the_lead_alone(now, school, staff, dsl, slt, head):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT, subjects=[dsl])
    assert incident.routed_to_lead
    # SLT may not open an allegation about the DSL: they are not told of it either.
    assert inbox(head.email) and not inbox(slt.email) and not inbox(dsl.email)
    assert senior_alerts(incident) == set()


def test_slt_hear_of_it_once(now, school, staff, dsl, slt):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT)
    assert reminders.alert_new_incident(incident.pk) == 0
    assert len(inbox(slt.email)) == 1


@pytest.mark.parametrize("category", [Category.OTHER, Category.CYBERBULLYING, Category.OFFICIAL_ACCOUNT_COMMENT])
def test_other_concerns_are_not_sent_to_slt_at_once(now, school, staff, dsl, slt, category):
    report(school, staff, category)
    assert inbox(dsl.email) and not inbox(slt.email)


def test_a_school_without_slt_tells_the_trust_s_slt(now, school, staff, dsl, trust_slt):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT)
    assert senior_alerts(incident) == {trust_slt.email}
