"""Fault tests: real services started by the test itself, broken on purpose.

``redis_server`` is a redis-server of the test's own on a spare port, to stop, freeze
(SIGSTOP) and restart; ``portal_server`` serves the portal with gunicorn in a subprocess and
``celery_worker`` runs its Celery worker, both against that Redis and the test database, so a
fault reaches them exactly as in production; ``mail_server`` is a real SMTP server in the test's
own process, which outlives any portal process killed while talking to it. The machine's shared
Redis and PostgreSQL are never touched.
"""

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection

from bench.run import free_port, stop_group

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
# The backoff the portal's cache waits before trying Redis again (REDIS_RETRY_SECONDS).
REDIS_RETRY_SECONDS = 1
# Far above any answer expected here, below gunicorn's 30 s worker timeout: a hang shows as a failure.
REQUEST_TIMEOUT = 20
# A log line that means a request failed: a traceback, Django's 500 report, gunicorn killing a
# worker that hung, or a 5xx in the access log ("GET / HTTP/1.1" 500 ...).
SERVER_ERROR = re.compile(r'Traceback|Internal Server Error|WORKER TIMEOUT|" 5\d\d ')


class RedisServer:
    """A private redis-server keeping nothing on disk; ``url`` stays the same across restarts."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down as an operator would; ``start()`` brings it back, empty, on the same port."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def freeze(self) -> None:
        """Still accepting connections (the kernel does that), never answering: a hung server."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)

    def let_the_visibility_timeout_pass(self) -> int:
        """What the broker does an hour after a worker died holding tasks (its visibility timeout,
        CELERY_BROKER_TRANSPORT_OPTIONS): they become visible again, and the next worker to look
        (10 s after it starts, then every 100 s) queues them once more. Ages kombu's record of
        them instead of waiting that hour; returns how many the dead worker held."""
        client = self.client()
        held = client.zrange("unacked_index", 0, -1)
        if held:
            client.zadd("unacked_index", dict.fromkeys(held, 0))
        return len(held)

    def _end(self, sig) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a frozen server would hold a SIGTERM forever
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path):
    if REDIS_SERVER is None:
        pytest.fail("redis-server is missing: apt-get install -y redis-server (scripts/test installs it)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    yield server
    server.kill()


def shared_database_url() -> str:
    """The test database, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail("The portal subprocess needs the test database in a file (policyportal/settings/test.py).")
        return f"sqlite:///{name}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def portal_env(*, redis_url: str, var_dir: Path) -> dict:
    """The environment of a portal process (web server or worker): the suite's settings, the
    test database and the test's own Redis."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=shared_database_url(),
        REDIS_URL=redis_url,
        REDIS_RETRY_SECONDS=str(REDIS_RETRY_SECONDS),
        VAR_DIR=str(var_dir),
        LOG_LEVEL="INFO",
    )
    return env


