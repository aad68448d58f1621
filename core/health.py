"""Is the portal working? Health checks for docker and for monitoring, and error reports without personal data.

Three pages (``policyportal/urls.py``), built on django-health-check. Each answers anyone with
its status alone, ``OK`` (200) or ``Unhealthy`` (500); the report of each check goes only to a
caller sending ``Authorization: Bearer <HEALTH_CHECK_TOKEN>``, never to anyone else:

- ``/health/live/``: the process answers and reaches the database. Docker's healthcheck of the
  web container. Nothing else belongs here, because nothing else is mended by restarting a web
  server: with Redis down every page still works (``core.cache``), and a mail server that refuses
  mail, a stopped worker or a stopped beat are other containers' faults.
- ``/health/``: everything, for a monitor that tells a person: the database; Redis as the cache
  and as the broker, asked directly (the cache quietly counts in memory while Redis is away, so
  asking it through Django would always pass); the private files' folder; the outbox; beat.
- ``/health/beat/``: beat's own check, run in the beat container by docker
  (``manage.py health_check health-beat --no-http``).

A check raising ``ServiceWarning`` is reported but does not fail the page (django-health-check
itself would answer 500): it asks for a person's attention, not an alarm.

``scrub_event`` is Sentry's ``before_send`` (settings, "ERROR REPORTS"). The settings import this
module while they load, so nothing here may touch ``settings`` or a model at import time.
"""

import dataclasses
import datetime as dt
import functools
import os
import re
import secrets
import shutil
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView
from redis.asyncio import Redis as RedisClient

# Beat records each duty's last run at most three minutes after it (django-celery-beat writes its
# schedule back every three minutes), and the outbox sweep runs every minute: ten minutes of
# silence means beat has stopped.
BEAT_SILENCE = dt.timedelta(minutes=10)
# Failed emails stay failed until someone sends them again; a warning about the last day's.
FAILED_WINDOW = dt.timedelta(hours=24)
BROKER_ROOM = 1024 * 1024  # a few queued tasks


# The pages
# ------------------------------------------------------------------------------


def holds_token(request) -> bool:
    """Whether the request carries ``Authorization: Bearer HEALTH_CHECK_TOKEN`` (never true without a token set).

    A header, not a secret in the address: addresses end up in the access log and the proxy's.
    """
    token = settings.HEALTH_CHECK_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


class HealthView(HealthCheckView):
    """django-health-check's page: its status to anyone, the report of each check to the token's holder."""

    details = True  # False: the status alone, whoever asks

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        failing = any(result.error and not isinstance(result.error, ServiceWarning) for result in self.results)
        if not (self.details and holds_token(request)):
            return HttpResponse(
                "Unhealthy\n" if failing else "OK\n",
                status=500 if failing else 200,
                content_type="text/plain; charset=utf-8",
            )
        if response.status_code == 500 and not failing:
            response.status_code = 200  # warnings only
        return response


def live_checks() -> list:
    return [Database]


def beat_checks() -> list:
    return [Beat]


def full_checks() -> list:
    """Everything the portal relies on, as the settings configure it (Redis, or the first look's folders)."""
    if settings.REDIS_URL:
        # The library's Redis check names host, port and database: db N is the broker, N + 1 the cache.
        services = [_redis(settings.REDIS_URL), _redis(settings.CACHES["default"]["LOCATION"])]
    else:
        services = [BrokerFolder, Cache]
    return [Database, *services, PrivateFiles, Outbox, Beat]


