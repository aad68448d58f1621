"""Policy documents in an S3 bucket (issue 16, stateless web nodes): an uploaded PDF is kept in
the bucket and nowhere on disk, streamed only through the permission checking view (shown in the
page, as on disk, with nosniff), and refused by the bucket to anyone without the portal's
credentials. A real S3 server (SeaweedFS, tests/s3server.py), never a mock."""

import io

import pytest

from policies import services
from tests.factories import member
from tests.incidents.test_evidence_s3 import anonymous_get

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, other_school):
    for org in (school, other_school):
        org.require_mfa = False
        org.save()


def test_a_policy_document_lives_in_the_bucket_and_is_read_only_through_the_view(
    client, policy, owner, staff, other_school, s3_storage, settings
):
    version = services.create_version(
        policy=policy, actor=owner, upload=io.BytesIO(PDF), label="1", source_format="pdf"
    )
    url = f"/policies/versions/{version.pk}/document/"
    assert s3_storage.keys() == [version.document.name] and s3_storage.read(version.document.name) == PDF
    assert not settings.PRIVATE_MEDIA_ROOT.exists()

    client.force_login(staff)
    assert client.get(url).status_code == 404  # a draft: only those who may edit it
    client.force_login(owner)
    assert b"".join(client.get(url).streaming_content) == PDF

    services.publish_version(version=version, actor=owner)
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf" and response["X-Content-Type-Options"] == "nosniff"

    client.force_login(member(other_school, email="reader@ash.example"))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    assert anonymous_get(s3_storage.url(version.document.name)) == 403
