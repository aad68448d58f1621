"""Records that cannot be got around (issue 10): a legal hold blocks deletion, references are not counted.

DESIGN.md "Records": a legal hold blocks deletion. The ORM refuses on every
database; on PostgreSQL a trigger refuses raw SQL too (declared on Incident.Meta and NamedPerson.Meta).
"""

import re

import pytest
from django.db import IntegrityError, connection, transaction

from core.models import AuditEntry
from incidents import retention, services
from incidents.models import Incident, NamedPerson, RecordUnderLegalHold
from tests.incidents.conftest import report

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"INC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def held(incident) -> Incident:
    """The hold set on the row alone, so that nothing else (the chronology's PROTECT) stands in the way."""
    Incident.objects.filter(pk=incident.pk).update(legal_hold=True, legal_hold_reason="Police investigation")
    return Incident.objects.get(pk=incident.pk)


# A legal hold blocks deletion: the ORM
# ------------------------------------------------------------------------------


def test_an_incident_under_legal_hold_cannot_be_deleted(now, school, staff):
    incident = held(report(school, staff))
    with pytest.raises(RecordUnderLegalHold, match=f"Incident {incident.reference} is under a legal hold"):
        incident.delete()
    with pytest.raises(RecordUnderLegalHold, match="under a legal hold"):
        Incident.objects.filter(pk=incident.pk).delete()
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_copy_loaded_before_the_hold_cannot_delete_it_either(now, school, staff):
    incident = report(school, staff)
    stale = Incident.objects.get(pk=incident.pk)
    held(incident)
    assert not stale.legal_hold
    with pytest.raises(RecordUnderLegalHold):
        stale.delete()


def test_deleting_many_names_the_held_ones_and_deletes_none(now, school, staff):
    free, kept = report(school, staff), held(report(school, staff))
    with pytest.raises(RecordUnderLegalHold, match=kept.reference):
        Incident.objects.filter(pk__in=[free.pk, kept.pk]).delete()
    assert Incident.objects.count() == 2


def test_without_a_hold_the_guard_does_not_stand_in_the_way(now, school, staff):
    incident = report(school, staff)
    Incident.objects.filter(pk=incident.pk).delete()
    assert not Incident.objects.exists()


def test_the_service_places_a_hold_that_then_blocks_deletion(now, school, staff, dsl):
    incident = retention.set_legal_hold(
        incident=report(school, staff), actor=dsl, hold=True, reason="Solicitor's letter"
    )
    with pytest.raises(RecordUnderLegalHold):
        incident.delete()


def test_the_people_named_in_a_held_incident_cannot_be_removed(now, school, staff, colleague):
    incident = held(report(school, staff, affected=[colleague]))
    named = NamedPerson.objects.get(incident=incident)
    with pytest.raises(RecordUnderLegalHold, match=incident.reference):
        named.delete()
    with pytest.raises(RecordUnderLegalHold):
        NamedPerson.objects.filter(incident=incident).delete()
    assert NamedPerson.objects.filter(incident=incident, user=colleague).exists()


# A legal hold blocks deletion: the database itself
# ------------------------------------------------------------------------------


def _raw_delete(table: str, pk: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])


def test_raw_sql_cannot_delete_a_held_incident_on_postgresql(now, school, staff):
    incident = held(report(school, staff))
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError, match="legal hold"):
            _raw_delete("incidents_incident", incident.pk)
        assert Incident.objects.filter(pk=incident.pk).exists()
    else:
        # SQLite (the first-look setup) has no trigger: there the ORM's guard is the rule.
        _raw_delete("incidents_incident", incident.pk)
        assert not Incident.objects.filter(pk=incident.pk).exists()


def test_raw_sql_still_deletes_an_incident_without_a_hold(now, school, staff):
    incident = report(school, staff)
    _raw_delete("incidents_incident", incident.pk)
    assert not Incident.objects.filter(pk=incident.pk).exists()


def test_raw_sql_cannot_remove_a_person_named_in_a_held_incident_on_postgresql(now, school, staff, colleague):
    incident = held(report(school, staff, affected=[colleague]))
    named = NamedPerson.objects.get(incident=incident)
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError, match="legal hold"):
            _raw_delete("incidents_namedperson", named.pk)
        assert NamedPerson.objects.filter(pk=named.pk).exists()
    else:
        _raw_delete("incidents_namedperson", named.pk)
        assert not NamedPerson.objects.filter(pk=named.pk).exists()


# References are random, not counted
# ------------------------------------------------------------------------------


def test_references_are_random_and_avoid_confusable_characters(now, school, staff):
    references = [report(school, staff).reference for _ in range(5)]
    assert all(REFERENCE.fullmatch(r) for r in references)
    assert len(set(references)) == 5
    drawn = "".join(services.new_reference()[4:].replace("-", "") for _ in range(300))
    assert not set(drawn) & set("0O1I")
    assert set(drawn) <= set(services.REFERENCE_ALPHABET)


def test_a_reference_already_taken_is_drawn_again(now, school, staff, monkeypatch):
    first = report(school, staff)
    draws = iter([first.reference, "INC-7KQ4-M2XD"])
    monkeypatch.setattr(services, "new_reference", lambda: next(draws))
    second = report(school, staff)
    assert second.reference == "INC-7KQ4-M2XD"
    assert Incident.objects.count() == 2
    assert AuditEntry.objects.filter(action="incident.reported").count() == 2


def test_references_made_before_stay_as_they_are(now, school, staff):
    old = report(school, staff)
    Incident.objects.filter(pk=old.pk).update(reference="INC-2026-0001")
    new = report(school, staff)
    assert Incident.objects.get(pk=old.pk).reference == "INC-2026-0001"
    assert REFERENCE.fullmatch(new.reference)


def test_a_public_report_gets_a_random_reference(client, now, school):
    response = client.post(
        "/report/oak-primary/",
        {
            "public_reporter": "parent",
            "category": "unofficial_account",
            "platform": "instagram",
            "occurred_at": "2026-03-01T18:30",
            "location": "@oakprimary_official_not",
            "description": "An account uses the school logo.",
            "website": "",
        },
    )
    assert response.status_code == 302
    reference = Incident.objects.get().reference
    assert REFERENCE.fullmatch(reference)
    assert (
        f'Your reference is <strong class="fs-4" id="reference">{reference}</strong>'
        in client.get(response["Location"]).content.decode()
    )
