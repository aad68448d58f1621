"""The public "report a concern" page (004 §4.1, §7.11, §8.4-8.5): no sign-in, fewer fields, rate-limited,
a spam trap; screenshots under the same evidence rules as staff reports; a private status link."""

import datetime as dt
import hashlib
import io
import os
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from PIL import Image

from core.middleware import RequestBodyLimitMiddleware
from core.models import OutboxMessage
from incidents import evidence, public_reports, retention, services
from incidents.models import Category, Evidence, Incident, Outcome, PublicStatusLink, RetentionDecision, Status
from tests.incidents.conftest import SHOWN, jpeg_with_gps, report, triaged, upload
from tests.incidents.test_evidence import huge_png_header
from tests.mailbox import deliver, inbox

pytestmark = pytest.mark.django_db

URL = "/report/oak-primary/"
MB = 1024 * 1024


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
        "email": "",
        "website": "",
    }
    values.update(overrides)
    return values


def with_files(*files, **overrides):
    """The form as a browser sends it: the screenshots section, each file with the time it shows."""
    values = data(**overrides)
    values.update({"evidence-TOTAL_FORMS": "3", "evidence-INITIAL_FORMS": "0", "evidence-MAX_NUM_FORMS": "3"})
    for n, file in enumerate(files):
        values[f"evidence-{n}-file"] = file
        values[f"evidence-{n}-shown_at"] = "2026-03-01T18:00"
    return values


def token_of(response) -> str:
    match = re.fullmatch(r"/report/status/([A-Za-z0-9_-]+)/", response["Location"])
    assert match, response["Location"]
    return match[1]


def stored_files() -> list:
    root = settings.MEDIA_ROOT
    return [name for _, _, names in os.walk(root) for name in names] if os.path.exists(root) else []


def nothing_stored():
    return (
        not Incident.objects.exists()
        and not Evidence.objects.exists()
        and not PublicStatusLink.objects.exists()
        and not OutboxMessage.objects.exists()
        and stored_files() == []
    )


# Reporting and the confirmation page
# ------------------------------------------------------------------------------


def test_anyone_can_report_without_signing_in_and_gets_a_confirmation_with_a_status_link(
    client, now, school, celery_eager, django_capture_on_commit_callbacks, dsl
):
    page = client.get(URL)
    assert page.status_code == 200 and "Report a concern to Oak Primary" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data(contact_details="07700 900123"))
    token = token_of(response)
    incident = Incident.objects.get()
    assert incident.is_public and incident.reported_by is None and incident.public_reporter == "parent"
    assert incident.contact_details == "07700 900123"
    confirmation = client.get(response["Location"])
    text = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert incident.reference in text and "What happens next" in text and "Thank you" in text
    assert f'value="http://testserver/report/status/{token}/"' in text  # the link, to copy
    assert "Received" in text
    assert inbox(dsl.email)
    # A second visit is the status page alone: the thank-you was for the moment of sending.
    again = client.get(response["Location"]).content.decode()
    assert "Thank you" not in again and incident.reference in again and "Received" in again


def test_the_status_link_page_is_kept_by_no_cache_and_leaks_no_referrer(client, now, school):
    response = client.get(client.post(URL, data())["Location"])
    assert response["Cache-Control"] == "no-store, private"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


def test_the_status_link_page_takes_one_query_and_only_gets(client, now, school, django_assert_num_queries):
    path = client.post(URL, data())["Location"]
    client.get(path)  # the thank-you, once
    client.cookies.clear()  # a fresh browser, as the reporter opening the link later
    with django_assert_num_queries(1):
        assert client.get(path).status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/report/status/not-a-token/").status_code == 404
    assert client.post(path).status_code == 405
    assert client.post("/report/oak-primary/thanks/").status_code == 405


def test_contact_details_and_the_email_address_are_optional(client, now, school):
    assert client.post(URL, data()).status_code == 302
    incident = Incident.objects.get()
    assert incident.contact_name == "" and incident.status_links.get().email == ""
    assert not OutboxMessage.objects.filter(topic__contains="reporter").exists()


