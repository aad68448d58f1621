"""The evidence pack lists who has not yet acknowledged as well as who has (issue 14): for an
inspector, the outstanding and the overdue of the version that counts (000 §3: every member of
staff is deemed aware of the policy, so the pack shows who still has to read it)."""

import base64
import csv
import datetime as dt
import io
import re
import zlib

import pytest

from policies import services
from tests.factories import member
from tests.policies.conftest import START, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


def pdf_text(data: bytes) -> str:
    """The text drawn in a ReportLab PDF: its content streams decoded (ASCII85, then Flate)."""
    text = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        header, stream = data[max(0, match.start() - 120) : match.start()], match.group(1).strip()
        if b"ASCII85Decode" in header:
            stream = base64.a85decode(stream.removesuffix(b"~>"))
        if b"FlateDecode" in header:
            stream = zlib.decompress(stream)
        text += [part.decode("latin-1") for part in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", stream)]
    return " ".join(text)


def named(school, first_name, last_name):
    person = member(school, email=f"{first_name.lower()}@school.example")
    person.first_name, person.last_name = first_name, last_name
    person.save(update_fields=["first_name", "last_name"])
    return person


@pytest.fixture
def pack(now, school, policy, owner, time_machine):
    """Ada acknowledged; Ben is outstanding; Cy, asked earlier with a date now past, is overdue."""
    ada, ben, cy = (named(school, first, last) for first, last in [("Ada", "Adams"), ("Ben", "Brown"), ("Cy", "Cole")])
    version = publish(policy, owner, due=START.date() + dt.timedelta(days=14))
    services.acknowledge(user=ada, version=version)
    # Cy's own date is already past (a new starter's, say): overdue while Ben is still in time.
    cy.acknowledgement_requests.update(due_date=START.date() - dt.timedelta(days=1))
    return version, ada, ben, cy


def test_the_evidence_csv_lists_the_acknowledged_then_the_outstanding_and_overdue(client, pack, owner):
    version, ada, ben, cy = pack
    client.force_login(owner)
    rows = list(
        csv.reader(io.StringIO(client.get(f"/policies/{version.policy_id}/evidence.csv").content.decode("utf-8-sig")))
    )
    assert rows[0][-4:] == ["Status", "Due", "How", "SHA-256 of the signed sheet"]
    statuses = {row[1]: row[7] for row in rows[1:]}
    assert statuses["ada@school.example"] == "Acknowledged"
    assert next(row for row in rows if row[1] == "ada@school.example")[9] == "Signed in"
    assert statuses["ben@school.example"] == "Outstanding"
    assert statuses["cy@school.example"] == "Overdue"
    cy_row = next(row for row in rows if row[1] == "cy@school.example")
    assert cy_row[3] == version.label and cy_row[4] == "" and cy_row[8] == "2026-03-01"
    # The owner was asked too (everyone in the audience), and nobody appears twice.
    assert len({row[1] for row in rows[1:]}) == len(rows) - 1


def test_the_evidence_pdf_lists_the_outstanding_and_overdue(client, pack, owner):
    version, *_ = pack
    client.force_login(owner)
    text = pdf_text(client.get(f"/policies/{version.policy_id}/evidence.pdf").content)
    assert "Acknowledgements" in text and "Not yet acknowledged" in text
    after = text.split("Not yet acknowledged", 1)[1]
    assert "Ada Adams" in text.split("Not yet acknowledged", 1)[0] and "Ada Adams" not in after
    assert re.search(r"Cy Cole.*Overdue", after) and re.search(r"Ben Brown.*Outstanding", after)


def test_a_pack_with_everyone_acknowledged_says_so(client, now, school, policy, owner):
    version = publish(policy, owner)
    for person in [owner]:
        services.acknowledge(user=person, version=version)
    client.force_login(owner)
    text = pdf_text(client.get(f"/policies/{version.policy_id}/evidence.pdf").content)
    assert "Everyone asked has acknowledged the current version." in text


def test_a_leavers_outstanding_request_is_left_out(client, pack, owner):
    version, ada, ben, cy = pack
    ben.memberships.update(leaving_date=START.date() - dt.timedelta(days=1))
    client.force_login(owner)
    rows = client.get(f"/policies/{version.policy_id}/evidence.csv").content.decode("utf-8-sig")
    assert "ben@school.example" not in rows and "cy@school.example" in rows
