"""The scale benchmark's fast version (bench/README.md): the whole pipeline, small, so it cannot rot.

It builds two small trusts in databases of its own (named after the test
database's server and name, never the test database itself), runs the sweep,
counts queries, serves the portal with gunicorn and puts a short load on it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent


def bench_database_url(tmp_path) -> str:
    """The bench's base URL: beside the suite's PostgreSQL database, or a SQLite file in ``tmp_path``."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{parts.path.strip('/')}_benchsmoke"))
    return f"sqlite:///{tmp_path / 'bench.sqlite3'}"


def redis_url_for_bench() -> str:
    """A Redis database number of the bench's own beside the suite's broker and cache (the bench
    empties it); none without the suite's Redis (the sweep then runs in one process)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + 2}"))


def drop_databases(url: str, *sizes: int) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg2

    from bench.common import database_url_for

    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        for size in sizes:
            name = urlsplit(database_url_for(url, size)).path.strip("/")
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_the_benchmark_runs_end_to_end_with_equal_query_counts(tmp_path):
    url = bench_database_url(tmp_path)
    output = tmp_path / "results.json"
    command = [sys.executable, "bench/run.py", "--staff", "500", "--small", "250", "--database-url", url]
    command += ["--rounds", "3", "--users", "4", "--seconds", "2", "--output", str(output)]
    command += ["--redis-url", redis_url_for_bench()]
    if url.startswith("postgres"):
        # The load through two web nodes behind a real PgBouncer, as a deployment serving many trusts runs.
        command += ["--nodes", "2", "--pooled", "--pool-size", "4"]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if url.startswith("postgres"):
            # The data went in by COPY with triggers off and the tallies counted afresh; the sweep and
            # the load then moved requests with them on: the tallies still match a fresh count.
            from bench.common import database_url_for, django_env

            tallies = subprocess.run(
                [sys.executable, "manage.py", "check_tallies"],
                cwd=ROOT,
                env=django_env(database_url_for(url, 500)),
                capture_output=True,
                text=True,
                timeout=120,
            )
    finally:
        drop_databases(url, 500, 250)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    if url.startswith("postgres"):
        assert tallies.returncode == 0 and "agree" in tallies.stdout, tallies.stdout + tallies.stderr

    assert results["queries"]["main"] == results["queries"]["small"]
    assert all(figures["errors"] == 0 and figures["n"] == 3 for figures in results["pages"].values())
    first, second = results["sweep"]["first"], results["sweep"]["second"]
    assert first["emails"] == first["digests"] > 0 and second["emails"] == 0
    # Redis is always there (scripts/test), so a real worker swept
    assert first["mode"].startswith("through") and first["failed_tasks"] == second["failed_tasks"] == 0
    load = results["load"]
    assert load["acknowledge"]["posts"] > 0 and load["bare"]["posts"] > 0
    assert load["acknowledge"]["errors"] == load["bare"]["errors"] == 0
    assert load["check"] == {
        "acknowledgements": load["acknowledge"]["posts"],
        "duplicates": 0,
        "not_linked_to_request": 0,
    }
    assert results["memory"]["web_workers_mb"] > 0
    if url.startswith("postgres"):
        assert load["through"] == "2 web node(s), behind PgBouncer"
        assert results["pooler"]["transactions"] > load["acknowledge"]["posts"] + load["bare"]["posts"]
