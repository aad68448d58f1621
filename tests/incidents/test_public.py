"""The public "report a concern" page (004 §4.1, §7.11, §8.4-8.5): no sign-in, fewer fields, rate-limited, a spam trap."""

import pytest
from django.core import mail

from incidents.models import Category, Incident

pytestmark = pytest.mark.django_db

URL = "/report/oak-primary/"


def data(**overrides):
    values = {
        "public_reporter": "parent",
        "category": Category.UNOFFICIAL_ACCOUNT,
        "platform": "instagram",
        "occurred_at": "2026-03-01T18:30",
        "location": "@oakprimary_official_not",
        "description": "An Instagram account uses the school logo and posts photos of the playground.",
        "contact_name": "",
        "contact_details": "",
        "website": "",
    }
    values.update(overrides)
    return values


def test_anyone_can_report_without_signing_in_and_it_lands_as_public(
    client, now, school, celery_eager, django_capture_on_commit_callbacks, dsl
):
    page = client.get(URL)
    assert page.status_code == 200 and "Report a concern to Oak Primary" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data(contact_details="parent@example.net"))
    assert response.status_code == 302 and response["Location"] == "/report/oak-primary/thanks/"
    incident = Incident.objects.get()
    assert incident.is_public and incident.reported_by is None and incident.public_reporter == "parent"
    assert incident.contact_details == "parent@example.net"
    thanks = client.get(response["Location"]).content.decode()
    assert incident.reference in thanks and "What happens next" in thanks
    assert [m.to for m in mail.outbox] == [[dsl.email]]


def test_contact_details_are_optional(client, now, school):
    assert client.post(URL, data()).status_code == 302
    assert Incident.objects.get().contact_name == ""


def test_the_spam_trap_stores_nothing_and_says_nothing(client, now, school):
    response = client.post(URL, data(website="http://spam.example"))
    assert response.status_code == 302 and not Incident.objects.exists()
    assert "Your reference is" not in client.get(response["Location"]).content.decode()


def test_it_is_rate_limited_per_address(client, now, school, settings):
    settings.INCIDENT_PUBLIC_REPORTS_PER_HOUR = 2
    for n in range(2):
        assert client.post(URL, data(description=f"Concern {n}"), REMOTE_ADDR="203.0.113.9").status_code == 302
    response = client.post(URL, data(description="Concern 3"), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429 and "Too many reports" in response.content.decode()
    assert Incident.objects.count() == 2
    assert client.post(URL, data(), REMOTE_ADDR="203.0.113.10").status_code == 302


def test_a_date_in_the_future_is_refused(client, now, school):
    response = client.post(URL, data(occurred_at="2026-04-01T10:00"))
    assert "cannot be in the future" in response.content.decode() and not Incident.objects.exists()


def test_an_unknown_organisation_is_not_found(client, db):
    assert client.get("/report/nowhere/").status_code == 404


def test_the_public_form_takes_no_files(client, now, school):
    page = client.get(URL).content.decode()
    assert 'type="file"' not in page and "do not send us nude or semi-nude images" in page
