"""Bad input never 500s (issue 11): each input that did is fed to its page and answered with a
4xx that says what is wrong, or, for a form a person fills in, the form again with the error
next to the field (200).

The rules live in one place each: core.middleware.BadInputMiddleware (methods, NUL characters,
bodies that are not UTF-8 or cannot be parsed), core.params.int_param (numbers read by hand)
and core.validators.DateRange (the years a date may have).
"""

import datetime as dt
import logging
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.models import Membership, Role
from approvals.models import ResponseItem, TrainingRecord
from core.validators import DateRange
from incidents.models import Incident
from policies import services as policy_services
from policies.models import PolicyVersion
from tests.approvals.conftest import account, now, runner, smp  # noqa: F401  (fixtures)
from tests.approvals.test_register import signed
from tests.factories import member

pytestmark = pytest.mark.django_db

PUBLIC = "/report/oak-primary/"
STAFF_LIST = "/organisations/oak-primary/staff/"
REGISTER = "/organisations/oak-primary/accounts/"
PEOPLE = "/organisations/oak-primary/compliance/people/"
EXPORT = "/organisations/oak-primary/compliance/export.csv"


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


@pytest.fixture(autouse=True)
def _no_server_error(caplog):
    """No request here may end in a 500, logged or raised (the test client raises it)."""
    with caplog.at_level(logging.WARNING, logger="django.request"):
        yield
    errors = [r for r in caplog.records if r.name == "django.request" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def text(response) -> str:
    return response.content.decode()


def refused(response, status: int, *words: str) -> bool:
    """Refused with ``status`` and a message saying what is wrong."""
    body = text(response)
    return response.status_code == status and all(word in body for word in words)


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def with_csrf_cookie(path: str, person=None) -> tuple[Client, str]:
    """A browser as in production: CSRF checked, holding the cookie the page set."""
    client = Client(enforce_csrf_checks=True)
    if person:
        client.force_login(person)
    assert client.get(path).status_code == 200
    return client, client.cookies["csrftoken"].value


@pytest.fixture
def owner(school):
    return member(school, Role.POLICY_OWNER, email="policy.owner@school.example")


@pytest.fixture
def quiz(now, school, owner):  # noqa: F811
    """A published policy with one question, for everyone at the school to answer."""
    policy = policy_services.create_policy(organisation=school, actor=owner, title="Acceptable Use", owner=owner)
    version = policy_services.create_version(
        policy=policy, actor=owner, text="# Rules\n\nBe kind.", label="1", source_format="markdown"
    )
    policy_services.add_question(
        version=version, actor=owner, prompt="Who reads this?", choices=["Nobody", "Everyone"], correct_choice=2
    )
    return policy_services.publish_version(version=version, actor=owner)


# NUL characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, params, who",
    [
        (STAFF_LIST, {"q": "smith\x00"}, "school_admin"),
        (REGISTER, {"q": "\x00"}, "slt"),
        (PEOPLE, {"department": "Science\x00"}, "slt"),
        (EXPORT, {"department": "\x00"}, "slt"),
        ("/incidents/report/", {"org\x00": "oak-primary"}, "staff"),
    ],
)
def test_a_nul_character_in_the_address_is_refused_with_a_message(request, path, params, who):
    response = signed_in(request.getfixturevalue(who)).get(path, params)
    assert refused(response, 400, "NUL character")


def test_a_nul_character_in_a_path_is_refused(client):
    assert refused(client.get("/policies/calendar/abc%00def/reviews.ics"), 400, "NUL character")


def test_a_nul_character_in_a_cookie_is_refused_before_the_session_is_looked_up(client, school):
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"  # sent quoted, as "abcdefgh\000ijklmnop"
    assert refused(client.get(PUBLIC), 400, "a cookie contains a NUL character")


def test_a_nul_character_in_a_form_field_is_refused_before_anything_stores_it(now, staff):  # noqa: F811
    # Multipart, as the report form is sent: a CharField refuses NUL, a value read by hand would not.
    response = signed_in(staff).post("/incidents/report/", {"description": "a\x00b", "category": "other"})
    assert refused(response, 400, "NUL character") and not Incident.objects.exists()


def test_a_nul_character_in_a_value_read_by_hand_is_refused(now, account, school_admin):  # noqa: F811
    response = signed_in(school_admin).post(
        f"/approvals/accounts/{account.pk}/close/", "reason=gone%00", content_type="application/x-www-form-urlencoded"
    )
    account.refresh_from_db()
    assert refused(response, 400, "NUL character") and account.status != "closed"


