import datetime as dt
import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from core.models import AuditEntry
from incidents import services
from incidents.models import Category, Evidence, Incident, IncidentAction, Status
from tests.factories import member
from tests.incidents.conftest import SHOWN, jpeg_with_gps, png_bytes, report, triaged, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, other_school, outside_school):
    for org in (school, trust, other_school, outside_school):
        org.require_mfa = False
        org.save()


def form_data(**overrides):
    data = {
        "category": Category.ABUSE_OF_STAFF,
        "platform": "facebook",
        "occurred_at": "2026-03-01T20:00",
        "location": "https://facebook.example/groups/parents",
        "description": "A parent called me a liar in the parents' group.",
        "pupils": "",
        "evidence-TOTAL_FORMS": "3",
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "10",
    }
    data.update(overrides)
    return data


def test_staff_report_with_a_screenshot_and_get_a_reference(client, now, school, staff, dsl):
    client.force_login(staff)
    assert "Report an online-safety incident" in client.get("/incidents/report/").content.decode()
    response = client.post(
        "/incidents/report/",
        form_data(
            **{
                "evidence-0-file": upload("screenshot.png", png_bytes()),
                "evidence-0-shown_at": "2026-03-01T20:05",
                "pupils": "JS, Year 8\nA.B. 4C",
                "subjects": [],
                "affected": [staff.pk],
            }
        ),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/submitted/"
    page = client.get(response["Location"]).content.decode()
    assert f'Your reference is <strong class="fs-4" id="reference">{incident.reference}</strong>' in page
    assert "What happens next" in page
    assert incident.pupils == [{"initials": "JS", "group": "Year 8"}, {"initials": "AB", "group": "4C"}]
    assert incident.evidence.get().shown_at == dt.datetime(2026, 3, 1, 20, 5, tzinfo=dt.UTC)


def test_pupils_are_named_by_initials_and_year_group_only(client, now, school, staff):
    client.force_login(staff)
    response = client.post("/incidents/report/", form_data(pupils="John Smith"))
    assert "Do not write pupils" in response.content.decode() and not Incident.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_at": "2026-03-05T10:00"}, "cannot be in the future"),
        (
            {"evidence-0-file": ("x.png", b"MZ\x90\x00" + b"\x00" * 100), "evidence-0-shown_at": "2026-03-01T20:05"},
            "not a PNG, JPEG, WebP or PDF file",
        ),
        (
            {
                "evidence-0-file": ("pic.jpg", b"<html><body>hi</body></html>"),
                "evidence-0-shown_at": "2026-03-01T20:05",
            },
            "whatever its name says",
        ),
        ({"evidence-0-file": ("s.png", None)}, "Give the date and time this file shows"),
        ({"evidence-0-file": ("s.png", None), "evidence-0-shown_at": "2027-01-01T10:00"}, "cannot be in the future"),
        ({"evidence-TOTAL_FORMS": "11"}, "at most 10 files"),
        (
            {
                "category": Category.NUDE_IMAGERY,
                "evidence-0-file": ("s.png", None),
                "evidence-0-shown_at": "2026-03-01T20:05",
            },
            "Do not upload, copy or forward nude or semi-nude images",
        ),
    ],
)
def test_bad_reports_get_a_clear_message_and_change_nothing(client, now, school, staff, overrides, message):
    client.force_login(staff)
    data = form_data()
    for key, value in overrides.items():
        if isinstance(value, tuple):
            name, content = value
            value = upload(name, content if content is not None else png_bytes())
        data[key] = value
    response = client.post("/incidents/report/", data)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Incident.objects.exists() and not Evidence.objects.exists()


def test_the_nude_imagery_form_explains_why_it_takes_no_files(client, now, school, staff):
    client.force_login(staff)
    page = client.get("/incidents/report/").content.decode()
    assert "do not upload, copy, forward or screenshot the image" in page and "UKCIS" in page
    response = client.post(
        "/incidents/report/", form_data(category=Category.NUDE_IMAGERY, description="Told by a pupil.")
    )
    assert response.status_code == 302 and Incident.objects.get().category == Category.NUDE_IMAGERY


