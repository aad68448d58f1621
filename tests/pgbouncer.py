"""A real PgBouncer in transaction mode in front of the test database (issue 16).

Debian's ``pgbouncer`` (scripts/test installs it), one per pytest process (so per pytest-xdist
worker), started the first time a test asks for ``pgbouncer`` and stopped when the session ends,
before the test database is dropped (its idle server connections would otherwise hold the drop
up). It listens on a spare loopback port and reaches the PostgreSQL the suite runs on, with
``pool_mode = transaction`` and a pool of ``POOL_SIZE`` server connections per database, so that
more clients than that share them, as a deployment's web nodes and workers do. PgBouncer refuses
to run as root: as root it runs as ``nobody``, its files in a folder of its own.

``pgbouncer.url()`` is the test database through it as the portal is given it
(``?pooled=true``), ``pgbouncer.database()`` the same as a DATABASES entry, ``orm_through()``
points this thread's ORM at it, and ``pgbouncer.show("POOLS")`` asks its admin console.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.extras
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

# Fewer server connections than the clients the tests start: the pooling is really exercised.
POOL_SIZE = 3
STARTUP_SECONDS = 30
ADMIN_DATABASE = "pgbouncer"


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )
    if found is None:
        pytest.fail("pgbouncer is missing: apt-get install -y pgbouncer (scripts/test installs it)")
    return found


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncer:
    """PgBouncer in a process of its own, in front of ``server`` (a DATABASES entry's HOST and PORT)."""

    def __init__(self, *, host: str, port: int, user: str, password: str, pool_size: int = POOL_SIZE):
        self.binary = pgbouncer_binary()
        self.pool_size = pool_size
        self.server = (host, port)
        self.user, self.password = user, password
        self.port = _spare_port()
        self.directory = Path(tempfile.mkdtemp(prefix="policyportal-pgbouncer-"))
        self.log_path = self.directory / "pgbouncer.log"
        self.process = None

    def start(self) -> None:
        config = self.directory / "pgbouncer.ini"
        users = self.directory / "userlist.txt"
        users.write_text(f"{_quoted(self.user)} {_quoted(self.password)}\n")
        host, port = self.server
        config.write_text(
            "[databases]\n"
            # Any database name, on the suite's server, as the client's own role.
            f"* = host={host} port={port}\n"
            "\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\nadmin_users = {self.user}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            f"max_db_connections = {self.pool_size}\nmax_client_conn = 400\n"
            # The default, said here because tests rely on it: a released server connection is the
            # next one given out (LIFO), so two clients one after the other share it.
            "server_round_robin = 0\n"
            # SHOW STATS totals are refreshed every stats_period seconds.
            "stats_period = 1\n"
            f"logfile = {self.log_path}\npidfile = {self.directory / 'pgbouncer.pid'}\n"
        )
        command = [self.binary, str(config)]
        if os.geteuid() == 0:  # PgBouncer will not run as root
            nobody = pwd.getpwnam("nobody")
            for path in (self.directory, config, users):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            command = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]
            command += [self.binary, str(config)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "stderr.log").open("w"),
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                self.show("VERSION")
                return
            except psycopg2.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log()
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start:\n{log[-3000:]}") from None
                time.sleep(0.05)

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace") for path in (self.log_path, self.directory / "stderr.log") if path.exists()
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    # Reaching it
    # --------------------------------------------------------------------------
    def url(self, name: str, *, pooled: bool = True) -> str:
        """The database ``name`` through PgBouncer, as a DATABASE_URL."""
        credentials = quote(self.user) + (f":{quote(self.password)}" if self.password else "")
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{name}" + ("?pooled=true" if pooled else "")

    def database(self, name: str, *, server_side_cursors: bool = False) -> dict:
        """A complete DATABASES entry for ``name`` through PgBouncer, based on the default one.

        Built as the settings build DATABASE_URL's (``policyportal.env.env_database``);
        ``server_side_cursors=True`` is what a pooled URL must never give, for a test to show why.
        """
        entry = {**connections[DEFAULT_DB_ALIAS].settings_dict}
        entry.update(NAME=name, HOST="127.0.0.1", PORT=self.port, USER=self.user, PASSWORD=self.password)
        entry.update(OPTIONS={}, CONN_MAX_AGE=0, DISABLE_SERVER_SIDE_CURSORS=not server_side_cursors)
        return entry

    def connect(self, name: str):
        """A plain psycopg2 client of ``name`` through PgBouncer, in autocommit."""
        client = psycopg2.connect(
            host="127.0.0.1", port=self.port, dbname=name, user=self.user, password=self.password or None
        )
        client.autocommit = True
        return client

    def show(self, what: str) -> list[dict]:
        """``SHOW <what>`` on the admin console (the ``pgbouncer`` database): rows as dicts."""
        admin = psycopg2.connect(
            host="127.0.0.1", port=self.port, dbname=ADMIN_DATABASE, user=self.user, password=self.password or None
        )
        try:
            admin.autocommit = True  # the console takes no transactions
            with admin.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(f"SHOW {what}")
                return [dict(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            admin.close()

    def command(self, statement: str) -> None:
        """A console command such as ``DISABLE name`` or ``ENABLE name``."""
        admin = psycopg2.connect(
            host="127.0.0.1", port=self.port, dbname=ADMIN_DATABASE, user=self.user, password=self.password or None
        )
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(statement)
        finally:
            admin.close()

    def stats(self, name: str) -> dict:
        """SHOW STATS's row for the database ``name`` (zeros before its first client)."""
        rows = [row for row in self.show("STATS") if row["database"] == name]
        return rows[0] if rows else {"total_xact_count": 0, "total_query_count": 0}

    def wait_for_stats(self, name: str, *, above: int, seconds: float = 10) -> dict:
        """SHOW STATS for ``name`` once its transactions number more than ``above`` (its totals
        are refreshed every stats_period, one second here)."""
        deadline = time.monotonic() + seconds
        while True:
            stats = self.stats(name)
            if stats["total_xact_count"] > above or time.monotonic() > deadline:
                return stats
            time.sleep(0.2)


@pytest.fixture(scope="session")
def pgbouncer(django_db_setup, django_db_blocker):
    """PgBouncer in front of the test database's server; the test database is ``test_database``."""
    with django_db_blocker.unblock():
        db = connections[DEFAULT_DB_ALIAS].settings_dict
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            pytest.fail("PgBouncer needs the suite on PostgreSQL (run scripts/test)")
        server = PgBouncer(
            host=db["HOST"] or "127.0.0.1",
            port=int(db["PORT"] or 5432),
            user=db["USER"] or "postgres",
            password=db["PASSWORD"] or "",
        )
        server.test_database = db["NAME"]
    server.start()
    yield server
    # Close this process's clients first (their server connections go with PgBouncer).
    server.stop()


@contextmanager
def orm_through(database: dict):
    """This thread's ORM on ``database`` (a complete DATABASES entry) as its default database.

    The portal's own code (which always uses the default database) then runs through it, as in a
    web node or worker given that DATABASE_URL. Each thread has its own connections, so each
    thread using this is one client of its own.
    """
    previous = connections[DEFAULT_DB_ALIAS]
    wrapper = type(previous)(database, alias=DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        connections[DEFAULT_DB_ALIAS] = previous
