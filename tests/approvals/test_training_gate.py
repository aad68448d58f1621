"""Training counts for the approval gate only when SLT can be satisfied with it (seed 001 §4):
a record made or verified by an administrator or SLT. A self-declared one, certificate or
not, counts once one of them verifies it (the lead's decision: anyone can upload any file)."""

import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from approvals import errors, services, training
from approvals.models import RequestStatus, TrainingRecord
from core.models import AuditEntry
from policies import services as policy_services
from tests.approvals.conftest import START, submitted_request
from tests.factories import member
from tests.incidents.conftest import jpeg_with_gps, png_bytes
from tests.incidents.test_evidence import huge_png_header

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF\n"
PNG = png_bytes()
JPEG = jpeg_with_gps()


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, other_school, outside_school):
    for org in (school, trust, other_school, outside_school):
        org.require_mfa = False
        org.save()


def acknowledged(user, policy):
    policy.refresh_from_db()
    policy_services.acknowledge(user=user, version=policy.acknowledgement_version)


def own_training(user, **changes):
    fields = {
        "course": "Social media for staff",
        "completed_on": dt.date(2026, 2, 1),
        "expires_on": dt.date(2028, 2, 1),
    }
    return training.record_training(user=user, actor=user, **{**fields, **changes})


def certificate(content=PDF, name="certificate.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type)


# The gate
# ------------------------------------------------------------------------------


def test_self_recorded_training_does_not_count_until_verified(client, school, staff, runner, slt, smp):
    acknowledged(runner, smp)
    record = own_training(runner)
    assert not record.is_verified
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalRefused) as refused:
        services.decide(account_request=request, decider=slt, kind="approve")
    assert refused.value.gaps == [
        f"{runner.full_name} has an in-date social-media training record that no administrator or SLT member has verified yet."
    ]
    client.force_login(slt)
    response = client.post(f"/approvals/training/{record.pk}/verify/")
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.verified_by, record.verified_at) == (slt, START)
    entry = AuditEntry.objects.get(action="approvals.training_verified")
    assert (entry.actor, entry.from_state, entry.to_state) == (slt, "unverified", "verified")
    assert services.decide(account_request=request, decider=slt, kind="approve").status == RequestStatus.APPROVED


def test_a_certificate_alone_does_not_make_it_count(school, staff, runner, slt, smp):
    acknowledged(runner, smp)
    own_training(runner, evidence=certificate())
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalRefused, match="no administrator or SLT member has verified"):
        services.decide(account_request=request, decider=slt, kind="approve")


def test_verified_but_expired_training_does_not_count(school, staff, runner, slt, smp, school_admin):
    acknowledged(runner, smp)
    training.record_training(
        user=runner, actor=school_admin, course="c", completed_on=dt.date(2024, 1, 1), expires_on=dt.date(2026, 3, 1)
    )
    request = submitted_request(school, staff, [runner])
    with pytest.raises(errors.ApprovalRefused, match="has no in-date social-media training record"):
        services.decide(account_request=request, decider=slt, kind="approve")


@pytest.mark.parametrize("who", ["school_admin", "slt"])
def test_training_an_administrator_or_slt_records_for_someone_counts_at_once(client, request, runner, who):
    recorder = request.getfixturevalue(who)
    client.force_login(recorder)
    response = client.post(
        "/approvals/training/",
        {"person": runner.pk, "course": "Online safety", "completed_on": "2026-02-01", "expires_on": "2028-02-01"},
    )
    assert response.status_code == 302
    record = TrainingRecord.objects.get()
    assert (record.user, record.recorded_by, record.verified_by, record.verified_at) == (
        runner,
        recorder,
        recorder,
        START,
    )
    assert TrainingRecord.objects.in_date().verified().get() == record


def test_what_the_person_records_for_themselves_is_unverified_even_for_an_administrator(school_admin):
    assert not own_training(school_admin).is_verified


def test_plain_staff_cannot_record_training_for_someone_else(staff, runner):
    with pytest.raises(errors.ApprovalError, match="for yourself, or for staff you oversee"):
        training.record_training(
            user=runner, actor=staff, course="c", completed_on=dt.date(2026, 2, 1), expires_on=dt.date(2028, 2, 1)
        )
    assert not TrainingRecord.objects.exists()


# Verifying
# ------------------------------------------------------------------------------


