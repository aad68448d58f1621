"""Training certificates in an S3 bucket (issue 16, stateless web nodes): uploaded through the
training form, kept in the bucket and nowhere on disk, streamed only through the permission
checking view as an opaque download, and refused by the bucket to anyone without the portal's
credentials. A real S3 server (SeaweedFS, tests/s3server.py), never a mock."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals.models import TrainingRecord
from tests.factories import member
from tests.incidents.test_evidence_s3 import anonymous_get

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, outside_school):
    for org in (school, outside_school):
        org.require_mfa = False
        org.save()


def test_a_certificate_from_the_form_lives_in_the_bucket_and_downloads_only_through_the_view(
    client, school, staff, slt, outsider, s3_storage, settings
):
    client.force_login(staff)
    response = client.post(
        "/approvals/training/",
        {
            "person": staff.pk,
            "course": "Social media for staff",
            "completed_on": "2026-02-01",
            "expires_on": "2028-02-01",
            "evidence": SimpleUploadedFile("My certificate.pdf", PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302
    record = TrainingRecord.objects.get()
    assert s3_storage.keys() == [record.evidence.name] and s3_storage.read(record.evidence.name) == PDF
    assert record.evidence.name.startswith(f"training/{staff.pk}/") and "certificate" not in record.evidence.name
    assert not settings.PRIVATE_MEDIA_ROOT.exists()

    for person in (staff, slt):  # the person, and SLT who verify it
        client.force_login(person)
        download = client.get(f"/approvals/training/{record.pk}/evidence/")
        assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
        assert download["Content-Disposition"].startswith("attachment;")
        assert download["Content-Type"] == "application/octet-stream"
        assert download["X-Content-Type-Options"] == "nosniff" and download["Cache-Control"] == "no-store, private"

    for person in (member(school, email="colleague@school.example"), outsider):
        client.force_login(person)
        assert client.get(f"/approvals/training/{record.pk}/evidence/").status_code == 404
    assert anonymous_get(s3_storage.url(record.evidence.name)) == 403
