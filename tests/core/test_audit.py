import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import audit_ip, log_action
from core.models import AuditEntry, AuditEntryImmutable


@pytest.fixture
def entry(school, staff):
    with audit_ip("192.0.2.10"):
        return log_action(
            "test.moved", actor=staff, organisation=school, obj=school, from_state="a", to_state="b", details={"n": 1}
        )


def test_it_records_who_where_what_and_from_where(entry, staff, school):
    entry.refresh_from_db()
    assert (entry.actor, entry.organisation, entry.action) == (staff, school, "test.moved")
    assert (entry.from_state, entry.to_state, entry.details) == ("a", "b", {"n": 1})
    assert entry.object_id == str(school.pk) and entry.object_repr == "Oak Primary"
    assert entry.ip_address == "192.0.2.10"
    assert list(AuditEntry.objects.for_object(school)) == [entry]


def test_it_refuses_edits_through_the_orm(entry):
    entry.action = "rewritten"
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    with pytest.raises(AuditEntryImmutable):
        entry.delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="rewritten")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.bulk_update([entry], ["action"])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.moved"


@pytest.mark.parametrize("sql", ["UPDATE core_auditentry SET action = 'x'", "DELETE FROM core_auditentry"])
def test_the_database_refuses_raw_sql_changes(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.moved"