def _redis(url: str):
    timeout = settings.REDIS_TIMEOUT_MS / 1000
    factory = functools.partial(RedisClient.from_url, url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return (Redis, {"client_factory": factory})


# The checks
# ------------------------------------------------------------------------------
# Checks that read the database are async and call the ORM through sync_to_async: it runs on the
# request's own thread and connection, which Django closes after the request. (django-health-check
# runs a synchronous check on a pool thread, where a connection would stay open for good.)


def _writable_with_room(folder: Path, room: int) -> None:
    """Raise unless ``folder`` is a folder this process may write to, with ``room`` bytes free.

    Asked of the operating system rather than by writing a probe file: the backup lists the
    private files and then copies each one, and a probe deleted in between would fail it.
    """
    if not folder.is_dir():
        raise ServiceUnavailable(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ServiceUnavailable(f"{folder} is not writable by this process")
    free = shutil.disk_usage(folder).free
    if free < room:
        raise ServiceUnavailable(f"{folder} has {free // 2**20} MB free, less than {room // 2**20} MB")


@dataclasses.dataclass
class PrivateFiles(HealthCheck):
    """Where the private files live can take an upload: PRIVATE_MEDIA_ROOT has room for the largest
    (MAX_BODY_BYTES); with PRIVATE_STORAGE=s3, the bucket answers to the portal's credentials
    (a bucket has no free space to measure)."""

    def run(self):
        if settings.PRIVATE_STORAGE == "s3":
            self._bucket_answers()
            return
        folder = Path(settings.PRIVATE_MEDIA_ROOT)
        try:
            folder.mkdir(parents=True, exist_ok=True)  # as the first upload would
        except OSError as exc:
            raise ServiceUnavailable(f"{folder} cannot be created") from exc
        _writable_with_room(folder, settings.MAX_BODY_BYTES)

    @staticmethod
    def _bucket_answers():
        from botocore.exceptions import BotoCoreError, ClientError
        from django.core.files.storage import default_storage

        bucket = default_storage.bucket_name
        try:
            default_storage.connection.meta.client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "an error"))  # HEAD has no body: the status
            said = {"404": "does not exist", "403": "refuses the portal's credentials"}.get(code, f"answers {code}")
            raise ServiceUnavailable(f"the bucket {bucket} {said}") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(f"the bucket {bucket} cannot be reached ({type(exc).__name__})") from exc


@dataclasses.dataclass
class BrokerFolder(HealthCheck):
    """The first look's broker, a folder under VAR_DIR, can take tasks."""

    def run(self):
        _writable_with_room(Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]), BROKER_ROOM)


def _outbox_figures(now: dt.datetime) -> dict:
    # Models inside the function: the settings import this module (scrub_event) before apps load.
    from core.models import OutboxMessage
    from core.outbox import backlog

    figures = backlog(now)
    figures["failed_lately"] = (
        OutboxMessage.objects.filter(failed_at__gte=now - FAILED_WINDOW).count() if figures["failed"] else 0
    )
    return figures


@dataclasses.dataclass
class Outbox(HealthCheck):
    """Email is going out.

    Fails when the oldest email not yet sent (waiting, or retrying after an error) is older than
    OUTBOX_MAX_AGE_SECONDS: no dispatcher has run, or the mail server has refused it that long, and
    a safeguarding alert may be stuck with it; a person must look. Warns when emails failed in the
    last day (an address the server refused, or one that kept failing): an administrator reads the
    error under "Outgoing emails" in the admin and sends them again; nothing is down.
    """

    async def run(self):
        now = timezone.now()
        try:
            figures = await sync_to_async(_outbox_figures)(now)
        except DatabaseError as exc:
            raise ServiceUnavailable("The outbox cannot be read from the database") from exc
        limit = settings.OUTBOX_MAX_AGE_SECONDS
        if figures["oldest_unsent_seconds"] > limit:
            raise ServiceUnavailable(
                f"{figures['unsent']} email(s) not sent ({figures['due']} due), the oldest waiting "
                f"{figures['oldest_unsent_seconds'] // 60} min, more than {limit // 60} min: "
                "is the worker running, and does the mail server accept mail?"
            )
        if figures["failed_lately"]:
            raise ServiceWarning(
                f"{figures['failed_lately']} email(s) failed in the last day ({figures['failed']} in all): "
                "see Outgoing emails in the admin"
            )


