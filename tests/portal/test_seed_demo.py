"""Seeding twice changes nothing (issue 14): a second ``seed_demo`` leaves every row of the
portal's tables, the audit trail and the outbox exactly as the first left them."""

import datetime as dt
import hashlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import Membership
from core.models import AuditEntry, OutboxMessage

pytestmark = pytest.mark.django_db

# Every table the demo can write: the four apps, the ground floor, and the sign-in addresses.
APPS = ("accounts", "policies", "approvals", "incidents", "core", "account", "mfa", "auth", "django_celery_beat")


def table_rows() -> dict[str, list[dict]]:
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in APPS:
            pk = model._meta.pk.attname
            rows[model._meta.label] = [{"pk": row[pk], **row} for row in model.objects.order_by("pk").values()]
    return rows


def checksum(rows: dict[str, list[dict]]) -> str:
    return hashlib.sha256(json.dumps(rows, cls=DjangoJSONEncoder, sort_keys=True, default=str).encode()).hexdigest()


def changed_rows(before, after) -> dict[str, list]:
    """What differs, table by table: for the message when the test fails."""
    diff = {}
    for label in sorted(set(before) | set(after)):
        old = {row["pk"]: row for row in before.get(label, [])}
        new = {row["pk"]: row for row in after.get(label, [])}
        changes = [
            (pk, {k: (old.get(pk, {}).get(k), v) for k, v in new.get(pk, {}).items() if old.get(pk, {}).get(k) != v})
            for pk in sorted(set(old) | set(new))
            if old.get(pk) != new.get(pk)
        ]
        if changes:
            diff[label] = changes[:5] + ([f"... {len(changes) - 5} more"] if len(changes) > 5 else [])
    return diff


def test_a_second_seed_changes_no_row_and_writes_no_audit_entry_or_email(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC), tick=False)
    call_command("seed_demo", stdout=io.StringIO())
    before = table_rows()
    assert before["core.AuditEntry"] and before["core.OutboxMessage"], "the demo writes an audit trail and emails"
    # An hour later, so that a row saved again shows a new timestamp.
    time_machine.move_to(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False)
    call_command("seed_demo", stdout=io.StringIO())
    after = table_rows()
    assert changed_rows(before, after) == {}
    assert checksum(after) == checksum(before)
    assert AuditEntry.objects.count() == len(before["core.AuditEntry"])
    assert OutboxMessage.objects.count() == len(before["core.OutboxMessage"])


def test_the_demo_records_every_line_manager_whatever_the_order_of_its_rows(monkeypatch):
    """The demo goes through the staff import: with its rows reversed, so that every manager
    comes after their staff, every line manager is still recorded (002 §3, 004 §5)."""
    from portal.management.commands import seed_demo

    monkeypatch.setattr(seed_demo, "STAFF", {slug: rows[::-1] for slug, rows in seed_demo.STAFF.items()})
    call_command("seed_demo", stdout=io.StringIO())
    expected = {}
    for slug, rows in seed_demo.STAFF.items():
        for row in rows:
            email, manager = row.split(",")[2], row.split(",")[6]
            expected[(slug, email + seed_demo.DEMO_DOMAIN)] = manager + seed_demo.DEMO_DOMAIN if manager else None
    recorded = {
        (m.organisation.slug, m.user.email): m.line_manager.email if m.line_manager else None
        for m in Membership.objects.exclude(user__email=None).select_related("organisation", "user", "line_manager")
    }
    assert recorded == expected
    assert sum(manager is not None for manager in expected.values()) > 20
    # Staff without an email are added after the import, each with their line manager.
    without = Membership.objects.filter(user__email=None).select_related("user", "line_manager")
    assert {(m.user.full_name, m.line_manager.email) for m in without} == {
        (f"{first} {last}", manager + seed_demo.DEMO_DOMAIN)
        for people in seed_demo.WITHOUT_EMAIL.values()
        for first, last, _, _, _, manager, _ in people
    }
