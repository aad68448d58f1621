"""A date out of range is refused on every path, not only in the portal's own forms.

The range lives on the model field (core.validators.DateRange), so a model form (the admin's
among them) refuses it; the staff CSV import, an imported policy document and the services
that forms, imports and tasks all call run the same validators and say what is wrong.
"""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory

from accounts.models import Membership, Role
from accounts.staff_import import import_staff
from approvals.errors import ApprovalError
from approvals.models import ResponseItem, TrainingRecord
from approvals.responses import log_item
from approvals.training import record_training
from incidents import services as incident_services
from incidents.models import Incident
from policies import services as policy_services
from policies.importer import parse_policy_file
from policies.models import Policy, PolicyVersion
from tests.approvals.conftest import account, now, runner, smp  # noqa: F401  (fixtures)
from tests.factories import member

pytestmark = pytest.mark.django_db

HEADER = (
    "Forename,Surname,Work Email,Staff Type,Job Title,Department,Line Manager Email,Start Date,Leaving Date,Roles\n"
)


def _import(school, row: str, actor):
    return import_staff(organisation=school, data=(HEADER + row).encode(), actor=actor)


@pytest.mark.parametrize(
    "dates, message",
    [
        ("0001-01-01,", "The start date cannot be before 1 January 1950: check the year."),
        ("2025-09-01,9999-12-31", "The leaving date must be within 5 years from today: check the year."),
        ("01/09/2099,", "The start date must be within 1 year from today: check the year."),
    ],
)
def test_a_staff_file_with_a_date_out_of_range_changes_nothing_and_names_the_row(
    now,  # noqa: F811
    school,
    school_admin,
    dates,
    message,
):
    before = Membership.objects.count()
    report = _import(school, f"Ada,Lovelace,ada@school.example,Employee,Teacher,Computing,,{dates},\n", school_admin)
    assert not report.ok and [(e.line, e.message) for e in report.errors] == [(2, message)]
    assert Membership.objects.count() == before


def test_a_staff_file_with_dates_in_range_is_still_imported(now, school, school_admin):  # noqa: F811
    report = _import(
        school, "Ada,Lovelace,ada@school.example,Employee,Teacher,,,1975-09-01,2030-07-31,\n", school_admin
    )
    assert report.ok and Membership.objects.get(user__email="ada@school.example").start_date == dt.date(1975, 9, 1)


@pytest.fixture
def owner(school):
    return member(school, Role.POLICY_OWNER, email="owner@school.example")


def _document(dates: str) -> bytes:
    return f"Online Safety Policy\n\n{dates}\n\n1. Introduction\n\nWe keep children safe online.\n".encode()


@pytest.mark.parametrize(
    "dates, message",
    [
        ("Date reviewed: July 2096\nNext review date: July 2097", "The approval date must be within 1 year"),
        ("Date reviewed: July 2025\nNext review date: July 2099", "The next review date must be within 6 years"),
    ],
)
def test_an_imported_policy_document_with_a_date_out_of_range_is_refused(now, school, owner, dates, message):  # noqa: F811
    parsed = parse_policy_file(_document(dates), "online-safety.txt")
    with pytest.raises(policy_services.PolicyError, match=message):
        policy_services.import_policy(organisation=school, actor=owner, parsed=parsed)
    assert not Policy.objects.exists() and not PolicyVersion.objects.exists()


def test_the_import_page_says_why_a_document_was_refused(now, school, owner, client):  # noqa: F811
    school.require_mfa = False
    school.save()
    client.force_login(owner)
    upload = _document("Date reviewed: July 2025\nNext review date: July 2099")
    response = client.post(
        "/organisations/oak-primary/policies/import/",
        {"file": SimpleUploadedFile("online-safety.txt", upload, content_type="text/plain")},
    )
    assert response.status_code == 200 and "The next review date must be within 6 years" in response.content.decode()
    assert not Policy.objects.exists()


def test_a_draft_edited_by_a_service_is_held_to_the_range(now, school, owner):  # noqa: F811
    policy = policy_services.create_policy(organisation=school, actor=owner, title="Acceptable Use", owner=owner)
    version = policy_services.create_version(policy=policy, actor=owner, text="Be kind.", label="1")
    with pytest.raises(policy_services.PolicyError, match="The effective date cannot be before 1 January 2000"):
        policy_services.update_draft(version=version, actor=owner, text="Be kind.", effective_date=dt.date(1, 1, 1))
    assert PolicyVersion.objects.get().effective_date is None


@pytest.mark.parametrize(
    "model, fields, data, message",
    [
        (Membership, ["start_date"], {"start_date": "0001-01-01"}, "The start date cannot be before 1 January 1950"),
        (Policy, ["next_review_date"], {"next_review_date": "9999-01-01"}, "The next review date must be within"),
        (
            PolicyVersion,
            ["approval_date"],
            {"approval_date": "2099-01-01"},
            "The approval date must be within 1 year",
        ),
    ],
)
def test_a_model_form_such_as_the_admins_refuses_a_date_out_of_range(now, model, fields, data, message):  # noqa: F811
    form = modelform_factory(model, fields=fields)(data=data, instance=model())
    assert not form.is_valid() and message in form.errors[fields[0]][0]


def test_the_incident_services_refuse_a_time_out_of_range(now, school, staff, dsl):  # noqa: F811
    with pytest.raises(incident_services.IncidentError, match="cannot be before 1 January 2000: check the year"):
        incident_services.report_incident(
            organisation=school,
            reporter=staff,
            category="abuse_of_staff",
            occurred_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            description="A parent called me a liar.",
        )
    assert not Incident.objects.exists()


def test_the_training_service_refuses_dates_out_of_range(now, school, staff):  # noqa: F811
    with pytest.raises(ApprovalError, match="The completion date cannot be before 1 January 2000"):
        record_training(
            user=staff, actor=staff, course="Social media", completed_on=dt.date(1, 1, 1), expires_on=dt.date(2, 1, 1)
        )
    assert not TrainingRecord.objects.exists()


def test_the_response_log_service_refuses_a_time_out_of_range(now, account, school_admin):  # noqa: F811
    with pytest.raises(ApprovalError, match="The time received cannot be before 1 January 2000"):
        log_item(
            account=account,
            actor=school_admin,
            kind="query",
            received_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            summary="x",
        )
    assert not ResponseItem.objects.exists()
