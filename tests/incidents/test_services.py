import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from core.models import AuditEntry, RecordImmutable
from incidents import breaches, retention, services
from incidents.models import (
    ActionKind,
    Category,
    Evidence,
    Incident,
    IncidentAction,
    Outcome,
    RetentionDecision,
    Status,
)
from incidents.services import IncidentError
from tests.factories import member
from tests.incidents.conftest import SHOWN, report, triaged, upload

pytestmark = pytest.mark.django_db


def test_a_report_gets_a_reference_a_24_hour_deadline_and_an_audit_entry(now, school, staff):
    incident = report(school, staff)
    assert re.fullmatch(r"INC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", incident.reference)
    assert incident.status == Status.NEW
    assert incident.triage_due_at == dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert report(school, staff).reference != incident.reference
    assert AuditEntry.objects.filter(action="incident.reported", actor=staff).count() == 2


def test_safeguarding_starts_from_the_category(now, school, staff):
    assert report(school, staff, Category.PUPIL_CONTACT).is_safeguarding
    assert not report(school, staff, Category.UNOFFICIAL_ACCOUNT).is_safeguarding


def test_an_allegation_about_a_dsl_goes_to_the_lead(now, school, staff, dsl, deputy):
    incident = report(school, staff, Category.STAFF_BREACH, subjects=[deputy])
    assert incident.routed_to_lead
    # a DSL who was abused is not the subject of an allegation
    assert not report(school, staff, Category.ABUSE_OF_STAFF, affected=[dsl]).routed_to_lead


def test_it_refuses_a_date_in_the_future_and_saves_nothing(now, school, staff):
    with pytest.raises(IncidentError, match="cannot be in the future"):
        report(school, staff, occurred_at=dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC))
    assert not Incident.objects.exists()


def test_it_refuses_naming_someone_outside_the_organisation(now, school, staff, outsider):
    with pytest.raises(IncidentError, match="current members of staff"):
        report(school, staff, subjects=[outsider])
    assert not Incident.objects.exists()


def test_it_refuses_any_file_for_nude_imagery_and_explains_why(now, school, staff):
    with pytest.raises(IncidentError, match="UKCIS"):
        report(school, staff, Category.NUDE_IMAGERY, files=[(upload(), SHOWN)])
    assert not Incident.objects.exists() and not Evidence.objects.exists()
    incident = report(school, staff, Category.NUDE_IMAGERY, description="A pupil said an image is being shared.")
    with pytest.raises(IncidentError, match="UKCIS"):
        services.add_evidence(incident=incident, actor=staff, files=[(upload(), SHOWN)])


def test_triage_moves_it_to_triaged_and_writes_the_chronology(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl, severity="high")
    assert incident.status == Status.TRIAGED and incident.triaged_by == dsl and incident.severity == "high"
    entry = incident.actions.get()
    assert entry.kind == ActionKind.TRIAGE and "Severity high" in entry.text


def test_only_the_dsl_team_triages(now, school, staff, slt, head):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT)
    for person in (slt, head, staff):
        with pytest.raises(PermissionDenied):
            triaged(incident, person)
    assert Incident.objects.get().status == Status.NEW


def test_the_lead_triages_an_allegation_about_a_dsl(now, school, staff, dsl, deputy, head):
    incident = report(school, staff, Category.STAFF_BREACH, subjects=[dsl])
    with pytest.raises(PermissionDenied):
        triaged(incident, deputy)
    assert triaged(incident, head).status == Status.TRIAGED


def test_the_assignee_must_be_able_to_see_the_case(now, school, staff, dsl, slt, colleague):
    incident = report(school, staff, Category.PUPIL_CONTACT)
    with pytest.raises(IncidentError, match="may not see it"):
        triaged(incident, dsl, assignee=slt)  # safeguarding: SLT may not see it
    with pytest.raises(IncidentError, match="may not see it"):
        triaged(incident, dsl, assignee=colleague)
    assert Incident.objects.get().status == Status.NEW


