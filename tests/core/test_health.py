"""Health checks (``core.health``) and error reports without personal data.

The pages run every check for real: against the test database, and against Redis itself when
REDIS_URL is set (the folder broker and the cache otherwise). The Sentry tests never reach a
network: one calls the scrubber, the other runs the real SDK in a subprocess with a transport
that keeps the events it would have sent.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.health import full_checks, scrub_event
from core.models import OutboxMessage
from core.outbox import DISPATCHER

REPO = Path(__file__).resolve().parents[2]
TOKEN = "a-health-check-token-for-the-tests-0123456789"
WITH_TOKEN = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "HTTP_ACCEPT": "text/plain"}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _token_and_folder(settings, tmp_path):
    settings.HEALTH_CHECK_TOKEN = TOKEN
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT.mkdir()


@pytest.fixture
def beat_ran():
    """Beat started the outbox sweep a minute ago (the migrations put the duty in its schedule)."""
    assert PeriodicTask.objects.filter(task=DISPATCHER, enabled=True).update(
        last_run_at=timezone.now() - dt.timedelta(minutes=1)
    )


def waiting_email(*, age: dt.timedelta, **fields) -> OutboxMessage:
    created = timezone.now() - age
    return OutboxMessage.objects.create(
        key=f"test:{created.timestamp()}|dsl@school.example",
        topic="test",
        recipient="dsl@school.example",
        template="emails/test",
        subject="A new incident",
        text="Please triage it.",
        created_at=created,
        due_at=created,
        **fields,
    )


def report(client, url="/health/") -> tuple[int, dict[str, str]]:
    """The status code and each check's result by its name (``Outbox``), as the token's holder reads it."""
    response = client.get(url, **WITH_TOKEN)
    lines = response.content.decode().strip().splitlines()
    return response.status_code, dict(line.replace("()", "", 1).split(": ", 1) for line in lines)


def test_everything_passes_against_the_real_services(client, beat_ran, settings):
    status, checks = report(client)

    assert status == 200, checks
    assert len(checks) == len(full_checks()) and set(checks.values()) == {"OK"}, checks
    names = " ".join(checks)
    for name in ("Database", "PrivateFiles", "Outbox", "Beat"):
        assert name in names
    if settings.REDIS_URL:
        # The broker and the cache, asked directly: through Django the cache, which counts in
        # memory while Redis is away, would always pass.
        assert names.count("Redis(") == 2 and "Cache" not in names, names
    else:
        assert "BrokerFolder" in names and "Cache" in names
    assert client.get("/health/").content == b"OK\n"


def test_an_email_waiting_longer_than_the_limit_fails_the_page(client, beat_ran, settings):
    settings.OUTBOX_MAX_AGE_SECONDS = 15 * 60
    waiting_email(age=dt.timedelta(minutes=14))
    assert report(client)[0] == 200

    waiting_email(age=dt.timedelta(minutes=16), attempts=3, last_error="421 Try again later")
    status, checks = report(client)

    assert status == 500
    outbox = checks["Outbox"]
    assert outbox.startswith("Unavailable: 2 email(s) not sent") and "16 min" in outbox, outbox
    assert client.get("/health/").content == b"Unhealthy\n"


def test_failed_emails_of_the_last_day_are_a_warning_not_a_failure(client, beat_ran):
    waiting_email(age=dt.timedelta(days=3), failed_at=timezone.now() - dt.timedelta(days=2))
    assert set(report(client)[1].values()) == {"OK"}

    waiting_email(age=dt.timedelta(hours=2), failed_at=timezone.now() - dt.timedelta(hours=1), attempts=1)
    status, checks = report(client)

    assert status == 200
    outbox = checks["Outbox"]
    assert outbox == "Warning: 1 email(s) failed in the last day (2 in all): see Outgoing emails in the admin"
    assert client.get("/health/").content == b"OK\n"


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer wrong-token"}, {"HTTP_AUTHORIZATION": TOKEN}, {"HTTP_ACCEPT": "text/html"}],
    ids=["no-token", "wrong-token", "not-bearer", "html"],
)
def test_anyone_without_the_token_gets_the_status_alone(client, headers):
    waiting_email(age=dt.timedelta(hours=1))  # and beat never ran: two checks fail

    for url in ("/health/", "/health/?format=json", "/health/?format=openmetrics"):
        response = client.get(url, **headers)

        assert response.status_code == 500
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content == b"Unhealthy\n"
        assert "no-store" in response["Cache-Control"]


def test_without_a_token_set_nobody_gets_the_report(client, beat_ran, settings):
    settings.HEALTH_CHECK_TOKEN = None

    assert client.get("/health/", HTTP_AUTHORIZATION="Bearer ", HTTP_ACCEPT="text/plain").content == b"OK\n"


def test_the_liveness_page_asks_the_database_only_and_shows_its_status_alone(client):
    waiting_email(age=dt.timedelta(hours=1))  # a stuck outbox and a silent beat are not the web server's fault

    for headers in ({}, WITH_TOKEN):
        response = client.get("/health/live/", **headers)

        assert (response.status_code, response.content) == (200, b"OK\n")


def test_the_liveness_page_fails_when_the_database_does(client, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "temporary_connection", refuse)

    assert client.get("/health/live/").content == b"Unhealthy\n"


def test_docker_reaches_the_liveness_page_over_plain_http(client, settings):
    """Docker's healthcheck asks http://127.0.0.1:8000/health/live/ inside the container, naming the first host."""
    settings.SECURE_SSL_REDIRECT = True
    host = {"HTTP_HOST": settings.ALLOWED_HOSTS[0]}

    assert client.get("/health/live/", **host).status_code == 200
    assert client.get("/health/", **host).status_code == 301  # the report goes over HTTPS only