def test_the_reporter_sees_the_status_but_not_the_notes(client, now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.record_action(incident=incident, actor=dsl, kind="meeting", happened_at=SHOWN, text="SECRET meeting note.")
    client.force_login(staff)
    assert client.get(f"/incidents/{incident.pk}/")["Location"] == f"/incidents/mine/{incident.pk}/"
    page = client.get(f"/incidents/mine/{incident.pk}/").content.decode()
    assert "In progress" in page and incident.reference in page
    assert "SECRET" not in page and "Screenshots saved" not in page
    assert incident.reference in client.get("/incidents/mine/").content.decode()


def test_a_dsl_triages_records_actions_and_closes_through_the_pages(client, now, school, staff, dsl):
    incident = report(school, staff)
    client.force_login(dsl)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Awaiting triage:</strong> 1\xa0day left" in page
    response = client.post(
        f"/incidents/{incident.pk}/triage/",
        {
            "severity": "high",
            "is_safeguarding": "no",
            "assignee": dsl.pk,
            "first_assessment": "Abusive; ask for removal.",
        },
    )
    assert response.status_code == 302
    client.post(
        f"/incidents/{incident.pk}/actions/",
        {"kind": "removal_request", "happened_at": "2026-03-02T09:00", "text": "Asked the parent to remove the post."},
    )
    entry = IncidentAction.objects.get(kind="removal_request")
    client.post(f"/incidents/{incident.pk}/addenda/", {"corrects": entry.pk, "text": "It was by phone, not in person."})
    response = client.post(f"/incidents/{incident.pk}/close/", {"outcome": "content_removed", "reason": "Removed."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED and incident.outcome == "content_removed"
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "It was by phone" in page and "Asked the parent to remove the post." in page
    actions = AuditEntry.objects.filter(object_id=str(incident.pk)).values_list("action", flat=True)
    assert {"incident.triaged", "incident.action_recorded", "incident.closed"} <= set(actions)


def test_a_move_the_status_does_not_allow_is_refused_with_a_message(client, now, school, staff, dsl):
    incident = report(school, staff)
    client.force_login(dsl)
    response = client.post(f"/incidents/{incident.pk}/status/", {"to": "referred"}, follow=True)
    assert "cannot move to referred" in response.content.decode()
    response = client.post(f"/incidents/{incident.pk}/close/", {"outcome": "resolved"}, follow=True)
    assert "Triage the incident before closing it" in response.content.decode()
    assert Incident.objects.get().status == Status.NEW


def test_closing_with_no_action_needs_a_reason(client, now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    client.force_login(dsl)
    response = client.post(f"/incidents/{incident.pk}/close/", {"outcome": "no_further_action", "reason": ""})
    assert response.status_code == 400 and "Say why no action is taken" in response.content.decode()
    assert Incident.objects.get().status == Status.TRIAGED


def test_reopening_needs_a_reason_through_the_page(client, now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.close_incident(incident=incident, actor=dsl, outcome="resolved")
    client.force_login(dsl)
    response = client.post(f"/incidents/{incident.pk}/reopen/", {"reason": ""}, follow=True)
    assert "Say why" in response.content.decode() and Incident.objects.get().status == Status.CLOSED
    client.post(f"/incidents/{incident.pk}/reopen/", {"reason": "New posts."})
    assert Incident.objects.get().status == Status.IN_PROGRESS


def test_a_triage_by_someone_not_on_the_dsl_team_is_refused(client, now, school, staff, slt):
    incident = report(school, staff, Category.UNOFFICIAL_ACCOUNT)
    client.force_login(slt)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 200
    response = client.post(
        f"/incidents/{incident.pk}/triage/",
        {"severity": "low", "is_safeguarding": "no", "assignee": slt.pk, "first_assessment": "x"},
    )
    assert response.status_code == 403 and Incident.objects.get().status == Status.NEW


def test_an_incident_of_another_organisation_is_not_found(client, now, school, other_school, staff):
    incident = report(school, staff)
    other = member(other_school, Role.DSL, Role.LEAD)
    client.force_login(other)
    for url in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/chronology.csv"):
        assert client.get(url).status_code == 404
    assert client.post(f"/incidents/{incident.pk}/actions/", {"kind": "note"}).status_code == 404
    assert client.get("/organisations/oak-primary/incidents/").status_code == 404


def test_workflow_actions_need_post(client, now, school, staff, dsl):
    incident = report(school, staff)
    client.force_login(dsl)
    for action in (
        "triage",
        "actions",
        "addenda",
        "status",
        "close",
        "reopen",
        "evidence",
        "legal-hold",
        "retention",
        "breach",
    ):
        assert client.get(f"/incidents/{incident.pk}/{action}/").status_code == 405, action


def test_evidence_is_a_download_with_nosniff_and_without_metadata(client, now, school, staff, dsl):
    incident = report(school, staff, files=[(upload("IMG.jpg", jpeg_with_gps(), "image/jpeg"), SHOWN)])
    evidence = incident.evidence.get()
    client.force_login(dsl)
    response = client.get(f"/incidents/evidence/{evidence.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == "image/jpeg"
    body = b"".join(response.streaming_content)
    assert b"PhoneMaker" not in body and b"Exif" not in body
    original = client.get(f"/incidents/evidence/{evidence.pk}/?original=1")
    assert original["Content-Type"] == "application/octet-stream" and b"PhoneMaker" in b"".join(
        original.streaming_content
    )
    assert AuditEntry.objects.filter(action="incident.evidence_downloaded").count() == 2


def test_evidence_files_are_not_under_a_public_url(client, now, school, staff, dsl):
    report(school, staff, files=[(upload(), SHOWN)])
    path = Evidence.objects.get().original.name
    assert client.get(f"/media/{path}").status_code == 404


def test_evidence_can_be_added_later_by_the_handler(client, now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    client.force_login(dsl)
    client.post(
        f"/incidents/{incident.pk}/evidence/",
        {
            "evidence-TOTAL_FORMS": "1",
            "evidence-INITIAL_FORMS": "0",
            "evidence-0-file": upload("later.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
            "evidence-0-shown_at": "2026-03-01T21:00",
        },
    )
    assert incident.evidence.get().content_type == "application/pdf"
    assert incident.actions.filter(kind="evidence").exists()


def test_the_chronology_exports_as_csv_and_pdf(client, now, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.record_action(
        incident=incident, actor=dsl, kind="police", happened_at=SHOWN, text="Called 101.", external_reference="CR-42"
    )
    client.force_login(dsl)
    download = client.get(f"/incidents/{incident.pk}/chronology.csv")
    assert download.content.startswith("\ufeff".encode()) and "no-store" in download["Cache-Control"]
    assert download["Content-Disposition"] == f'attachment; filename="{incident.reference}-chronology.csv"'
    csv_text = download.content.decode("utf-8-sig")
    assert "Referral to the police" in csv_text and "CR-42" in csv_text and incident.reference in csv_text
    pdf = client.get(f"/incidents/{incident.pk}/chronology.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="incident.exported").count() == 2


def test_the_dashboard_shows_figures_and_the_trust_rollup_suppresses_small_numbers(
    client, now, trust, school, staff, trust_dsl
):
    for _ in range(6):
        report(school, staff)
    other = member(trust.members.exclude(pk=school.pk).first() or school)
    report(other.memberships.first().organisation, other)
    client.force_login(trust_dsl)
    page = client.get("/organisations/oak-trust/incidents/dashboard/").content.decode()
    assert "Across the trust" in page and "&lt;5" in page and ">6<" in page
    assert "Incidents reported each month" in page


def test_the_dashboard_median_time_to_triage_is_the_middle_value_or_the_mean_of_the_middle_two(now, school, staff, dsl):
    from incidents import dashboard as figures

    def median_hours():
        incidents = figures.scoped(dsl, school)
        shown = figures.deadlines(incidents, timezone.now())["median_hours"]
        assert shown == figures.median_hours_to_triage(incidents, timezone.now())  # counting for itself
        waits = [(i.triaged_at - i.reported_at).total_seconds() for i in incidents.filter(triaged_at__isnull=False)]
        assert shown == (round(statistics.median(waits) / 3600, 1) if waits else None)
        return shown

    assert median_hours() is None
    for minutes in (60, 150, 195):
        incident = report(school, staff)
        Incident.objects.filter(pk=incident.pk).update(
            status=Status.TRIAGED, triaged_at=incident.reported_at + dt.timedelta(minutes=minutes)
        )
    assert median_hours() == 2.5
    incident = report(school, staff)
    Incident.objects.filter(pk=incident.pk).update(
        status=Status.TRIAGED, triaged_at=incident.reported_at + dt.timedelta(hours=30)
    )
    assert median_hours() == 2.9  # (2.5 h + 3.25 h) / 2


def test_the_records_page_lists_what_is_due_and_saves_retention_periods(client, now, time_machine, school, staff, dsl):
    incident = triaged(report(school, staff), dsl)
    services.close_incident(incident=incident, actor=dsl, outcome="resolved")
    client.force_login(dsl)
    data = {c: 6 for c in Category.values} | {"abuse_of_staff": 8}
    client.post("/organisations/oak-primary/incidents/records/", data)
    from incidents.services import retention_years

    assert retention_years(school, "abuse_of_staff") == 8
    time_machine.move_to(dt.datetime(2032, 3, 3, 9, tzinfo=dt.UTC), tick=False)
    client.force_login(dsl)
    assert incident.reference in client.get("/organisations/oak-primary/incidents/records/").content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(
    "url",
    [
        "/organisations/oak-primary/incidents/?show=all",
        "/organisations/oak-primary/incidents/dashboard/",
        "/organisations/oak-trust/incidents/dashboard/",
        "/incidents/mine/",
        "/",
    ],
)
def test_lists_and_the_dashboard_run_the_same_queries_for_5_and_40_incidents(
    client, now, school, staff, dsl, trust_dsl, url
):
    viewer = trust_dsl if "oak-trust" in url else (staff if url == "/incidents/mine/" else dsl)

    def add(n):
        for i in range(n):
            incident = report(school, staff, [Category.ABUSE_OF_STAFF, Category.PUPIL_CONTACT][i % 2])
            if i % 3 == 0:
                triaged(incident, dsl)

    add(5)
    client.force_login(viewer)
    small = _queries(client, url)
    add(35)
    assert _queries(client, url) == small


def test_the_home_page_shows_what_needs_the_dsl_and_the_reporter(client, now, school, staff, dsl):
    waiting = report(school, staff)
    mine = triaged(report(school, staff), dsl)
    client.force_login(dsl)
    page = client.get("/").content.decode()
    assert "Incidents awaiting triage" in page and waiting.reference in page and "left" in page
    assert "Your cases" in page and mine.reference in page
    client.force_login(staff)
    page = client.get("/").content.decode()
    assert "Your reports" in page and mine.reference in page and "Triaged" in page
    assert "awaiting triage</h3>" not in page


def test_the_slt_case_page_gives_each_element_its_own_id(client, now, school, staff, slt, dsl):
    """Two crispy forms on one page once shared ``id="submit-id-submit"`` (core.forms.form_helper)."""
    import re

    incident = report(school, staff)
    triaged(incident, dsl, safeguarding=False, assignee=slt)
    client.force_login(slt)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert page.count("<form") >= 2 and "submit-id-submit" not in page
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_the_report_page_title_names_the_organisation(client, school, staff):
    client.force_login(staff)
    page = client.get("/incidents/report/").content.decode()
    assert f"<title>Report an incident – {school.name} – Policy Portal</title>" in page