# Numbers: ASCII digits only -------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "1²", "abc", "-1", " 7", "1" * 19])
def test_a_version_that_is_not_a_number_is_refused(slt, value):
    for path in (PEOPLE, EXPORT):
        response = signed_in(slt).get(path, {"version": value})
        assert refused(response, 400, "“version” must be a whole number"), (path, value)


def test_a_version_in_digits_still_filters(slt):
    assert signed_in(slt).get(PEOPLE, {"version": "12"}).status_code == 200


@pytest.mark.parametrize("value", ["²", "abc"])
def test_an_escalated_item_that_is_not_a_number_is_refused(staff, value):
    response = signed_in(staff).get("/incidents/report/", {"from_item": value})
    assert refused(response, 400, "“from_item” must be a whole number")


def test_an_addendum_to_a_policy_that_is_not_a_number_is_refused(owner):
    response = signed_in(owner).get("/organisations/oak-primary/policies/new/", {"addendum_to": "abc"})
    assert refused(response, 400, "“addendum_to” must be a whole number")


@pytest.mark.parametrize("answer", ["²", "abc"])
def test_a_quiz_answer_that_is_not_a_number_is_refused(quiz, staff, answer):
    question = quiz.questions.get()
    response = signed_in(staff).post(f"/policies/versions/{quiz.pk}/quiz/", {f"question-{question.pk}": answer})
    assert refused(response, 400, "Choose one of the answers offered") and not quiz.quiz_attempts.exists()


def test_a_quiz_answer_in_digits_is_still_marked(quiz, staff):
    question = quiz.questions.get()
    response = signed_in(staff).post(f"/policies/versions/{quiz.pk}/quiz/", {f"question-{question.pk}": "1"})
    assert response.status_code == 302 and quiz.quiz_attempts.get().passed


@pytest.mark.parametrize("value", ["abc", "²"])
def test_removing_someone_who_is_not_a_number_from_a_team_is_refused(account, school_admin, runner, value):  # noqa: F811
    response = signed_in(school_admin).post(f"/approvals/accounts/{account.pk}/team/", {"remove": value})
    assert refused(response, 400, "“remove” must be a whole number")
    assert account.members.filter(user=runner).exists()


# Bodies: UTF-8, parseable ---------------------------------------------------------------


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "windows-1252"])
def test_a_form_declared_in_another_charset_is_refused(school, charset):
    # Django refuses it with BadRequest; its error page then read the form again and failed with a 500.
    client, token = with_csrf_cookie(PUBLIC)
    body = f"csrfmiddlewaretoken={token}&description=caf".encode() + b"\xe9"
    response = client.generic(
        "POST", PUBLIC, body, content_type=f"application/x-www-form-urlencoded; charset={charset}"
    )
    assert refused(response, 400, "must be sent as UTF-8") and not Incident.objects.exists()


@pytest.mark.parametrize("raw", [b"caf\xe9", b"caf%E9"])
def test_a_form_that_is_not_utf8_is_refused(school, raw):
    client, token = with_csrf_cookie(PUBLIC)
    body = f"csrfmiddlewaretoken={token}&description=".encode() + raw
    response = client.generic("POST", PUBLIC, body, content_type="application/x-www-form-urlencoded")
    assert refused(response, 400, "not valid UTF-8")


def test_a_form_declared_as_utf8_in_another_spelling_is_read(school):
    client, token = with_csrf_cookie(PUBLIC)
    body = f"csrfmiddlewaretoken={token}&description=caf%C3%A9".encode()
    response = client.generic("POST", PUBLIC, body, content_type="application/x-www-form-urlencoded; charset=UTF8")
    assert response.status_code == 200 and "Select what it is about" in text(response)


def test_an_address_that_is_not_utf8_is_refused(slt):
    assert refused(signed_in(slt).get(f"{STAFF_LIST}?q=caf%E9"), 400, "not valid UTF-8")


def test_a_form_with_too_many_fields_is_refused(school):
    client, token = with_csrf_cookie(PUBLIC)
    body = f"csrfmiddlewaretoken={token}&".encode() + b"&".join(b"f%d=1" % n for n in range(1001))
    response = client.generic("POST", PUBLIC, body, content_type="application/x-www-form-urlencoded")
    assert refused(response, 400, "could not be read")


def test_a_signed_in_form_larger_than_the_text_limit_is_refused(staff, settings):
    client, token = with_csrf_cookie("/incidents/report/", staff)
    body = f"csrfmiddlewaretoken={token}&description=".encode() + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.generic("POST", "/incidents/report/", body, content_type="application/x-www-form-urlencoded")
    assert refused(response, 413, "This form is too large")


