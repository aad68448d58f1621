"""HTTP hardening (issue 10): no personal page is stored by a cache, sign-in lockouts are per
client behind the proxy, __Host- cookies, a Permissions-Policy, and a request body cap that
refuses large anonymous bodies before anything reads them."""

import secrets
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import PrivatePagesMiddleware, RequestBodyLimitMiddleware
from incidents import evidence
from incidents.models import Category, Incident
from tests.core.test_settings import clean_environ, run
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PUBLIC = "/report/oak-primary/"
MB = 1024 * 1024


def public_report(**overrides):
    values = {
        "public_reporter": "parent",
        "category": Category.UNOFFICIAL_ACCOUNT,
        "platform": "instagram",
        "occurred_at": "2026-03-01T18:30",
        "location": "@oakprimary_official_not",
        "description": "An Instagram account uses the school logo.",
        "contact_name": "",
        "contact_details": "",
        "website": "",
    }
    values.update(overrides)
    return values


# Cache-Control -------------------------------------------------------------------------


def not_stored(response) -> bool:
    """no-store and private, whether set here or by the view (allauth's never_cache says more)."""
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def test_every_page_for_a_signed_in_person_is_no_store(client, staff):
    client.force_login(staff)
    for path in ("/", "/no-such-page/"):
        response = client.get(path)
        assert response["Cache-Control"] == "no-store, private", path


def test_the_response_that_signs_someone_in_or_out_is_no_store(client, staff):
    signed_in = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and not_stored(signed_in)
    signed_out = client.post("/accounts/logout/")
    assert signed_out.status_code == 302 and not_stored(signed_out)


def test_the_sign_in_and_public_forms_are_no_store(client, school):
    # Their CSRF token belongs to this browser's cookie.
    for path in ("/accounts/login/", "/accounts/password/reset/", PUBLIC):
        response = client.get(path)
        assert response.status_code == 200 and not_stored(response), path


def test_the_public_thanks_page_with_its_reference_is_no_store(client, school):
    response = client.post(PUBLIC, public_report(), follow=True)
    assert Incident.objects.get().reference in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"


