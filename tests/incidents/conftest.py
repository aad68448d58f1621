import datetime as dt
import io
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Role
from incidents import services
from incidents.models import Category
from tests.factories import member

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday 2 March 2026, 09:00 in London


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = settings.MEDIA_ROOT


@pytest.fixture
def now(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def deputy(school):
    return member(school, Role.DEPUTY_DSL, email="deputy@school.example")


@pytest.fixture
def head(school):
    return member(school, Role.LEAD, Role.SLT, email="head@school.example")


@pytest.fixture
def osc(school):
    return member(school, Role.ONLINE_SAFETY, email="osc@school.example")


@pytest.fixture
def colleague(school):
    return member(school, email="colleague@school.example")


@pytest.fixture
def trust_dsl(trust):
    return member(trust, Role.DSL, email="trust.dsl@school.example")


@pytest.fixture
def other_dsl(other_school):
    return member(other_school, Role.DSL, email="dsl@ash.example")


def png_bytes(size=(40, 30), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG", **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(name="screenshot.png", data=None, content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else png_bytes(), content_type=content_type)


SHOWN = dt.datetime(2026, 3, 1, 20, 15, tzinfo=dt.UTC)


_reports = itertools.count(1)


def report(organisation, reporter, category=Category.OTHER, *, files=None, **fields):
    """A report; each call describes a different event, as separate reports do."""
    defaults = {
        "occurred_at": dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC),
        "description": f"A parent posted an abusive comment about a teacher (post {next(_reports)}).",
        "platform": "facebook",
        "location": "https://facebook.example/groups/parents/123",
    }
    defaults.update(fields)
    return services.report_incident(
        organisation=organisation, reporter=reporter, category=category, files=files or [], **defaults
    )


def triaged(incident, actor, *, severity="medium", safeguarding=None, assignee=None, **kwargs):
    return services.triage(
        incident=incident,
        actor=actor,
        severity=severity,
        is_safeguarding=incident.is_safeguarding if safeguarding is None else safeguarding,
        assignee=assignee or actor,
        first_assessment="Screenshots saved; the parent is known to us.",
        **kwargs,
    )
