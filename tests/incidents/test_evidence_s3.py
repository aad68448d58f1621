"""Evidence in an S3 bucket (issue 16, stateless web nodes): with PRIVATE_STORAGE=s3 the report
form's files land in the bucket and nowhere on disk, are streamed only through the permission
checking view (a download, nosniff, never cached), and the bucket itself refuses anyone without
the portal's credentials. A real S3 server (SeaweedFS, tests/s3server.py), never a mock."""

import datetime as dt
import urllib.error
import urllib.request

import pytest
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage

from incidents import retention, services
from incidents.models import Incident, Outcome, RetentionDecision
from tests.incidents.conftest import SHOWN, png_bytes, report, triaged, upload
from tests.incidents.test_views import form_data


@pytest.fixture(autouse=True)
def _no_mfa(school, other_school):
    for org in (school, other_school):
        org.require_mfa = False
        org.save()


def anonymous_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_evidence_from_the_report_form_lives_in_the_bucket_and_downloads_only_through_the_view(
    client, school, staff, dsl, colleague, other_dsl, s3_storage, settings
):
    screenshot = png_bytes(size=(64, 48))
    client.force_login(staff)
    response = client.post(
        "/incidents/report/",
        form_data(
            **{"evidence-0-file": upload("screenshot.png", screenshot), "evidence-0-shown_at": "2026-03-01T20:05"}
        ),
    )
    assert response.status_code == 302
    evidence = Incident.objects.get().evidence.get()
    assert isinstance(default_storage, S3Storage)

    # In the bucket, under the same unguessable names as on disk; nothing on the local disk.
    names = sorted(filter(None, (evidence.original.name, evidence.viewable.name)))
    assert s3_storage.keys() == names
    assert s3_storage.read(evidence.original.name) == screenshot
    assert not settings.PRIVATE_MEDIA_ROOT.exists()

    # Through the view, byte for byte, as a download that is never sniffed or cached.
    client.force_login(dsl)
    original = client.get(f"/incidents/evidence/{evidence.pk}/?original=1")
    assert original.status_code == 200 and b"".join(original.streaming_content) == screenshot
    assert original["Content-Disposition"].startswith("attachment;")
    assert original["X-Content-Type-Options"] == "nosniff" and original["Cache-Control"] == "no-store, private"
    clean = client.get(f"/incidents/evidence/{evidence.pk}/")
    assert clean.status_code == 200 and clean["Content-Disposition"].startswith("attachment;")
    assert b"".join(clean.streaming_content) == s3_storage.read(evidence.viewable.name)

    # Refused to those who may not open the incident, and to nobody signed in.
    for person in (colleague, other_dsl):
        client.force_login(person)
        assert client.get(f"/incidents/evidence/{evidence.pk}/?original=1").status_code == 404
    client.logout()
    assert client.get(f"/incidents/evidence/{evidence.pk}/").status_code == 302

    # The bucket answers no one without the portal's credentials: not its plain URL, not a listing.
    for name in names:
        assert anonymous_get(s3_storage.url(name)) == 403
    assert anonymous_get(f"{s3_storage.server.endpoint_url}/{s3_storage.bucket}/") == 403
    assert "X-Amz-Signature" in default_storage.url(evidence.original.name)  # never a public URL


def test_destroying_a_record_removes_its_evidence_from_the_bucket(
    client, school, staff, dsl, s3_storage, django_capture_on_commit_callbacks
):
    incident = triaged(report(school, staff, files=[(upload(), SHOWN)]), dsl)
    evidence = incident.evidence.get()
    assert s3_storage.keys() == sorted(filter(None, (evidence.original.name, evidence.viewable.name)))
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    # Due for review (the bucket signs requests with the real clock: the clock is not moved).
    Incident.objects.filter(pk=incident.pk).update(retention_review_on=dt.date.today() - dt.timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        retention.review_retention(
            incident=Incident.objects.get(pk=incident.pk), actor=dsl, decision=RetentionDecision.DESTROY, reason="Time."
        )

    assert s3_storage.keys() == []
    client.force_login(dsl)
    assert client.get(f"/incidents/evidence/{evidence.pk}/?original=1").status_code == 404