@pytest.mark.parametrize("minutes_ago", [11, None], ids=["silent", "never-ran"])
def test_beat_that_stopped_running_its_schedule_fails(client, minutes_ago):
    last_run = None if minutes_ago is None else timezone.now() - dt.timedelta(minutes=minutes_ago)
    PeriodicTask.objects.filter(task=DISPATCHER).update(last_run_at=last_run)

    status, checks = report(client)

    assert status == 500
    assert checks["Beat"].startswith("Unavailable: Beat "), checks
    assert client.get("/health/beat/").content == b"Unhealthy\n"


def test_beat_fails_when_the_outbox_sweep_is_switched_off(client, beat_ran):
    PeriodicTask.objects.filter(task=DISPATCHER).update(enabled=False)

    assert "missing from beat's schedule" in report(client)[1]["Beat"]


def test_the_pages_answer_get_and_head_only(client, beat_ran):
    assert client.head("/health/").status_code == 200
    assert client.post("/health/").status_code == 405


# The commands docker runs, in a process of their own ---------------------------------------


def database_url() -> str:
    """The test database, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def portal_process(*args, tmp_path, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SENTRY_")) and key not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR"}
    }
    environment.update(DJANGO_SETTINGS_MODULE="policyportal.settings.test", VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db(transaction=True)
def test_the_beat_containers_healthcheck_exits_by_beats_last_run(tmp_path):
    command = ("manage.py", "health_check", "health-beat", "--no-http")
    duty = PeriodicTask.objects.filter(task=DISPATCHER)

    duty.update(last_run_at=timezone.now() - dt.timedelta(minutes=2))
    ticking = portal_process(*command, tmp_path=tmp_path, DATABASE_URL=database_url())
    duty.update(last_run_at=timezone.now() - dt.timedelta(minutes=30))
    silent = portal_process(*command, tmp_path=tmp_path, DATABASE_URL=database_url())

    assert (ticking.returncode, ticking.stdout.strip()) == (0, "Beat(): OK"), ticking.stderr
    assert silent.returncode == 1 and "Beat last ran the outbox sweep 30 min ago" in silent.stdout, silent.stderr


def test_a_short_health_check_token_stops_the_settings(tmp_path):
    result = portal_process("-c", "import django; django.setup()", tmp_path=tmp_path, HEALTH_CHECK_TOKEN="short")

    assert result.returncode != 0
    assert "HEALTH_CHECK_TOKEN must be at least 32 characters long" in result.stderr.strip().splitlines()[-1]


# Error reports -------------------------------------------------------------------------------


def an_event() -> dict:
    """An error report as Sentry's integrations build it, before before_send."""
    return {
        "level": "error",
        "server_name": "jsmith-laptop",
        "transaction": "/incidents/{pk}/",
        "message": "Could not notify jane.doe@school.example",
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "Key (email)=(jane.doe@school.example) already exists.",
                    "stacktrace": {"frames": [{"function": "save", "vars": {"email": "jane.doe@school.example"}}]},
                }
            ]
        },
        "request": {
            "method": "POST",
            "url": "https://portal.example.org/invitation/secret-token/",
            "query_string": "q=jane",
            "data": {"description": "What the child said", "password": "hunter2hunter2"},
            "cookies": {"__Host-sessionid": "abc"},
            "headers": {
                "Host": "portal.example.org",
                "User-Agent": "Mozilla/5.0",
                "Cookie": "__Host-sessionid=abc",
                "Authorization": "Bearer x",
                "X-Forwarded-For": "203.0.113.9",
                "Referer": "https://portal.example.org/incidents/?q=jane",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "portal"},
        },
        "user": {"id": 42, "email": "jane.doe@school.example", "username": "jane", "ip_address": "203.0.113.9"},
        "extra": {"sys.argv": ["manage.py", "seed_demo", "--password", "x"], "password": "hunter2hunter2"},
        "breadcrumbs": {
            "values": [
                {"category": "query", "message": "SELECT ... WHERE email = %s", "data": {"params": ["jane@x.example"]}},
                {"category": "core.outbox", "message": "Sent to jane.doe@school.example"},
            ]
        },
    }