def test_a_referral_moves_the_case_to_referred(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.record_action(incident=incident, actor=dsl, kind="meeting", happened_at=SHOWN, text="Met the parent.")
    assert Incident.objects.get().status == Status.IN_PROGRESS
    services.record_action(
        incident=incident, actor=dsl, kind="police", happened_at=SHOWN, text="Reported.", external_reference="CR/1"
    )
    assert Incident.objects.get().status == Status.REFERRED


def test_actions_wait_for_triage(now, school, staff, dsl):
    incident = report(school, staff)
    with pytest.raises(IncidentError, match="Triage the incident"):
        services.record_action(incident=incident, actor=dsl, kind="note", happened_at=SHOWN, text="x")
    assert not IncidentAction.objects.exists()


def test_the_chronology_is_append_only_and_corrections_are_addenda(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    entry = services.record_action(incident=incident, actor=dsl, kind="note", happened_at=SHOWN, text="Met Mr X.")
    with pytest.raises(RecordImmutable):
        entry.text = "changed"
        entry.save()
    with pytest.raises(RecordImmutable):
        IncidentAction.objects.filter(pk=entry.pk).update(text="changed")
    with pytest.raises(RecordImmutable):
        entry.delete()
    addendum = services.record_action(
        incident=incident, actor=dsl, kind="note", happened_at=SHOWN, text="It was Mr Y.", corrects=entry
    )
    assert addendum.kind == ActionKind.ADDENDUM and IncidentAction.objects.get(pk=entry.pk).text == "Met Mr X."


def test_a_lado_referral_is_due_within_one_working_day(now, school, staff, dsl):
    incident = triaged(report(school, staff, Category.STAFF_BREACH), dsl, lado_referral_needed=True)
    # Triaged Monday 09:00: due at closing time (17:00) on Tuesday.
    assert incident.lado_due_at == dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    services.record_action(incident=incident, actor=dsl, kind="lado", happened_at=SHOWN, text="Referred to the LADO.")
    assert Incident.objects.get().lado_referred_at == SHOWN


@pytest.mark.parametrize(
    ("start", "to"),
    [(Status.NEW, Status.IN_PROGRESS), (Status.NEW, Status.REFERRED), (Status.TRIAGED, Status.TRIAGED)],
)
def test_a_move_the_status_does_not_allow_is_refused(now, school, staff, dsl, start, to):
    incident = report(school, staff)
    if start == Status.TRIAGED:
        incident = triaged(incident, dsl)
    with pytest.raises(IncidentError, match="cannot move"):
        services.move_status(incident=incident, actor=dsl, to=to)
    assert Incident.objects.get().status == start


def test_closing_needs_triage_an_outcome_and_a_reason_for_no_action(now, school, staff, dsl):
    incident = report(school, staff)
    with pytest.raises(IncidentError, match="Triage the incident before closing"):
        services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    triaged(incident, dsl)
    with pytest.raises(IncidentError, match="needs a reason"):
        services.close_incident(incident=incident, actor=dsl, outcome=Outcome.NO_FURTHER_ACTION)
    closed = services.close_incident(
        incident=incident, actor=dsl, outcome=Outcome.NO_FURTHER_ACTION, reason="Post removed by the parent."
    )
    assert closed.status == Status.CLOSED and closed.retention_review_on == dt.date(2032, 3, 2)
    with pytest.raises(IncidentError, match="already closed"):
        services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)


def test_reopening_needs_a_reason(now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    with pytest.raises(IncidentError, match="Say why"):
        services.reopen_incident(incident=incident, actor=dsl, reason=" ")
    reopened = services.reopen_incident(incident=incident, actor=dsl, reason="The posts are back.")
    assert reopened.status == Status.IN_PROGRESS and reopened.outcome == "" and reopened.retention_review_on is None


def test_a_staff_breach_links_the_clause_the_version_and_the_acknowledgement(now, school, staff, dsl, colleague):
    from policies import services as policy_services
    from tests.policies.conftest import publish

    owner = member(school, Role.POLICY_OWNER)
    policy = policy_services.create_policy(organisation=school, actor=owner, title="Social Media Policy", owner=owner)
    version = publish(policy, owner)
    acknowledgement = policy_services.acknowledge(user=colleague, version=version)
    incident = triaged(report(school, staff, Category.STAFF_BREACH, subjects=[colleague]), dsl)
    breach = breaches.record_policy_breach(
        incident=incident, actor=dsl, person=colleague, version=version, clause="5.4(c)"
    )
    assert breach.acknowledgement == acknowledgement
    assert "acknowledged on 02 Mar 2026" in incident.actions.get(kind=ActionKind.POLICY_BREACH).text
    with pytest.raises(IncidentError, match="Name the member of staff"):
        breaches.record_policy_breach(incident=incident, actor=dsl, person=staff, version=version, clause="5.4(c)")


def test_retention_review_keeps_or_destroys_and_a_legal_hold_blocks_destruction(now, time_machine, school, staff, dsl):
    incident = triaged(report(school, staff, files=[(upload(), SHOWN)]), dsl)
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    with pytest.raises(IncidentError, match="not due"):
        retention.review_retention(incident=incident, actor=dsl, decision=RetentionDecision.DESTROY, reason="Time.")
    time_machine.move_to(dt.datetime(2032, 3, 3, 9, tzinfo=dt.UTC), tick=False)
    assert list(Incident.objects.due_for_retention_review(dt.date(2032, 3, 3))) == [incident]
    retention.set_legal_hold(incident=incident, actor=dsl, hold=True, reason="Civil claim pending.")
    with pytest.raises(IncidentError, match="legal hold"):
        retention.review_retention(incident=incident, actor=dsl, decision=RetentionDecision.DESTROY, reason="Time.")
    assert Incident.objects.get().destroyed_at is None
    retention.review_retention(
        incident=incident,
        actor=dsl,
        decision=RetentionDecision.KEEP,
        reason="Claim open.",
        keep_until=dt.date(2034, 1, 1),
    )
    assert Incident.objects.get().retention_review_on == dt.date(2034, 1, 1)


def test_destroying_removes_the_files_and_the_words_but_keeps_the_record(
    now, time_machine, school, staff, dsl, django_capture_on_commit_callbacks
):
    incident = triaged(report(school, staff, files=[(upload(), SHOWN)]), dsl)
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    time_machine.move_to(dt.datetime(2032, 3, 3, 9, tzinfo=dt.UTC), tick=False)
    item = Evidence.objects.get()
    path = item.original.path
    with django_capture_on_commit_callbacks(execute=True):
        retention.review_retention(
            incident=incident, actor=dsl, decision=RetentionDecision.DESTROY, reason="Period over."
        )
    destroyed = Incident.objects.get()
    assert destroyed.destroyed_at and "Destroyed" in destroyed.description and destroyed.location == ""
    import os

    assert not os.path.exists(path)
    assert Evidence.objects.get().sha256 == item.sha256  # the record of what was held stays


def test_a_reporter_may_add_evidence_later_but_a_stranger_may_not(now, school, staff, colleague):
    incident = report(school, staff)
    assert len(services.add_evidence(incident=incident, actor=staff, files=[(upload(), SHOWN)])) == 1
    with pytest.raises(PermissionDenied):
        services.add_evidence(incident=incident, actor=colleague, files=[(upload(), SHOWN)])


@pytest.mark.parametrize("table", ["incidents_incidentaction", "incidents_evidence"])
def test_postgresql_itself_refuses_to_rewrite_the_chronology_or_the_evidence(now, school, staff, dsl, table):
    from django.db import DatabaseError, connection, transaction

    triaged(report(school, staff, files=[(upload(), SHOWN)]), dsl)
    for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_a_double_click_makes_one_incident_and_one_chronology_entry(now, school, staff, dsl):
    fields = {"occurred_at": dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC), "description": "Same report, sent twice."}
    first = services.report_incident(organisation=school, reporter=staff, category=Category.ABUSE_OF_STAFF, **fields)
    again = services.report_incident(organisation=school, reporter=staff, category=Category.ABUSE_OF_STAFF, **fields)
    assert first == again and Incident.objects.count() == 1
    triaged(first, dsl)
    when = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    one = services.record_action(incident=first, actor=dsl, kind="note", happened_at=when, text="Called the parent.")
    two = services.record_action(incident=first, actor=dsl, kind="note", happened_at=when, text="Called the parent.")
    assert one == two and first.actions.filter(kind="note").count() == 1