@pytest.mark.parametrize("address", ["not-an-address", "parent@", "parent@example.com\nBcc: x@example.com"])
def test_a_bad_email_address_is_refused_with_a_message_and_nothing_is_stored(client, now, school, address):
    response = client.post(URL, data(email=address))
    assert response.status_code == 200
    assert "Enter an email address such as name@example.com, or leave it empty." in response.content.decode()
    assert nothing_stored()


def test_the_address_left_gets_a_confirmation_without_the_link_or_what_was_written(
    client, now, school, celery_eager, django_capture_on_commit_callbacks, dsl
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data(email="parent@home.example"))
    token = token_of(response)
    incident = Incident.objects.get()
    [confirmation] = inbox("parent@home.example")
    assert incident.reference in confirmation.subject and "Oak Primary" in confirmation.subject
    body = confirmation.body + confirmation.alternatives[0][0]
    assert token not in body and "/report/status/" not in body
    assert "Instagram" not in body and "playground" not in body and "Unofficial" not in body


def test_a_double_click_gets_a_link_of_its_own_to_the_one_report_and_one_confirmation(client, now, school):
    first = token_of(client.post(URL, data(email="parent@home.example")))
    second = token_of(client.post(URL, data(email="parent@home.example")))
    assert first != second and Incident.objects.count() == 1
    for token in (first, second):
        assert client.get(f"/report/status/{token}/").status_code == 200
    assert len(inbox("parent@home.example")) == 1


# The token
# ------------------------------------------------------------------------------