def test_static_files_stay_cacheable(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")


def test_a_view_that_already_said_no_store_keeps_its_own_header(rf, staff):
    stricter = "max-age=0, no-cache, no-store, must-revalidate, private"

    def view(request):
        response = HttpResponse()
        response["Cache-Control"] = stricter
        return response

    request = rf.get("/")
    request.user = staff
    assert PrivatePagesMiddleware(view)(request)["Cache-Control"] == stricter

    def cacheable(request):
        response = HttpResponse()
        response["Cache-Control"] = "public, max-age=3600"
        return response

    assert PrivatePagesMiddleware(cacheable)(request)["Cache-Control"] == "no-store, private"


# allauth behind the proxy --------------------------------------------------------------


def test_allauth_trusts_the_same_proxies_as_the_portal():
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_COUNT
    env = clean_environ()
    env.update(DEBUG="true", TRUSTED_PROXY_COUNT="2", VAR_DIR=settings.VAR_DIR.as_posix())
    result = run(
        env,
        "-c",
        "import django; django.setup(); from django.conf import settings as s; print(s.ALLAUTH_TRUSTED_PROXY_COUNT)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"]


def test_ten_failed_sign_ins_from_one_client_behind_the_proxy_do_not_lock_out_another(client, staff, slt, settings):
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_COUNT
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1  # as deployed behind one proxy
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for n in range(10):
        page = client.post("/accounts/login/", {"login": f"guess{n}@school.example", "password": "wrong"}, **attacker)
        assert page.status_code == 200 and "_auth_user_id" not in client.session
    # The attacker's own address is now locked out...
    locked = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD}, **attacker)
    assert "_auth_user_id" not in client.session and locked.status_code in (200, 429)
    # ...while a colleague behind the same proxy signs in.
    colleague = client.__class__()
    response = colleague.post(
        "/accounts/login/",
        {"login": slt.email, "password": PASSWORD},
        **proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert response.status_code == 302 and colleague.session["_auth_user_id"] == str(slt.pk)


def test_a_short_forwarded_header_is_counted_by_the_peer_address_not_refused(client, staff, settings):
    """Two proxies configured, a request with one forwarded address: sign-in still works (no 500),
    counted by the address the audit trail records."""
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    response = client.post(
        "/accounts/login/",
        {"login": staff.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


# __Host- cookies -----------------------------------------------------------------------


def _cookie_names(**env_overrides):
    env = clean_environ()
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        INTAKE_SIGNING_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.example.org",
        SITE_URL="https://portal.example.org",
        VAR_DIR=settings.VAR_DIR.as_posix(),
        **env_overrides,
    )
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME)"
    result = run(env, "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_cookies_get_host_prefixed_names_whenever_they_are_secure():
    assert _cookie_names() == ["__Host-sessionid", "__Host-csrftoken"]  # production's default
    assert _cookie_names(SECURE_COOKIES="false") == ["sessionid", "csrftoken"]  # plain http on a laptop


def test_signing_in_sets_host_cookies_that_browsers_accept(client, staff, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD}, secure=True)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = client.cookies[name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
    assert not [error for error in run_checks(tags=["security"]) if error.id == "core.E001"]


@pytest.mark.parametrize(
    "spoiled",
    [{"SESSION_COOKIE_PATH": "/portal/"}, {"CSRF_COOKIE_DOMAIN": ".example.org"}, {"CSRF_COOKIE_SECURE": False}],
)
def test_a_host_cookie_browsers_would_drop_stops_the_checks(settings, spoiled):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
    for name, value in spoiled.items():
        setattr(settings, name, value)
    assert [e.id for e in run_checks(tags=["security"]) if e.id.startswith("core.")] == ["core.E001"]


# Permissions-Policy --------------------------------------------------------------------


def test_every_response_denies_the_camera_microphone_location_and_payments(client, staff):
    pages = [client.get("/accounts/login/"), client.get("/static/css/portal.css")]
    client.force_login(staff)
    pages.append(client.get("/"))
    for response in pages:
        policy = dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb", "interest-cohort"):
            assert policy[feature] == "()", (response.request["PATH_INFO"], feature)


# The request body cap ------------------------------------------------------------------


def test_an_anonymous_50_mb_post_to_the_public_form_is_refused_unread(client, school):
    # The test client holds one byte: were the body read, it would fail loudly.
    response = client.post(
        PUBLIC, data=b"x", content_type="application/x-www-form-urlencoded", CONTENT_LENGTH=str(50 * MB)
    )
    assert response.status_code == 413 and response["Content-Type"].startswith("text/plain")
    assert "too large" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_longest_legitimate_public_report_fits_the_anonymous_cap(client, school):
    longest = public_report(
        description="“Ünïcode” ✓ " * 250,  # 3,000 characters, many of them several bytes long
        location="é" * 500,
        contact_name="Ł" * 150,
        contact_details="☎" * 200,
    )
    assert len(urlencode(longest).encode()) < settings.ANONYMOUS_MAX_BODY_BYTES
    response = client.post(PUBLIC, longest)
    assert response.status_code == 302 and Incident.objects.count() == 1


def test_a_body_sent_without_a_length_is_refused(client, school):
    response = client.post(
        PUBLIC,
        data=b"5\r\nhello\r\n0\r\n\r\n",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411


def test_signed_in_people_may_send_a_full_set_of_evidence_but_no_more(staff):
    full_set = evidence.MAX_FILES * evidence.MAX_BYTES
    assert settings.MAX_BODY_BYTES > full_set + MB  # room for the report's fields and the form's framing
    passed = RequestBodyLimitMiddleware(lambda request: HttpResponse("read"))
    signed_in = RequestFactory().post("/incidents/report/", CONTENT_LENGTH=str(full_set + MB))
    signed_in.user = staff
    assert passed(signed_in).status_code == 200
    too_big = RequestFactory().post("/incidents/report/", CONTENT_LENGTH=str(settings.MAX_BODY_BYTES + 1))
    too_big.user = staff
    assert passed(too_big).status_code == 413


def test_a_signed_in_post_over_the_cap_is_refused(client, staff):
    client.force_login(staff)
    response = client.post(
        "/incidents/report/",
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(settings.MAX_BODY_BYTES + 1),
    )
    assert response.status_code == 413 and response["Cache-Control"] == "no-store, private"