def test_the_signed_intake_still_reads_its_own_body(now, client, account):  # noqa: F811
    body, headers = signed(account, {"external_id": "x1", "received_at": "2026-03-02T08:00:00+00:00", "summary": "s"})
    response = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    assert response.status_code == 201


# Methods --------------------------------------------------------------------------------


def _routes(entries, prefix=""):
    for entry in entries:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


SAMPLE = {"int": "1", "slug": "oak-primary", "str": "sample", "path": "sample"}


def portal_paths() -> list[str]:
    """Every URL pattern of the portal (its apps, allauth's, the Django admin's), with sample arguments."""
    paths = []
    for route in _routes(get_resolver().url_patterns):
        if route.startswith("^") or "(?P" in route:
            continue  # a regular expression (the admin's per-model pages): its index and app pages stand for it
        paths.append("/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m[1] or "str", "sample"), route))
    return sorted(set(paths))


def test_the_sweep_covers_the_portal():
    paths = portal_paths()
    for path in paths:
        resolve(path)
    assert len(paths) > 100 and "/approvals/intake/1/" in paths and "/policies/calendar/sample/reviews.ics" in paths


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_no_page_takes_put_delete_or_patch(now, school, slt, account, method):  # noqa: F811
    before = (Membership.objects.count(), TrainingRecord.objects.count(), ResponseItem.objects.count())
    for client in (Client(), signed_in(slt)):
        for path in portal_paths():
            response = client.generic(method, path, "name=x", content_type="application/x-www-form-urlencoded")
            assert response.status_code == 405, (method, path, response.status_code)
            assert response["Allow"] == "GET, HEAD, POST, OPTIONS" and "Method not allowed" in text(response)
    assert (Membership.objects.count(), TrainingRecord.objects.count(), ResponseItem.objects.count()) == before


def test_options_is_answered_with_the_methods_without_running_the_page(staff):
    response = signed_in(staff).options("/policies/")
    assert response.status_code == 200 and response["Allow"] == "GET, HEAD, POST, OPTIONS" and not response.content


def test_the_pages_still_answer_get_head_and_post(staff):
    client = signed_in(staff)
    assert client.get("/policies/").status_code == 200
    assert client.head("/policies/").status_code == 200
    assert client.post("/policies/calendar/turn-off/").status_code == 302


# Dates out of range: the form again, the error next to the field (200) -------------------

REPORT = {
    "category": "abuse_of_staff",
    "platform": "facebook",
    "location": "",
    "description": "A parent called me a liar in the parents' group.",
    "pupils": "",
    "evidence-TOTAL_FORMS": "1",
    "evidence-INITIAL_FORMS": "0",
    "evidence-MIN_NUM_FORMS": "0",
    "evidence-MAX_NUM_FORMS": "10",
}
PUBLIC_REPORT = {
    "public_reporter": "parent",
    "category": "unofficial_account",
    "platform": "instagram",
    "location": "@oak_not_official",
    "description": "An account uses the school logo.",
    "website": "",
}


@pytest.mark.parametrize(
    "value, refused_with",
    [
        (dt.date(1999, 12, 31), "before 1 January 2000"),
        (dt.date(2000, 1, 1), None),
        (dt.date(2026, 3, 2), None),  # today
        (dt.date(2026, 3, 3), "in the future"),
        (dt.datetime(2026, 3, 2, 9, 4, tzinfo=dt.UTC), None),  # a clock a little fast
        (dt.datetime(2026, 3, 2, 9, 6, tzinfo=dt.UTC), "in the future"),
    ],
)
def test_a_date_in_the_past_is_between_2000_and_now(now, value, refused_with):  # noqa: F811
    check = DateRange("The date", past=True)
    if refused_with is None:
        check(value)
    else:
        with pytest.raises(ValidationError, match=f"The date cannot be {refused_with}"):
            check(value)


def test_a_date_ahead_may_be_as_far_as_the_same_day_years_later(time_machine):
    time_machine.move_to(dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC), tick=False)
    check = DateRange("The expiry date", years_ahead=5)
    check(dt.date(2033, 2, 28))
    with pytest.raises(ValidationError, match="must be within 5 years from today"):
        check(dt.date(2033, 3, 1))


