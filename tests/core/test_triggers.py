"""The database's triggers are the ones the models declare (django-pgtrigger), installed by frozen migrations.

Where they are declared: ``core.db.AppendOnly`` on every append-only model, the legal hold on
``incidents.models.Incident`` and ``NamedPerson``, the tallies' in ``policies/tallies.py`` (on
``AcknowledgementRequest`` and the proxies ``TalliedMembership`` and ``TalliedUser``).
"""

import ast
from pathlib import Path

import pgtrigger
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import Membership, User
from core.db import AppendOnly
from core.models import AppendOnlyModel, AuditEntry
from policies import tallies
from policies.models import AcknowledgementRequest, AcknowledgementTally, TalliedMembership, TalliedUser

ROOT = Path(settings.BASE_DIR)
PROJECT_APPS = ["core", "accounts", "policies", "approvals", "incidents", "portal"]


def sql(query, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def hand_written_triggers():
    return sql(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgname NOT LIKE 'pgtrigger\\_%%' ORDER BY 1, 2"
    )


def assert_installed_as_declared():
    """Every declared trigger installed, enabled and up to date; none installed that is not declared."""
    statuses = {
        trigger.get_uri(model): trigger.get_installation_status(model) for model, trigger in pgtrigger.registered()
    }
    assert statuses and set(statuses.values()) == {(pgtrigger.core.INSTALLED, True)}, statuses
    assert pgtrigger.prunable() == []  # orphans: pgtrigger's triggers that no model declares
    assert hand_written_triggers() == []


@pytest.mark.django_db
def test_after_migrate_the_database_holds_exactly_the_declared_triggers():
    assert_installed_as_declared()
    assert sql("SELECT proname FROM pg_proc WHERE proname LIKE 'portal\\_%%' OR proname LIKE 'incidents\\_%%'") == []


def test_the_declared_set_is_the_one_the_portal_means():
    declared = {trigger.get_uri(model) for model, trigger in pgtrigger.registered()}
    append_only = {
        model
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel)
        and any(isinstance(t, AppendOnly) for t in getattr(model._meta, "triggers", []))
    }
    # Every append-only model carries the guard: a new one cannot forget it.
    assert append_only == {model for model in apps.get_models() if issubclass(model, AppendOnlyModel)}
    assert {f"{model._meta.label}:append_only" for model in append_only} | {
        "incidents.Incident:legal_hold",
        "incidents.NamedPerson:legal_hold",
        "incidents.Incident:close_needs_tasks_finished",
        "incidents.IncidentTask:no_open_task_on_closed",
        "policies.AcknowledgementRequest:tally_requests_inserted",
        "policies.AcknowledgementRequest:tally_requests_deleted",
        "policies.AcknowledgementRequest:tally_request_changed",
        "policies.TalliedMembership:tally_membership_changed",
        "policies.TalliedUser:tally_user_changed",
    } == declared
    # The proxies' triggers are on accounts' tables, and the tallies' SQL names the tally table.
    assert TalliedMembership._meta.db_table == Membership._meta.db_table
    assert TalliedUser._meta.db_table == User._meta.db_table
    assert tallies.TALLY == AcknowledgementTally._meta.db_table
    assert AcknowledgementRequest._meta.db_table in tallies.MEMBERSHIP_TRIGGERS[0].func


def test_accounts_declares_no_trigger_and_its_migrations_know_nothing_of_policies():
    """accounts is the lower floor: the tallies' triggers on its tables are declared, and migrated, in policies."""
    assert not [model for model in apps.get_app_config("accounts").get_models() if getattr(model._meta, "triggers", [])]
    for path in (ROOT / "accounts" / "migrations").glob("*.py"):
        text = path.read_text()
        assert "policies" not in text and "pgtrigger" not in text, path.name


