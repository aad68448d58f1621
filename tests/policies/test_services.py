import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.models import Role, StaffType
from core.models import AuditEntry, RecordImmutable
from policies import services
from policies.document_limits import DocumentError
from policies.models import Acknowledgement, AcknowledgementRequest, PolicyReview, PolicyVersion, VersionStatus
from tests.factories import member
from tests.policies.conftest import START, draft, fresh, publish

pytestmark = pytest.mark.django_db


def test_publishing_asks_everyone_in_the_audience_by_the_due_date(now, school, policy, owner, staff, slt):
    volunteer = member(school, staff_type=StaffType.VOLUNTEER)
    version = publish(policy, owner)
    assert version.status == VersionStatus.PUBLISHED
    assert version.due_date == dt.date(2026, 3, 16)  # 14 days, the organisation's default
    asked = set(AcknowledgementRequest.objects.filter(version=version).values_list("user__email", flat=True))
    assert asked == {staff.email, slt.email, owner.email, volunteer.email}
    assert fresh(policy).next_review_date == dt.date(2027, 3, 2)
    assert AuditEntry.objects.filter(action="policy.version_published", to_state="published").count() == 1


def test_the_audience_can_be_limited_by_role_and_staff_type(now, school, owner, staff, slt):
    agency = member(school, Role.SLT, staff_type=StaffType.AGENCY)
    policy = services.create_policy(
        organisation=school,
        actor=owner,
        title="Leaders' code",
        owner=owner,
        audience_roles=[Role.SLT],
        audience_staff_types=[StaffType.EMPLOYEE],
    )
    version = publish(policy, owner)
    assert list(AcknowledgementRequest.objects.filter(version=version).values_list("user", flat=True)) == [slt.pk]
    assert agency.pk not in AcknowledgementRequest.objects.values_list("user", flat=True)


def test_a_new_version_supersedes_the_last_and_asks_again(now, policy, owner, staff):
    first = publish(policy, owner)
    services.acknowledge(user=staff, version=first)
    second = publish(policy, owner, label="2", text="# Rules\n\nBe kind and careful online.")
    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED and second.status == VersionStatus.PUBLISHED
    assert fresh(policy).acknowledgement_version == second
    assert services.open_request(staff, fresh(policy)).acknowledgement_id is None
    assert PolicyReview.objects.get().outcome == "new_version"


def test_a_minor_correction_does_not_ask_again(now, policy, owner, staff):
    first = publish(policy, owner)
    services.acknowledge(user=staff, version=first)
    publish(policy, owner, label="1.1", text="# Rules\n\nBe kind online!", requires_acknowledgement=False)
    request = services.open_request(staff, fresh(policy))
    assert request.version == first and request.acknowledgement.version == first
    assert AcknowledgementRequest.objects.count() == AcknowledgementRequest.objects.filter(version=first).count()


def test_staff_who_have_not_acknowledged_read_the_corrected_text(now, policy, owner, staff):
    publish(policy, owner)
    corrected = publish(policy, owner, label="1.1", text="# Rules\n\nBe kind online!", requires_acknowledgement=False)
    acknowledgement = services.acknowledge(user=staff, version=corrected)
    assert acknowledgement.version == corrected
    assert services.open_request(staff, fresh(policy)).acknowledgement == acknowledgement


@pytest.mark.parametrize("status", [VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED])
def test_only_a_draft_can_be_published(now, policy, owner, status):
    version = publish(policy, owner)
    if status == VersionStatus.SUPERSEDED:
        publish(policy, owner, label="2")
    with pytest.raises(services.PolicyError, match="only a draft can be published"):
        services.publish_version(version=PolicyVersion.objects.get(pk=version.pk), actor=owner)


def test_a_due_date_before_publication_is_refused_and_nothing_changes(now, policy, owner):
    version = draft(policy, owner)
    with pytest.raises(services.PolicyError, match="cannot be before the publication date"):
        services.publish_version(version=version, actor=owner, due_date=dt.date(2026, 3, 1))
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and not AcknowledgementRequest.objects.exists()


def test_empty_or_oversized_text_is_refused(now, policy, owner):
    with pytest.raises(DocumentError):
        draft(policy, owner, text="   ")
    with pytest.raises(DocumentError):
        draft(policy, owner, text="x" * 200_001)
    assert not PolicyVersion.objects.exists()


def test_an_upload_that_is_not_really_a_pdf_is_refused(now, policy, owner):
    fake = SimpleUploadedFile("policy.pdf", b"just some text pretending", "application/pdf")
    with pytest.raises(DocumentError, match="not a PDF"):
        services.create_version(policy=policy, actor=owner, upload=fake, label="1", source_format="pdf")
    assert not PolicyVersion.objects.exists()