def verify(client, record):
    return client.post(f"/approvals/training/{record.pk}/verify/")


def test_nobody_verifies_their_own_training(client, slt, school_admin):
    for person in (slt, school_admin):
        record = own_training(person)
        client.force_login(person)
        assert verify(client, record).status_code == 403
        with pytest.raises(errors.ApprovalError, match="nobody verifies their own"):
            training.verify_training(record=record, actor=person)
    assert not TrainingRecord.objects.verified().exists()


def test_only_administrators_and_slt_of_the_persons_organisation_verify(
    client, school, other_school, runner, staff, outsider
):
    record = own_training(runner)
    other_school_slt = member(other_school, Role.SLT, Role.ADMIN, email="ash.slt@school.example")
    line_manager = member(school, Role.LINE_MANAGER, Role.ONLINE_SAFETY, email="lm@school.example")
    for person in (staff, line_manager, outsider, other_school_slt):
        client.force_login(person)
        assert verify(client, record).status_code == 404  # they cannot see the record at all
    record.refresh_from_db()
    assert not record.is_verified


def test_trust_slt_verify_the_training_of_a_member_schools_staff(client, runner, trust_slt):
    record = own_training(runner)
    client.force_login(trust_slt)
    assert verify(client, record).status_code == 302
    record.refresh_from_db()
    assert record.verified_by == trust_slt


def test_verifying_twice_changes_nothing(client, runner, slt, school_admin):
    record = own_training(runner)
    training.verify_training(record=record, actor=slt)
    client.force_login(school_admin)
    response = client.post(f"/approvals/training/{record.pk}/verify/", follow=True)
    assert "already verified by" in response.content.decode()
    record.refresh_from_db()
    assert record.verified_by == slt and AuditEntry.objects.filter(action="approvals.training_verified").count() == 1


def test_verifying_needs_post(client, runner, slt):
    record = own_training(runner)
    client.force_login(slt)
    assert client.get(f"/approvals/training/{record.pk}/verify/").status_code == 405


def test_the_training_page_shows_unverified_records_and_offers_slt_to_verify(client, runner, slt):
    record = own_training(runner)
    client.force_login(runner)
    page = client.get("/approvals/training/").content.decode()
    assert "Unverified" in page and f"/approvals/training/{record.pk}/verify/" not in page
    client.force_login(slt)
    page = client.get("/approvals/training/").content.decode()
    assert "Unverified" in page and f"/approvals/training/{record.pk}/verify/" in page
    training.verify_training(record=record, actor=slt)
    page = client.get("/approvals/training/").content.decode()
    assert "Unverified" not in page and f"By {slt.full_name}" in page


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_training_page_takes_the_same_queries_for_few_or_many_records(client, school, slt):
    client.force_login(slt)
    own_training(member(school))
    few = _queries(client, "/approvals/training/")
    for _ in range(10):
        own_training(member(school))
    assert _queries(client, "/approvals/training/") == few


# Expiry and certificates
# ------------------------------------------------------------------------------


def test_an_expiry_more_than_five_years_after_completion_is_refused(client, staff):
    client.force_login(staff)
    data = {"person": staff.pk, "course": "c", "completed_on": "2026-02-01", "expires_on": "2031-02-02"}
    response = client.post("/approvals/training/", data)
    assert "at most 5 years after the completion date (by 01 February 2031)" in response.content.decode()
    assert not TrainingRecord.objects.exists()
    assert client.post("/approvals/training/", {**data, "expires_on": "2031-02-01"}).status_code == 302


def test_five_years_from_29_february_ends_on_28_february(staff):
    with pytest.raises(errors.ApprovalError, match="by 28 February 2029"):
        own_training(staff, completed_on=dt.date(2024, 2, 29), expires_on=dt.date(2029, 3, 1))
    assert own_training(staff, completed_on=dt.date(2024, 2, 29), expires_on=dt.date(2029, 2, 28))