def test_no_migration_takes_its_sql_from_the_apps_code():
    """A migration holds what it installs. It may name only what Django writes for fields (models, validators)."""
    allowed = {f"{app}.models" for app in PROJECT_APPS} | {"core.validators"}
    for app in PROJECT_APPS:
        for path in sorted((ROOT / app / "migrations").glob("0*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                else:
                    continue
                ours = [name for name in names if name.split(".")[0] in PROJECT_APPS]
                assert set(ours) <= allowed, f"{app}/migrations/{path.name} imports {ours}"
                assert node.col_offset == 0 or not ours, f"{app}/migrations/{path.name}: an import inside a function"


@pytest.mark.django_db
def test_no_session_can_skip_a_trigger(staff):
    """pgtrigger's "ignore" setting is switched off (core.db.refuse_trigger_skipping): no role, the owner's or the
    application's, can skip a guard it cannot disable."""
    from core.audit import log_action

    log_action(actor=staff, action="test.kept", obj=None)
    uri = "core.AuditEntry:append_only"
    pgid = AuditEntry._meta.triggers[0].get_pgid(AuditEntry)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + pgid + "," + uri + "}"])
        cursor.execute("UPDATE core_auditentry SET action = 'rewritten'")
    with pytest.raises(DatabaseError, match="append-only"), pgtrigger.ignore(uri), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_auditentry")
    assert AuditEntry.objects.get().action == "test.kept"


def _fields_added_after(app_label: str, number: str) -> list:
    """The model fields that ``app_label``'s migrations after ``number`` add (AddField)."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import AddField

    loader = MigrationLoader(None, ignore_no_migrations=True)
    fields = []
    for (label, name), migration in sorted(loader.disk_migrations.items()):
        if label == app_label and name[:4] > number:
            for operation in migration.operations:
                if isinstance(operation, AddField):
                    model = apps.get_model(app_label, operation.model_name)
                    fields.append(model._meta.get_field(operation.name))
    return fields


@pytest.mark.django_db(transaction=True)
def test_migrating_back_to_the_hand_written_triggers_and_forward_again(staff, school):
    """The migrations that swap the hand-written triggers for pgtrigger's run both ways; the tallies stay right."""
    from accounts.models import Role
    from policies import services
    from tests.factories import member
    from tests.policies.conftest import publish

    owner = member(school, Role.POLICY_OWNER, email="owner@school.example")
    policy = services.create_policy(organisation=school, actor=owner, title="Code of Conduct", owner=owner)
    later = _fields_added_after("policies", "0009")
    try:
        call_command("migrate", "policies", "0008", verbosity=0)
        call_command("migrate", "incidents", "0007", verbosity=0)
        call_command("migrate", "core", "0005", verbosity=0)
        # Today's models run on the old triggers: the columns added since the swap are put back.
        with connection.schema_editor() as editor:
            for field in later:
                editor.add_field(field.model, field)
        assert {name for _, name in hand_written_triggers()} == {
            "core_auditentry_append_only",
            "incidents_evidence_append_only",
            "incidents_incident_legal_hold",
            "incidents_incidentaction_append_only",
            "incidents_namedperson_legal_hold",
            "incidents_policybreach_append_only",
            "incidents_retentionreview_append_only",
            "policies_acknowledgement_append_only",
            "policies_policyreview_append_only",
            "policies_quizattempt_append_only",
            "tally_membership_changed",
            "tally_request_changed",
            "tally_requests_deleted",
            "tally_requests_inserted",
            "tally_user_changed",
        }
        assert sql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger\\_%%'") == [(0,)]
        # The old triggers keep the tallies meanwhile.
        publish(policy, owner)
        assert tallies.differences() == []
        assert AcknowledgementTally.objects.exists()
    finally:
        with connection.schema_editor() as editor:
            for field in later:
                if field.column in {
                    c.name
                    for c in connection.introspection.get_table_description(
                        connection.cursor(), field.model._meta.db_table
                    )
                }:
                    editor.remove_field(field.model, field)
        call_command("migrate", verbosity=0)
    assert_installed_as_declared()
    User.objects.filter(pk=staff.pk).update(is_active=False)
    Membership.objects.filter(user=owner).update(department="Moved")
    assert tallies.differences() == []


@pytest.mark.django_db
def test_the_declared_triggers_match_the_migrations():
    """Editing a trigger (policies/tallies.py, a model's Meta.triggers) needs a new migration, never an edit to an old one."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