@pytest.mark.parametrize(
    "when, message",
    [
        ("0001-01-01T00:00", "The date and time it happened cannot be before 1 January 2000: check the year."),
        ("1999-12-31T23:59", "cannot be before 1 January 2000"),
        ("2026-03-05T10:00", "The date and time it happened cannot be in the future: check the date."),
    ],
)
def test_an_incident_dated_out_of_range_is_refused_with_a_message(now, staff, when, message):  # noqa: F811
    response = signed_in(staff).post("/incidents/report/", {**REPORT, "occurred_at": when})
    assert response.status_code == 200 and message in text(response) and not Incident.objects.exists()


def test_an_incident_in_range_is_still_reported(now, staff, dsl):  # noqa: F811
    response = signed_in(staff).post("/incidents/report/", {**REPORT, "occurred_at": "2026-03-01T20:00"})
    assert response.status_code == 302 and Incident.objects.count() == 1


def test_a_public_report_dated_year_1_is_refused_with_a_message(now, client, school):  # noqa: F811
    response = client.post(PUBLIC, {**PUBLIC_REPORT, "occurred_at": "0001-01-01T00:00"})
    assert response.status_code == 200 and "cannot be before 1 January 2000" in text(response)
    assert not Incident.objects.exists()


def test_training_completed_in_year_1_is_refused_with_a_message(now, staff):  # noqa: F811
    response = signed_in(staff).post(
        "/approvals/training/",
        {"person": staff.pk, "course": "Social media", "completed_on": "0001-01-01", "expires_on": "0002-01-01"},
    )
    page = text(response)
    assert response.status_code == 200 and "The completion date cannot be before 1 January 2000" in page
    assert "The expiry date cannot be before 1 January 2000" in page and not TrainingRecord.objects.exists()


def test_training_expiring_in_ten_years_is_refused_with_a_message(now, staff):  # noqa: F811
    response = signed_in(staff).post(
        "/approvals/training/",
        {"person": staff.pk, "course": "Social media", "completed_on": "2026-01-10", "expires_on": "2036-01-10"},
    )
    assert response.status_code == 200 and "The expiry date must be within 5 years from today" in text(response)


def test_a_response_received_in_year_1_is_refused_with_a_message(now, account, school_admin):  # noqa: F811
    response = signed_in(school_admin).post(
        f"/approvals/accounts/{account.pk}/log/", {"kind": "query", "received_at": "0001-01-01T00:00", "summary": "x"}
    )
    assert response.status_code == 200 and "The time received cannot be before 1 January 2000" in text(response)
    assert not ResponseItem.objects.exists()


def test_an_intake_item_received_in_year_1_is_refused_with_a_message(now, client, account):  # noqa: F811
    body, headers = signed(account, {"external_id": "x", "received_at": "0001-01-01T00:00:00+00:00", "summary": "s"})
    response = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    assert response.status_code == 400 and "cannot be before 1 January 2000" in response.json()["error"]


def test_sign_in_details_changed_in_year_1_are_refused_with_a_message(now, account, school_admin):  # noqa: F811
    response = signed_in(school_admin).post(
        f"/approvals/accounts/{account.pk}/checklist/", {"credentials_changed_on": "0001-01-01"}, follow=True
    )
    account.refresh_from_db()
    assert "The date the sign-in details were changed cannot be before 1 January 2000" in text(response)
    assert account.credentials_changed_on is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("start_date", "0001-01-01", "The start date cannot be before 1 January 1950"),
        ("start_date", "2099-09-01", "The start date must be within 1 year from today"),
        ("leaving_date", "9999-12-31", "The leaving date must be within 5 years from today"),
    ],
)
def test_employment_dates_out_of_range_are_refused_with_a_message(now, school_admin, staff, field, value, message):  # noqa: F811
    membership = staff.memberships.get()
    data = {"staff_type": "employee", "start_date": "2025-09-01", "leaving_date": "", field: value}
    response = signed_in(school_admin).post(f"/organisations/oak-primary/staff/{membership.pk}/", data)
    membership.refresh_from_db()
    assert response.status_code == 200 and message in text(response) and membership.start_date is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("approval_date", "9999-12-31", "The approval date must be within 1 year from today"),
        ("effective_date", "0001-01-01", "The effective date cannot be before 1 January 2000"),
    ],
)
def test_policy_version_dates_out_of_range_are_refused_with_a_message(now, quiz, owner, field, value, message):  # noqa: F811
    data = {"label": "2", "source_format": "markdown", "text": "# Rules\n\nBe kind.", field: value}
    response = signed_in(owner).post(f"/policies/{quiz.policy_id}/versions/new/", data)
    assert response.status_code == 200 and message in text(response)
    assert PolicyVersion.objects.filter(policy=quiz.policy).count() == 1