def _last_sweep() -> dict:
    # Models inside the function: the settings import this module before apps load.
    from django.db.models import Count, Max
    from django_celery_beat.models import PeriodicTask

    from core.outbox import DISPATCHER

    duties = PeriodicTask.objects.filter(task=DISPATCHER, enabled=True)
    return duties.aggregate(scheduled=Count("pk"), last_run=Max("last_run_at"))


@dataclasses.dataclass
class Beat(HealthCheck):
    """Beat is running its schedule: it started the every-minute outbox sweep in the last ten minutes.

    Beat records a run whether or not the broker took the task, so this says beat is alive, not
    that Redis is (the broker check says that).
    """

    async def run(self):
        try:
            sweep = await sync_to_async(_last_sweep)()
        except DatabaseError as exc:
            raise ServiceUnavailable("Beat's schedule cannot be read from the database") from exc
        last_run = sweep["last_run"]
        if not sweep["scheduled"]:
            raise ServiceUnavailable('"Send outgoing email" is missing from beat\'s schedule, or disabled')
        if last_run is None:
            raise ServiceUnavailable("Beat has not run the outbox sweep yet")
        silence = timezone.now() - last_run
        if silence > BEAT_SILENCE:
            raise ServiceUnavailable(f"Beat last ran the outbox sweep {int(silence.total_seconds()) // 60} min ago")


# Error reports
# ------------------------------------------------------------------------------

# Request headers an error report keeps: they describe the request, not the person.
SAFE_HEADERS = frozenset({"accept", "content-length", "content-type", "host", "user-agent", "x-forwarded-proto"})
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Values under keys naming one of these are hidden where code adds its own data (extra, tags,
# contexts); sentry-sdk's denylist scrubber does not run once data_collection is configured.
SECRET_WORDS = ("auth", "cookie", "credential", "csrf", "dsn", "passw", "secret", "session", "token")


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's ``before_send``: what an error report may carry out of the portal.

    The request keeps its method and a few headers that describe no one: not its address (an
    invitation or password-reset link carries its secret in the path; the report's transaction
    names the route instead), query string, body, cookies or environment (the client's address).
    The user keeps their id alone. Local variables, breadcrumbs' data, the command line and the
    server's name go; values under keys such as ``password`` or ``token`` are hidden, and every
    email address left anywhere (an exception's message, a log line) becomes ``[email]``. Sentry
    drops the event if this raises.
    """
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        headers = headers.items() if isinstance(headers, dict) else []
        kept = {"method": request.get("method")}
        kept["headers"] = {name: value for name, value in headers if str(name).lower() in SAFE_HEADERS}
        event["request"] = {key: value for key, value in kept.items() if value}
    user = event.get("user")
    if isinstance(user, dict):
        if user.get("id") is not None:
            event["user"] = {"id": str(user["id"])}
        else:
            event.pop("user")
    event.pop("server_name", None)
    extra = event.get("extra")
    if isinstance(extra, dict):
        extra.pop("sys.argv", None)
    for part in ("extra", "tags", "contexts"):
        if part in event:
            event[part] = _without_secrets(event[part])
    for frame in _frames(event):
        frame.pop("vars", None)
    breadcrumbs = event.get("breadcrumbs")
    for crumb in breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else []:
        if isinstance(crumb, dict):
            crumb.pop("data", None)
    return _without_addresses(event)


def _frames(event: dict):
    for part in ("exception", "threads"):
        container = event.get(part)
        for value in container.get("values", []) if isinstance(container, dict) else []:
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            for frame in stacktrace.get("frames", []) if isinstance(stacktrace, dict) else []:
                if isinstance(frame, dict):
                    yield frame


def _without_secrets(value):
    if isinstance(value, dict):
        return {
            key: "[Filtered]" if any(word in str(key).lower() for word in SECRET_WORDS) else _without_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_without_secrets(item) for item in value]
    return value


def _without_addresses(value):
    if isinstance(value, str):
        return EMAIL.sub("[email]", value)
    if isinstance(value, dict):
        return {key: _without_addresses(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_addresses(item) for item in value]
    return value