def venv_command(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


class PortalServer:
    """The portal under gunicorn (the production server) on a spare port, logging to one file."""

    def __init__(self, *, redis_url: str, var_dir: Path, workers: int = 2, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = var_dir / "portal.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [venv_command("gunicorn"), "policyportal.wsgi:application"]
            + [f"--bind=127.0.0.1:{self.port}", f"--workers={workers}", "--timeout=30", "--graceful-timeout=5"]
            + ["--no-control-socket", "--access-logfile=-"],
            cwd=ROOT,
            env={**portal_env(redis_url=redis_url, var_dir=var_dir), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.stop()
            raise

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/accounts/login/", timeout=REQUEST_TIMEOUT).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or a cold worker on a busy machine
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_no_errors(self) -> None:
        """Nothing in the server's log says a request failed."""
        failures = [line for line in self.log().splitlines() if SERVER_ERROR.search(line)]
        assert not failures, "the portal logged errors:\n" + "\n".join(failures) + "\n\n" + self.log()[-4000:]

    def stop(self) -> None:
        stop_group(self.process, self._log)


class CeleryWorker:
    """The portal's Celery worker, as production runs it; ``kill()`` is a SIGKILL of it and its pool.

    ``env`` adds to its environment (``MailServer.env()`` to send real mail)."""

    def __init__(self, *, redis_url: str, var_dir: Path, concurrency: int = 1, env: dict | None = None):
        self.env = {**portal_env(redis_url=redis_url, var_dir=var_dir), **(env or {})}
        self.concurrency = concurrency
        self.log_path = var_dir / "worker.log"
        self.process = None

    def start(self) -> None:
        starts = self.log().count(" ready.")
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [venv_command("celery"), "-A", "policyportal", "worker", "--pool=prefork"]
            + [f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while self.log().count(" ready.") == starts:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the Celery worker did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, self._log)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.process is not None:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pool_processes(self) -> list[int]:
        """The pids of the prefork pool's processes (the worker's children), which run the tasks."""
        if self.process is None or self.process.poll() is not None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def queue(self, task: str, **kwargs) -> None:
        """Send a task by name to this worker's broker, as beat or a web process would."""
        app = Celery(broker=self.env["REDIS_URL"], set_as_current=False)
        try:
            app.send_task(task, kwargs=kwargs)
        finally:
            app.close()


class MailServer:
    """A real SMTP server (aiosmtpd) on a spare port, in a thread of the test's own process.

    ``received`` lists (recipient, Message-ID) of every message it accepted, in order: a portal
    process killed after the server said 250 but before it recorded that shows as a repeat.
    """

    def __init__(self):
        self.port = free_port()
        self.received: list[tuple[str, str]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
        self.received.extend((recipient, message_id) for recipient in envelope.rcpt_tos)
        return "250 Message accepted"

    def env(self) -> dict:
        """A portal process that sends through this server: the production settings (the suite's
        keep mail in the process's memory), with the suite's keys and hosts from the environment."""
        return {
            "DJANGO_SETTINGS_MODULE": "policyportal.settings.base",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_TIMEOUT": "5",
            "STATIC_MANIFEST": "false",
        }

    def use_in_this_process(self, settings) -> None:
        """Point this process's mail at the server (``settings`` is pytest-django's fixture)."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", self.port, False
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD, settings.EMAIL_TIMEOUT = "", "", 5


@pytest.fixture
def mail_server():
    smtp_log = logging.getLogger("mail.log")
    level = smtp_log.level
    smtp_log.setLevel(logging.WARNING)  # aiosmtpd logs every line of every session at INFO
    server = MailServer()
    server.controller.start()
    yield server
    server.controller.stop()
    smtp_log.setLevel(level)


@pytest.fixture
def var_dir(tmp_path) -> Path:
    """VAR_DIR (private files, generated keys) shared by the test's portal processes."""
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def portal_workers() -> int:
    """gunicorn's worker processes; a test may say ``@pytest.mark.parametrize("portal_workers", [1])``."""
    return 2


@pytest.fixture
def portal_server(transactional_db, redis_server, portal_workers, var_dir):
    """The portal's base URL and log; its data is what the test commits (hence ``transactional_db``)."""
    server = PortalServer(redis_url=redis_server.url, var_dir=var_dir, workers=portal_workers)
    yield server
    server.stop()


@pytest.fixture
def celery_worker(transactional_db, redis_server, var_dir):
    """A started worker on the test's Redis and database; ``stop()``, ``kill()`` and ``start()`` again."""
    worker = CeleryWorker(redis_url=redis_server.url, var_dir=var_dir)
    worker.start()
    yield worker
    worker.kill()


class Visitor:
    """One browser's cookies against a real server. Every response is timed and must be below 500."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.timings: list[tuple[str, float]] = []

    def get(self, path: str) -> requests.Response:
        return self._send("GET", path)

    def post(self, path: str, data: dict, files: dict | None = None) -> requests.Response:
        if "csrftoken" not in self.session.cookies:
            self.get(path)
        data = {"csrfmiddlewaretoken": self.session.cookies["csrftoken"], **data}
        return self._send("POST", path, data=data, **({"files": files} if files else {}))

    def sign_in(self, email: str, password: str) -> requests.Response:
        self.get("/accounts/login/")
        response = self.post("/accounts/login/", {"login": email, "password": password})
        assert response.status_code == 302 and response.headers["Location"] == "/", (
            f"sign-in answered {response.status_code} {response.headers.get('Location')}"
        )
        return response

    def slowest(self) -> tuple[str, float]:
        return max(self.timings, key=lambda timing: timing[1])

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        response = self.session.request(
            method, self.base_url + path, allow_redirects=False, timeout=REQUEST_TIMEOUT, **kwargs
        )
        self.timings.append((f"{method} {path}", time.monotonic() - started))
        assert response.status_code < 500, f"{method} {path} answered {response.status_code}"
        return response
