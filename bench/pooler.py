"""A real PgBouncer in transaction mode in front of the benchmark's database (``run.py --pooled``).

Debian's ``pgbouncer`` (scripts/test installs it), on a free loopback port, pointing at the
database's own server; it will not run as root, so as ``nobody`` when the benchmark is root.
The pooled URL carries ``?pooled=true``: the portal then turns server-side cursors off, as a
transaction pooler needs (README, "Behind PgBouncer").
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgBouncer:
    def __init__(self, url: str, pool_size: int = 8, max_clients: int = 400):
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise SystemExit("--pooled needs Debian's pgbouncer (apt-get install pgbouncer; scripts/test installs it)")
        parts = urlsplit(url)
        self.database = parts.path.strip("/")
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
        (self.dir / "users.txt").write_text(f'"{parts.username or "postgres"}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{self.database} = host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} dbname={self.database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {self.dir / 'users.txt'}\n"
            f"admin_users = {parts.username or 'postgres'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = {max_clients}\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
        )
        command = [binary, str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
            for child in self.dir.iterdir():
                shutil.chown(child, "nobody")
            command = ["runuser", "-u", "nobody", "--", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.url = urlunsplit(
            parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{self.port}", query="pooled=true")
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"pgbouncer stopped at start: {self._log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"pgbouncer did not listen within 20 s: {self._log()}")

    def _log(self) -> str:
        log = self.dir / "pgbouncer.log"
        return log.read_text()[-2000:] if log.exists() else ""

    def stats(self) -> dict:
        """What went through it: PgBouncer's own counters for the database (SHOW STATS)."""
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=self.port, dbname="pgbouncer", user="postgres")
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute("SHOW STATS")
                names = [c.name for c in cursor.description]
                for row in cursor.fetchall():
                    entry = dict(zip(names, row, strict=True))
                    if entry["database"] == self.database:
                        return {
                            "transactions": int(entry["total_xact_count"]),
                            "queries": int(entry["total_query_count"]),
                        }
        finally:
            admin.close()
        return {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
