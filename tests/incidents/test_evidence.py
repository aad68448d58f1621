import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from incidents import evidence, services
from incidents.models import Evidence, Incident
from incidents.services import IncidentError
from tests.incidents.conftest import SHOWN, jpeg_with_gps, png_bytes, report, upload

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def huge_png_header(width=100_000, height=100_000) -> bytes:
    """A tiny file declaring an enormous image (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


class RawUpload(io.BytesIO):
    """An upload whose name is kept exactly as sent (Django's own classes strip folders already)."""

    def __init__(self, name, data):
        super().__init__(data)
        self.name, self.size = name, len(data)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.png", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "not a PNG, JPEG, WebP or PDF"),  # an executable
        ("page.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not a PNG, JPEG, WebP or PDF"),
        ("logo.jpg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "not a PNG"),
        ("bomb.png", huge_png_header(), "declares more pixels than an image of evidence needs"),
        ("wide.png", huge_png_header(30_000, 10), "declares 30,000 × 10 pixels"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "could not be read as an image"),
        ("../../etc/passwd.png", png_bytes(), "folder path"),
        ("C:\\Users\\me\\shot.png", png_bytes(), "folder path"),
        ("empty.png", b"", "is empty"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_kept(now, school, staff, name, data, message):
    with pytest.raises(IncidentError, match=message):
        report(school, staff, files=[(RawUpload(name, data), SHOWN)])
    assert not Incident.objects.exists() and not Evidence.objects.exists()


def test_an_oversized_file_is_refused(now, school, staff):
    big = png_bytes() + b"\x00" * (evidence.MAX_BYTES + 1)
    with pytest.raises(IncidentError, match="10 MB or less"):
        report(school, staff, files=[(upload("big.png", big), SHOWN)])
    assert not Incident.objects.exists()


def test_more_than_ten_files_are_refused_now_and_later(now, school, staff, dsl):
    with pytest.raises(IncidentError, match="at most 10 files"):
        report(school, staff, files=[(upload(f"s{i}.png"), SHOWN) for i in range(11)])
    incident = report(school, staff, files=[(upload(f"s{i}.png"), SHOWN) for i in range(9)])
    with pytest.raises(IncidentError, match="you can add 1 more"):
        services.add_evidence(incident=incident, actor=staff, files=[(upload(), SHOWN), (upload(), SHOWN)])
    assert incident.evidence.count() == 9


def test_the_time_a_file_shows_cannot_be_in_the_future(now, school, staff):
    import datetime as dt

    with pytest.raises(IncidentError, match="cannot be in the future"):
        report(school, staff, files=[(upload(), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))])


def test_images_are_reencoded_without_metadata_and_the_original_is_hashed(now, school, staff):
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825)  # the original has GPS
    report(school, staff, files=[(upload("IMG_0001.jpg", data, "image/jpeg"), SHOWN)])
    item = Evidence.objects.get()
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == len(data)
    assert item.uploaded_by == staff and item.content_type == "image/jpeg" and item.original_name == "IMG_0001.jpg"
    assert item.original.read() == data
    clean = Image.open(item.viewable.open("rb"))
    assert clean.format == "JPEG" and len(clean.getexif()) == 0 and "exif" not in clean.info
    assert "IMG_0001" not in item.original.name  # stored under a random name


def test_png_text_chunks_do_not_survive(now, school, staff):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "A. Person")
    report(school, staff, files=[(upload("s.png", png_bytes(pnginfo=info)), SHOWN)])
    clean = Image.open(Evidence.objects.get().viewable.open("rb"))
    assert "Author" not in clean.info


def test_webp_and_pdf_are_accepted_by_content(now, school, staff):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "WEBP")
    report(
        school,
        staff,
        files=[
            (upload("a.bin", out.getvalue(), "application/octet-stream"), SHOWN),
            (upload("b.txt", PDF, "text/plain"), SHOWN),
        ],
    )
    kinds = sorted(Evidence.objects.values_list("content_type", flat=True))
    assert kinds == ["application/pdf", "image/webp"]
    pdf = Evidence.objects.get(content_type="application/pdf")
    assert not pdf.viewable  # served as received


def test_evidence_rows_are_never_changed_or_deleted(now, school, staff):
    from core.models import RecordImmutable

    report(school, staff, files=[(upload(), SHOWN)])
    item = Evidence.objects.get()
    with pytest.raises(RecordImmutable):
        item.delete()
    with pytest.raises(RecordImmutable):
        Evidence.objects.all().delete()