def test_a_real_pdf_is_stored_and_hashed(now, policy, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    version = services.create_version(
        policy=policy, actor=owner, upload=io.BytesIO(data), label="1", source_format="pdf"
    )
    assert version.document.read() == data
    import hashlib

    assert version.content_sha256 == hashlib.sha256(data).hexdigest()


def test_an_acknowledgement_records_who_when_where_and_what_was_shown(now, policy, owner, staff):
    version = publish(policy, owner)
    acknowledgement = services.acknowledge(user=staff, version=version, ip_address="203.0.113.5", user_agent="Firefox")
    assert (acknowledgement.user, acknowledgement.version) == (staff, version)
    assert acknowledgement.acknowledged_at == START
    assert (acknowledgement.ip_address, acknowledgement.user_agent) == ("203.0.113.5", "Firefox")
    assert acknowledgement.content_sha256 == version.content_sha256 and len(version.content_sha256) == 64


def test_acknowledging_twice_returns_the_first_acknowledgement(now, policy, owner, staff):
    version = publish(policy, owner)
    first = services.acknowledge(user=staff, version=version)
    second = services.acknowledge(user=staff, version=version)
    assert first == second and Acknowledgement.objects.count() == 1
    assert AuditEntry.objects.filter(action="policy.acknowledged").count() == 1


def test_an_acknowledgement_is_never_edited_or_deleted(now, policy, owner, staff):
    acknowledgement = services.acknowledge(user=staff, version=publish(policy, owner))
    with pytest.raises(RecordImmutable):
        acknowledgement.save()
    with pytest.raises(RecordImmutable):
        Acknowledgement.objects.all().delete()
    with pytest.raises(RecordImmutable):
        Acknowledgement.objects.update(user_agent="x")


def test_the_database_refuses_to_change_an_acknowledgement(now, policy, owner, staff):
    services.acknowledge(user=staff, version=publish(policy, owner))
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE policies_acknowledgement SET user_agent = 'forged'")


def test_a_draft_or_superseded_version_cannot_be_acknowledged(now, policy, owner, staff):
    first = publish(policy, owner)
    publish(policy, owner, label="2")
    with pytest.raises(services.PolicyError, match="superseded"):
        services.acknowledge(user=staff, version=PolicyVersion.objects.get(pk=first.pk))
    with pytest.raises(services.PolicyError, match="draft"):
        services.acknowledge(user=staff, version=draft(policy, owner, label="3"))
    assert not Acknowledgement.objects.exists()


def test_someone_outside_the_audience_cannot_acknowledge(now, school, owner, staff):
    policy = services.create_policy(
        organisation=school, actor=owner, title="Leaders only", owner=owner, audience_roles=[Role.SLT]
    )
    version = publish(policy, owner)
    with pytest.raises(services.PolicyError, match="not asked to acknowledge"):
        services.acknowledge(user=staff, version=version)


def test_questions_must_be_answered_correctly_first_and_attempts_are_kept(now, policy, owner, staff):
    version = draft(policy, owner)
    services.add_question(
        version=version, actor=owner, prompt="Who reads this?", choices=["Nobody", "Everyone"], correct_choice=2
    )
    version = services.publish_version(version=version, actor=owner)
    question = version.questions.get()
    with pytest.raises(services.PolicyError, match="Answer the questions"):
        services.acknowledge(user=staff, version=version)
    assert services.answer_quiz(user=staff, version=version, answers={question.pk: 0}) is False
    assert services.answer_quiz(user=staff, version=version, answers={question.pk: 1}) is True
    assert version.quiz_attempts.filter(user=staff).count() == 2
    assert services.acknowledge(user=staff, version=version)


def test_questions_cannot_change_once_published(now, policy, owner):
    version = publish(policy, owner)
    with pytest.raises(services.PolicyError, match="only be changed on a draft"):
        services.add_question(version=version, actor=owner, prompt="Late?", choices=["Yes", "No"], correct_choice=1)


def test_a_new_starter_is_due_from_their_start_date(now, school, policy, owner, time_machine):
    version = publish(policy, owner)
    time_machine.move_to(dt.datetime(2026, 4, 20, 9, tzinfo=dt.UTC), tick=False)
    starter = member(school, start_date=dt.date(2026, 4, 20))
    services.sync_requests()
    request = AcknowledgementRequest.objects.get(user=starter, version=version)
    assert request.due_date == dt.date(2026, 5, 4)


def test_the_organisation_period_sets_the_default_due_date(now, school, policy, owner):
    school.acknowledgement_period_days = 5
    school.save()
    assert publish(policy, fresh(policy).owner).due_date == dt.date(2026, 3, 7)


def test_syncing_twice_asks_nobody_twice(now, policy, owner, staff):
    version = publish(policy, owner)
    count = AcknowledgementRequest.objects.filter(version=version).count()
    assert services.sync_requests() == 0
    assert AcknowledgementRequest.objects.filter(version=version).count() == count


def test_a_trust_policy_reaches_every_member_and_a_member_adds_an_addendum(now, trust, school, other_school):
    trust_owner = member(trust, Role.POLICY_OWNER)
    teacher_here, teacher_there = member(school), member(other_school)
    trust_policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust Social Media Policy", owner=trust_owner
    )
    trust_version = publish(trust_policy, trust_owner)
    assert set(AcknowledgementRequest.objects.filter(version=trust_version).values_list("user", flat=True)) >= {
        teacher_here.pk,
        teacher_there.pk,
    }

    local_owner = member(school, Role.POLICY_OWNER)
    addendum = services.create_policy(
        organisation=school,
        actor=local_owner,
        title="Oak Primary addendum",
        owner=local_owner,
        addendum_to=trust_policy,
    )
    addendum_version = publish(addendum, local_owner, text="# Local points\n\nOur class blogs are closed groups.")
    asked = set(AcknowledgementRequest.objects.filter(version=addendum_version).values_list("user", flat=True))
    assert teacher_here.pk in asked and teacher_there.pk not in asked


