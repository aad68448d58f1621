"""Concerns about a member of staff: the harm-threshold step (KCSIE Part 4), its LADO deadline, and who sees it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from core.models import AuditEntry
from incidents import allegations, reminders
from incidents.models import Category, Incident, IncidentAction, Status, ThresholdDecision, ThresholdOutcome
from incidents.services import IncidentError
from tests.incidents.conftest import START, report, triaged
from tests.mailbox import deliver, inbox

pytestmark = pytest.mark.django_db

NO = dict.fromkeys(allegations.FIELDS, False)
ONE_YES = NO | {"risk_of_harm": True}


@pytest.fixture(autouse=True)
def _no_mfa(school):
    school.require_mfa = False
    school.save()


@pytest.fixture
def concern(now, school, staff, dsl, colleague):
    """A staff breach about a colleague, triaged as not safeguarding: SLT may handle it."""
    return triaged(report(school, staff, Category.STAFF_BREACH, subjects=[colleague]), dsl, safeguarding=False)


def decide(incident, actor, answers, reasons="Messages to a pupil on a personal account."):
    return allegations.decide_threshold(incident=incident, actor=actor, answers=answers, reasons=reasons)


def test_any_yes_makes_it_an_allegation_for_the_lado_due_within_one_working_day(concern, dsl):
    decision = decide(concern, dsl, ONE_YES)
    assert decision.outcome == ThresholdOutcome.ALLEGATION and decision.decided_by == dsl
    assert (decision.harmed_child, decision.risk_of_harm) == (False, True)
    incident = Incident.objects.get(pk=concern.pk)
    # Monday 09:00: due at closing time on Tuesday, as a LADO referral asked for at triage.
    assert incident.lado_due_at == dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    assert incident.lado_due_at == reminders.lado_due(START, incident.organisation)
    assert incident.status == Status.IN_PROGRESS
    entry = IncidentAction.objects.get(incident=incident, kind="threshold")
    # The chronology, read by everyone handling the case, does not carry the answers or the reasons.
    assert "LADO referral due by 17:00 on 03 Mar 2026" in entry.text and "pupil" not in entry.text
    audit = AuditEntry.objects.get(action="incident.threshold_decided")
    assert audit.details["outcome"] == "allegation" and audit.details["risk_of_harm"] is True


def test_four_noes_make_it_a_low_level_concern_with_no_lado_deadline(concern, dsl):
    assert decide(concern, dsl, NO).outcome == ThresholdOutcome.LOW_LEVEL
    assert Incident.objects.get(pk=concern.pk).lado_due_at is None


def test_the_allegations_lado_referral_is_reminded_as_any_other(concern, dsl, time_machine):
    decide(concern, dsl, ONE_YES)
    time_machine.move_to(START + dt.timedelta(hours=29), tick=False)  # Tuesday 14:00, 3 hours before
    deliver()
    assert reminders.send_incident_reminders()[reminders.LADO_DUE_SOON] == 1
    assert any("LADO referral" in m.subject for m in inbox(dsl.email))
    assert reminders.send_incident_reminders()[reminders.LADO_DUE_SOON] == 0


def test_a_low_level_concern_may_become_an_allegation_but_not_the_other_way(concern, dsl):
    decide(concern, dsl, NO)
    decide(concern, dsl, ONE_YES, reasons="A second pupil has come forward.")
    with pytest.raises(IncidentError, match="stays an allegation for the LADO"):
        decide(concern, dsl, NO, reasons="Changed my mind.")
    assert [d.outcome for d in ThresholdDecision.objects.all()] == ["low_level", "allegation"]


@pytest.mark.parametrize(
    ("answers", "reasons", "message"),
    [
        (NO | {"unsuitable": None}, "Reasons.", "Answer each of the four questions"),
        ({k: v for k, v in NO.items() if k != "harmed_child"}, "Reasons.", "Answer each of the four questions"),
        (ONE_YES, "  ", "Give the reasons"),
    ],
)
def test_an_unanswered_question_or_no_reasons_is_refused_and_changes_nothing(concern, dsl, answers, reasons, message):
    with pytest.raises(IncidentError, match=message):
        decide(concern, dsl, answers, reasons)
    assert not ThresholdDecision.objects.exists() and Incident.objects.get(pk=concern.pk).lado_due_at is None


def test_the_step_waits_for_triage_and_is_only_for_concerns_about_staff(now, school, staff, dsl, colleague):
    untriaged = report(school, staff, Category.STAFF_BREACH, subjects=[colleague])
    with pytest.raises(IncidentError, match="Triage the incident"):
        decide(untriaged, dsl, ONE_YES)
    account = triaged(report(school, staff, Category.UNOFFICIAL_ACCOUNT), dsl)
    with pytest.raises(IncidentError, match="concern about a member of staff"):
        decide(account, dsl, ONE_YES)
    # A report of another kind that names the staff it is about counts.
    contact = triaged(report(school, staff, Category.PUPIL_CONTACT, subjects=[colleague]), dsl)
    assert decide(contact, dsl, ONE_YES).outcome == ThresholdOutcome.ALLEGATION


def test_the_dsl_team_and_the_lead_take_the_step_and_slt_do_not(concern, dsl, deputy, head, slt):
    with pytest.raises(PermissionDenied):
        decide(concern, slt, ONE_YES)
    assert decide(concern, deputy, NO).decided_by == deputy
    assert decide(concern, head, ONE_YES).decided_by == head


def test_an_allegation_about_the_dsl_is_the_leads_step_alone(now, school, staff, dsl, deputy, head):
    incident = triaged(report(school, staff, Category.STAFF_BREACH, subjects=[dsl]), head)
    assert incident.routed_to_lead
    for person in (dsl, deputy):
        with pytest.raises(PermissionDenied):
            decide(incident, person, ONE_YES)
    assert decide(incident, head, ONE_YES).outcome == ThresholdOutcome.ALLEGATION


# Through the pages
# ------------------------------------------------------------------------------


def answers_form(**overrides):
    data = {"harmed_child": "no", "criminal_offence": "no", "risk_of_harm": "yes", "unsuitable": "no"}
    return data | {"reasons": "Messages to a pupil."} | overrides


def test_the_dsl_answers_the_questions_on_the_case_page(client, concern, dsl):
    client.force_login(dsl)
    page = client.get(f"/incidents/{concern.pk}/").content.decode()
    assert "the harm threshold" in page and allegations.QUESTIONS[1][1] in page
    assert 'name="risk_of_harm" value="yes"' in page and "checked" not in page.split('id="threshold-h"')[1][:4000]
    response = client.post(f"/incidents/{concern.pk}/threshold/", answers_form(), follow=True)
    text = response.content.decode()
    assert "Harm-threshold step recorded. Meets the harm threshold: an allegation for the LADO." in text
    assert "Decided by" in text and "Messages to a pupil." in text


def test_an_unanswered_question_on_the_page_is_refused_with_a_clear_message(client, concern, dsl):
    client.force_login(dsl)
    data = answers_form()
    del data["unsuitable"]
    response = client.post(f"/incidents/{concern.pk}/threshold/", data)
    assert response.status_code == 400 and "Answer this question: yes or no." in response.content.decode()
    assert not ThresholdDecision.objects.exists()


def test_slt_handling_the_case_never_see_the_step_or_its_answers(client, concern, dsl, slt):
    decide(concern, dsl, ONE_YES, reasons="Something only the DSL should read.")
    client.force_login(slt)
    page = client.get(f"/incidents/{concern.pk}/").content.decode()
    assert "Something only the DSL should read" not in page and "the harm threshold" not in page
    assert "Harm-threshold step taken" in page  # the chronology says the step was taken, no more
    csv = client.get(f"/incidents/{concern.pk}/chronology.csv").content.decode()
    assert "Something only the DSL should read" not in csv
    assert client.post(f"/incidents/{concern.pk}/threshold/", answers_form()).status_code == 403
    assert ThresholdDecision.objects.count() == 1