def test_an_error_report_keeps_no_personal_data():
    event = scrub_event(an_event(), {})

    assert event["request"] == {
        "method": "POST",
        "headers": {"Host": "portal.example.org", "User-Agent": "Mozilla/5.0"},
    }
    assert event["user"] == {"id": "42"}
    assert "server_name" not in event
    assert event["extra"] == {"password": "[Filtered]"}
    assert event["message"] == "Could not notify [email]"
    (exception,) = event["exception"]["values"]
    assert exception["value"] == "Key (email)=([email]) already exists."
    assert exception["stacktrace"]["frames"] == [{"function": "save"}]
    assert event["breadcrumbs"]["values"] == [
        {"category": "query", "message": "SELECT ... WHERE email = %s"},
        {"category": "core.outbox", "message": "Sent to [email]"},
    ]
    assert event["transaction"] == "/incidents/{pk}/"  # where it happened stays
    text = json.dumps(event)
    for personal in ("jane", "203.0.113.9", "hunter2", "secret-token", "sessionid", "child", "jsmith"):
        assert personal not in text


def test_an_error_report_without_a_user_or_request_passes_through():
    event = scrub_event({"level": "error", "user": {"ip_address": "{{auto}}"}, "message": "Beat stopped"}, {})

    assert event == {"level": "error", "message": "Beat stopped"}


SENTRY_PROBE = textwrap.dedent(
    """
    import io, json, sys, types
    import django
    django.setup()

    import sentry_sdk
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings
    from django.urls import path
    from sentry_sdk.transport import Transport

    def boom(request, pk):
        request.user = types.SimpleNamespace(
            pk=7, email="jane.doe@school.example", is_authenticated=True, get_username=lambda: "jane.doe"
        )
        raise RuntimeError("could not notify jane.doe@school.example")

    sys.modules["boom_urls"] = types.ModuleType("boom_urls")
    sys.modules["boom_urls"].urlpatterns = [path("incidents/<int:pk>/", boom)]
    sent = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            sent.extend(item.payload.json for item in envelope.items if item.type == "event")

    client = sentry_sdk.get_client()
    client.transport = Keep(client.options)
    body = b"description=what+the+child+said"
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/incidents/12/", "QUERY_STRING": "q=jane.doe@school.example",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9", "HTTP_HOST": "testserver", "HTTP_USER_AGENT": "Mozilla/5.0",
        "HTTP_COOKIE": "sessionid=a-session-key", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    statuses = []
    with override_settings(ROOT_URLCONF="boom_urls", MIDDLEWARE=[]):  # the production server's handler
        b"".join(get_wsgi_application()(environ, lambda status, headers, *exc: statuses.append(status)))
    assert statuses[0].startswith("500"), statuses
    sentry_sdk.flush()
    print(json.dumps(sent))
    """
)


def test_the_sdk_as_configured_sends_errors_without_personal_data(tmp_path):
    result = portal_process("-c", SENTRY_PROBE, tmp_path=tmp_path, SENTRY_DSN="https://public@127.0.0.1:9/1")

    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout.strip().splitlines()[-1])
    assert event["exception"]["values"][-1]["value"] == "could not notify [email]"
    assert event["request"] == {
        "method": "POST",
        "headers": {
            "Host": "testserver",
            "User-Agent": "Mozilla/5.0",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "31",
        },
    }
    assert event["user"] == {"id": "7"}
    assert event["transaction"] == "/incidents/{pk}/"  # the route, not the address
    assert "server_name" not in event
    text = json.dumps(event)
    for personal in ("jane", "203.0.113.9", "a-session-key", "child", '"vars"'):
        assert personal not in text, text