@pytest.mark.parametrize(
    "content,name,message",
    [
        (b"<html><script>alert(1)</script></html>", "certificate.pdf", "is not a PNG, JPEG, WebP or PDF file"),
        (b"GIF89a" + b"\x00" * 10, "certificate.gif", "is not a PNG, JPEG, WebP or PDF file"),
        (b"", "empty.pdf", "is empty: choose another"),
        (b"%PDF-1.7\n1 0 obj\n", "cut-short.pdf", "is not a complete PDF file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "broken.png", "could not be read as an image"),
        (huge_png_header(), "bomb.png", "declares more pixels than an image"),
    ],
    ids=["html", "gif", "empty", "cut-short-pdf", "broken-png", "decompression-bomb"],
)
def test_a_certificate_gets_the_checks_evidence_gets(client, staff, content, name, message):
    """The same checks as incidents' evidence (core.uploads), not a copy of them."""
    client.force_login(staff)
    data = {"person": staff.pk, "course": "c", "completed_on": "2026-02-01", "expires_on": "2028-02-01"}
    response = client.post("/approvals/training/", {**data, "evidence": certificate(content, name)})
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert not TrainingRecord.objects.exists()


def test_the_service_refuses_a_certificate_of_another_type_too(staff):
    with pytest.raises(errors.ApprovalError, match="is not a PNG, JPEG, WebP or PDF file"):
        own_training(staff, evidence=certificate(b"<svg onload=alert(1)>", "c.png", "image/png"))
    assert not TrainingRecord.objects.exists()


def test_a_photographed_certificate_loses_its_location_and_camera_details(staff):
    record = own_training(staff, evidence=certificate(JPEG, "photo.jpg", "image/jpeg"))
    kept = record.evidence.read()
    assert kept.startswith(b"\xff\xd8\xff") and kept != JPEG
    assert b"PhoneMaker" in JPEG and b"PhoneMaker" not in kept and b"Exif" not in kept


def test_a_webp_certificate_is_kept_as_a_png(staff):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 90, 0)).save(out, "WEBP")
    record = own_training(staff, evidence=certificate(out.getvalue(), "cert.webp", "image/webp"))
    assert record.evidence.name.endswith(".png") and record.evidence.read().startswith(b"\x89PNG")


@pytest.mark.parametrize("content,extension", [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpg")], ids=["pdf", "png", "jpeg"])
def test_a_certificate_is_kept_under_a_random_name_with_its_real_type(staff, content, extension):
    record = own_training(staff, evidence=certificate(content, "../../My Certificate.html", "text/html"))
    folder, name = record.evidence.name.rsplit("/", 1)
    assert folder == f"training/{staff.pk}"
    assert "Certificate" not in name and ".." not in name and name.endswith(f".{extension}")
    assert len(name.split(".")[0]) == 32
    other = own_training(staff, evidence=certificate(content, "../../My Certificate.html", "text/html"))
    assert other.evidence.name != record.evidence.name


def test_a_certificate_is_served_as_an_opaque_download_never_cached(client, staff, slt):
    record = own_training(staff, evidence=certificate(PNG, "cert.html", "text/html"))
    for person in (staff, slt):  # the person, and SLT who verify it
        client.force_login(person)
        response = client.get(f"/approvals/training/{record.pk}/evidence/")
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and body.startswith(b"\x89PNG") and body == record.evidence.open().read()
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert f'filename="training-certificate-{record.pk}.png"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "no-store, private"


def test_others_cannot_download_a_certificate(client, school, staff, outsider):
    record = own_training(staff, evidence=certificate())
    for person in (member(school, email="colleague@school.example"), outsider):
        client.force_login(person)
        assert client.get(f"/approvals/training/{record.pk}/evidence/").status_code == 404


# Records made before verification existed
# ------------------------------------------------------------------------------


def test_existing_records_made_for_someone_else_become_verified_by_whoever_made_them(runner, school_admin):
    made_for = TrainingRecord.objects.create(
        user=runner, course="c", completed_on=START.date(), expires_on=dt.date(2028, 1, 1), recorded_by=school_admin
    )
    self_declared = TrainingRecord.objects.create(
        user=runner, course="c", completed_on=START.date(), expires_on=dt.date(2028, 1, 1), recorded_by=runner
    )
    migration = importlib.import_module("approvals.migrations.0004_verify_training_recorded_by_others")
    migration.verify_records_made_for_others(apps, None)
    made_for.refresh_from_db()
    self_declared.refresh_from_db()
    assert (made_for.verified_by, made_for.verified_at) == (school_admin, made_for.created_at)
    assert (self_declared.verified_by, self_declared.verified_at) == (None, None)