def test_leavers_drop_out_of_the_figures_but_keep_their_records(now, school, policy, owner, time_machine):
    leaver = member(school, leaving_date=dt.date(2026, 3, 31))
    version = publish(policy, owner)
    services.acknowledge(user=leaver, version=version)
    time_machine.move_to(dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC), tick=False)
    assert not AcknowledgementRequest.objects.current().filter(user=leaver).exists()
    assert Acknowledgement.objects.filter(user=leaver).exists()


def test_review_without_change_moves_the_date_on_and_records_who(now, policy, owner, time_machine):
    publish(policy, owner)
    time_machine.move_to(dt.datetime(2027, 2, 15, 9, tzinfo=dt.UTC), tick=False)
    review = services.review_without_change(policy=policy, actor=owner, notes="Still right.")
    assert (review.reviewed_by, review.reviewed_on, review.next_review_date) == (
        owner,
        dt.date(2027, 2, 15),
        dt.date(2028, 2, 15),
    )
    assert fresh(policy).next_review_date == dt.date(2028, 2, 15)


def test_a_policy_without_a_published_version_cannot_be_reviewed(now, policy, owner):
    with pytest.raises(services.PolicyError):
        services.review_without_change(policy=policy, actor=owner)


def test_one_social_media_policy_per_organisation(now, school, policy, owner):
    other = services.create_policy(
        organisation=school, actor=owner, title="New Social Media Policy", owner=owner, is_social_media_policy=True
    )
    assert not fresh(policy).is_social_media_policy and fresh(other).is_social_media_policy


def test_a_policy_imported_from_a_text_file_becomes_a_draft(now, school, owner):
    from policies.importer import parse_policy_file

    text = b"Online Safety Policy\n\nDate reviewed: July 2025\nNext review date: July 2026\n\n1. Introduction\n\nWe keep children safe online.\n"
    policy = services.import_policy(
        organisation=school, actor=owner, parsed=parse_policy_file(text, "online-safety.txt")
    )
    version = policy.versions.get()
    assert policy.title == "Online Safety Policy" and version.is_draft
    assert version.approval_date == dt.date(2025, 7, 1) and policy.next_review_date == dt.date(2026, 7, 1)
    assert "<h2>" in version.html


def test_retiring_stops_the_asking(now, policy, owner, staff):
    publish(policy, owner)
    services.retire_policy(policy=policy, actor=owner)
    assert fresh(policy).acknowledgement_version is None
    assert services.open_request(staff, fresh(policy)) is None


def test_people_imported_after_publication_are_asked_at_once(now, school, policy, owner):
    from accounts.staff_import import import_staff

    version = publish(policy, owner)
    import_staff(organisation=school, data="First name,Last name,Email\nNew,Starter,new@school.example\n")
    request = AcknowledgementRequest.objects.get(user__email="new@school.example")
    assert request.version == version and request.due_date == dt.date(2026, 3, 16)
