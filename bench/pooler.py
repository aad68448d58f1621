"""A real PgBouncer in transaction mode in front of the benchmark's database (``run.py --pooled``).

The suite's own (``tests/pgbouncer.py``: Debian's ``pgbouncer``, which scripts/test installs, on
a spare loopback port, as ``nobody`` when run as root), with a pool of the benchmark's size. The
pooled URL carries ``?pooled=true``: the portal then turns server-side cursors off, as a
transaction pooler needs (README, "Behind PgBouncer").
"""

from urllib.parse import unquote, urlsplit

from tests.pgbouncer import PgBouncer as _Server


class PgBouncer:
    def __init__(self, url: str, pool_size: int = 8):
        parts = urlsplit(url)
        self.database = parts.path.strip("/")
        self.server = _Server(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            pool_size=pool_size,
        )
        self.server.start()
        self.port = self.server.port
        self.url = self.server.url(self.database)

    def stats(self) -> dict:
        """What went through it: PgBouncer's own counters for the database (SHOW STATS)."""
        stats = self.server.wait_for_stats(self.database, above=0)
        return {"transactions": int(stats["total_xact_count"]), "queries": int(stats["total_query_count"])}

    def stop(self) -> None:
        self.server.stop()