def test_the_token_is_unguessable_and_only_its_hash_is_kept(client, now, school, celery_eager, dsl):
    tokens = [token_of(client.post(URL, data(description=f"Concern {n}", email="p@home.example"))) for n in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        # 32 random bytes from ``secrets``: 256 bits, URL-safe.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    stored = set(PublicStatusLink.objects.values_list("token_hash", flat=True))
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    deliver()
    # Nowhere in the database (links, outbox, sessions, audit trail, anything) is a token itself.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            for token in tokens:
                cursor.execute(f'SELECT COUNT(*) FROM "{table}" t WHERE t::text LIKE %s', [f"%{token}%"])
                assert cursor.fetchone()[0] == 0, table


def test_a_wrong_token_gets_the_same_answer_as_a_case_that_is_gone(client, now, school):
    token = token_of(client.post(URL, data()))
    incident = Incident.objects.get()
    Incident.objects.filter(pk=incident.pk).update(destroyed_at=incident.reported_at)
    answers = [
        client.get(f"/report/status/{candidate}/")
        for candidate in (token, token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, "x" * 500)
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    assert "Report not found" in answers[0].content.decode() and incident.reference not in answers[0].content.decode()
    assert {(a["Cache-Control"], a["Referrer-Policy"]) for a in answers} == {("no-store, private", "no-referrer")}


def test_guessing_is_cut_off_after_a_few_misses_whatever_the_guess(client, now, school, settings):
    settings.INCIDENT_STATUS_LINK_MISSES_PER_HOUR = 3
    token = token_of(client.post(URL, data()))
    for n in range(3):
        assert client.get(f"/report/status/guess-{n}/", REMOTE_ADDR="203.0.113.7").status_code == 404
    # Now even the real link waits: the limit tells the guesser nothing about which tokens exist.
    assert client.get(f"/report/status/{token}/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get("/report/status/guess-9/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get(f"/report/status/{token}/", REMOTE_ADDR="203.0.113.8").status_code == 200


# What the link shows, and the emails
# ------------------------------------------------------------------------------


@pytest.fixture
def public_case(school, now):
    incident, token = public_reports.report_publicly(
        organisation=school,
        email="parent@home.example",
        files=[(upload("fake-account.png"), SHOWN)],
        category=Category.UNOFFICIAL_ACCOUNT,
        platform="instagram",
        occurred_at=SHOWN,
        description="An account called oak_primary_real uses the school badge.",
        public_reporter="parent",
        contact_name="Pat Parent",
    )
    return incident, token


def test_a_closed_case_s_link_shows_the_outcome_and_the_message_but_nothing_of_the_handling(
    client, public_case, dsl, slt
):
    incident, token = public_case
    triaged(incident, dsl, assignee=slt)
    services.record_action(
        incident=incident,
        actor=slt,
        kind="platform_report",
        happened_at=incident.reported_at,
        text="Reported to Instagram as impersonation; Chris from IT took the screenshots.",
        external_reference="IG-55512",
    )
    services.close_incident(
        incident=incident,
        actor=slt,
        outcome=Outcome.CONTENT_REMOVED,
        reason="Instagram removed it after the second report; the account owner is a former pupil.",
        reporter_message="Thank you for telling us. Instagram has taken the account down.",
    )
    page = client.get(f"/report/status/{token}/")
    text = page.content.decode()
    assert page.status_code == 200 and incident.reference in text
    assert "Closed" in text and "The account or content you reported has been removed." in text
    assert "Thank you for telling us. Instagram has taken the account down." in text
    for private in (
        "former pupil",  # the handlers' reason
        "Chris from IT",  # the chronology
        "IG-55512",
        "Screenshots saved",  # the first assessment
        slt.full_name,
        dsl.full_name,
        "fake-account.png",  # the evidence
        "oak_primary_real",  # what was reported, even back to the reporter
        "Unofficial account",  # the category
        "Pat Parent",
    ):
        assert private not in text, private


def test_the_reporter_hears_of_each_change_they_can_see_once_and_of_the_outcome_in_plain_words(
    public_case, dsl, slt, django_capture_on_commit_callbacks
):
    incident, _ = public_case
    address = "parent@home.example"
    assert [m.subject for m in inbox(address)] == [f"Your report to Oak Primary was received ({incident.reference})"]
    mail.outbox.clear()
    triaged(incident, dsl, assignee=slt)
    [looked_at] = inbox(address)
    assert looked_at.subject == f"Your report {incident.reference} to Oak Primary: being looked into"
    mail.outbox.clear()
    # Moves between the handlers' own stages, and triage again, tell the reporter nothing new.
    services.move_status(incident=incident, actor=slt, to=Status.REFERRED)
    services.move_status(incident=incident, actor=slt, to=Status.IN_PROGRESS)
    triaged(incident, dsl, assignee=slt)
    assert inbox(address) == []
    services.close_incident(
        incident=incident,
        actor=slt,
        outcome=Outcome.DISCIPLINARY,
        reason="The teacher ran it; warning issued.",
        reporter_message="Thank you. We have dealt with it.",
    )
    [closed] = inbox(address)
    assert closed.subject == f"Your report {incident.reference} to Oak Primary: closed"
    assert "It has been dealt with by the organisation." in closed.body  # a disciplinary stays confidential
    assert "Thank you. We have dealt with it." in closed.body
    assert "teacher" not in closed.body and "warning" not in closed.body and "disciplinary" not in closed.body.lower()
    mail.outbox.clear()
    services.reopen_incident(incident=incident, actor=slt, reason="The account is back.")
    assert [m.subject for m in inbox(address)] == [
        f"Your report {incident.reference} to Oak Primary: being looked into"
    ]
    mail.outbox.clear()
    services.close_incident(incident=incident, actor=slt, outcome=Outcome.CONTENT_REMOVED)
    [again] = inbox(address)
    assert "The account or content you reported has been removed." in again.body
    assert "A message for you" not in again.body  # the first closure's message went with the reopening
    assert Incident.objects.get(pk=incident.pk).reporter_message == ""


def test_destroying_the_record_takes_the_reporter_s_address_and_message_and_the_link_opens_nothing(
    client, public_case, dsl, time_machine
):
    incident, token = public_case
    triaged(incident, dsl)
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED, reporter_message="Sorted.")
    time_machine.move_to(dt.datetime(2032, 3, 3, 9, tzinfo=dt.UTC), tick=False)
    retention.review_retention(incident=incident, actor=dsl, decision=RetentionDecision.DESTROY, reason="Period over.")
    assert not PublicStatusLink.objects.exists()
    assert Incident.objects.get().reporter_message == ""
    assert client.get(f"/report/status/{token}/").status_code == 404


def test_a_report_without_an_address_emails_nobody_when_it_changes(client, now, school, dsl):
    client.post(URL, data())
    incident = Incident.objects.get()
    deliver()
    mail.outbox.clear()
    triaged(incident, dsl)
    services.close_incident(incident=incident, actor=dsl, outcome=Outcome.RESOLVED)
    assert not OutboxMessage.objects.filter(topic__contains="reporter").exists()


def test_the_dsl_writes_the_closing_message_on_the_close_form(client, school, dsl, public_case):
    incident, token = public_case
    triaged(incident, dsl)
    school.require_mfa = False
    school.save()
    client.force_login(dsl)
    assert "Message to the person who reported it" in client.get(f"/incidents/{incident.pk}/").content.decode()
    response = client.post(
        f"/incidents/{incident.pk}/close/",
        {"outcome": Outcome.RESOLVED, "reason": "Spoke to the owner.", "reporter_message": "Sorted: thank you."},
    )
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).reporter_message == "Sorted: thank you."
    assert "Sorted: thank you." in client.get(f"/report/status/{token}/").content.decode()
    # A signed-in reporter reads it on their own report's page.
    staff_report = report(school, dsl, Category.OTHER)
    triaged(staff_report, dsl)
    services.close_incident(
        incident=staff_report, actor=dsl, outcome=Outcome.UNFOUNDED, reason="x", reporter_message="Thanks."
    )
    mine = client.get(f"/incidents/mine/{staff_report.pk}/").content.decode()
    assert "no cause for concern was found" in mine and "Thanks." in mine
    # The record keeps what the reporter was told.
    assert incident.actions.filter(text__endswith="Told the reporter: Sorted: thank you.").exists()


# Screenshots
# ------------------------------------------------------------------------------


def test_a_screenshot_is_kept_as_sent_with_its_hash_and_a_clean_copy(client, now, school):
    original = jpeg_with_gps()
    response = client.post(URL, with_files(upload("photo.jpg", original, "image/jpeg")))
    assert response.status_code == 302
    item = Incident.objects.get().evidence.get()
    assert item.sha256 == hashlib.sha256(original).hexdigest() and item.uploaded_by is None
    assert item.original.read() == original
    with Image.open(item.viewable) as clean:
        assert not clean.getexif()


def test_a_screenshot_larger_than_the_anonymous_text_cap_gets_through(client, now, school):
    noise = Image.frombytes("RGB", (800, 700), os.urandom(800 * 700 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    big = out.getvalue()
    assert settings.ANONYMOUS_MAX_BODY_BYTES < len(big) < evidence.MAX_BYTES
    response = client.post(URL, with_files(upload("big.png", big)))
    assert response.status_code == 302 and Incident.objects.get().evidence.get().size == len(big)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([upload("invoice.png", b"MZ\x90\x00 a Windows program")], "is not a PNG, JPEG, WebP or PDF file"),
        ([upload("cat.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)], "could not be read as an image"),
        ([upload("huge.png", huge_png_header())], "more pixels than an image of evidence needs"),
        ([upload("big.pdf", b"%PDF-" + b"0" * evidence.MAX_BYTES + b"%%EOF")], "10 MB or less"),
        ([upload("half.pdf", b"%PDF-1.4 no end")], "not a complete PDF"),
    ],
)
def test_a_hostile_file_is_refused_with_a_clear_message_and_nothing_is_kept(client, now, school, files, message):
    response = client.post(URL, with_files(*files))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Nothing has been sent yet. Choose your files again" in response.content.decode()
    assert nothing_stored()


def test_one_bad_file_among_good_ones_refuses_them_all(client, now, school):
    response = client.post(URL, with_files(upload("a.png"), upload("b.png", b"GIF89a not accepted")))
    assert "is not a PNG, JPEG, WebP or PDF file" in response.content.decode()
    assert nothing_stored()


def test_files_are_refused_for_nude_imagery_and_the_report_is_not_stored(client, now, school):
    response = client.post(URL, with_files(upload(), category=Category.NUDE_IMAGERY))
    assert "Do not upload, copy or forward nude or semi-nude images" in response.content.decode()
    assert nothing_stored()


def test_a_file_needs_the_date_and_time_it_shows(client, now, school):
    values = with_files(upload())
    values["evidence-0-shown_at"] = ""
    response = client.post(URL, values)
    assert "Give the date and time this file shows." in response.content.decode()
    assert nothing_stored()


def test_more_files_than_the_public_form_takes_are_refused(client, now, school):
    values = with_files(*(upload(f"{n}.png") for n in range(4)))
    values["evidence-TOTAL_FORMS"] = "4"
    response = client.post(URL, values)
    assert "You can send at most 3 files with a report." in response.content.decode()
    assert nothing_stored()


# The body cap for anonymous senders still holds
# ------------------------------------------------------------------------------


def anonymous_post(path, length, ip="198.51.100.4"):
    request = RequestFactory().post(path, CONTENT_LENGTH=str(length), REMOTE_ADDR=ip)
    request.user = AnonymousUser()
    return request


def test_the_public_form_takes_a_screenshot_sized_body_but_no_more(client, now, school):
    passed = RequestBodyLimitMiddleware(lambda request: HttpResponse("read"))
    assert passed(anonymous_post(URL, 5 * MB)).status_code == 200
    refused = passed(anonymous_post(URL, settings.ANONYMOUS_UPLOAD_MAX_BODY_BYTES + 1))
    assert refused.status_code == 413 and "choose fewer or smaller files" in refused.content.decode()
    # Every other page an anonymous person may post to keeps the small cap.
    for path in ("/accounts/login/", "/report/oak-primary/thanks/", "/nowhere/"):
        assert passed(anonymous_post(path, 2 * MB)).status_code == 413, path
    # The same request through the portal is refused unread (the client holds one byte).
    response = client.post(URL, data=b"x", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(20 * MB))
    assert response.status_code == 413 and not Incident.objects.exists()


def test_large_anonymous_bodies_are_counted_per_address_before_any_is_read(now, school, settings):
    settings.ANONYMOUS_UPLOADS_PER_HOUR = 2
    passed = RequestBodyLimitMiddleware(lambda request: HttpResponse("read"))
    assert [passed(anonymous_post(URL, 3 * MB)).status_code for _ in range(3)] == [200, 200, 429]
    assert passed(anonymous_post(URL, 100_000)).status_code == 200  # a report without large files still goes
    assert passed(anonymous_post(URL, 3 * MB, ip="198.51.100.5")).status_code == 200


# Unchanged: the trap, the limit, the dates
# ------------------------------------------------------------------------------


def test_the_spam_trap_stores_nothing_and_says_nothing(client, now, school):
    response = client.post(URL, with_files(upload(), website="http://spam.example"))
    assert response.status_code == 302 and nothing_stored()
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
    assert "cannot be in the future" in response.content.decode() and nothing_stored()


def test_an_unknown_organisation_is_not_found(client, db):
    assert client.get("/report/nowhere/").status_code == 404


def test_the_public_form_takes_screenshots_and_warns_about_nude_images(client, now, school):
    page = client.get(URL).content.decode()
    # One slot at first (and in the template "Add another file" copies), up to the formset's maximum.
    assert 'enctype="multipart/form-data"' in page and page.count('type="file"') == 2
    assert f'name="evidence-MAX_NUM_FORMS" value="{evidence.PUBLIC_MAX_FILES}"' in page
    assert "do not send us nude or semi-nude images" in page
