"""What every benchmark process shares: where its database is and the environment Django runs in.

Benchmark databases are throwaway: one per size (``<name>_<staff>``), dropped and
rebuilt by ``make_data.py``. They never touch the development or test databases.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/policyportal_bench"


def database_url_for(base_url: str, staff: int) -> str:
    """``postgres://.../policyportal_bench`` -> ``.../policyportal_bench_25000`` (a file beside it on SQLite)."""
    parts = urlsplit(base_url)
    if parts.scheme.startswith("sqlite"):
        path = Path(parts.path[1:] if parts.path.startswith("//") else parts.path)
        suffix = path.suffix or ".sqlite3"
        return f"sqlite:///{path.with_name(f'{path.stem}_{staff}{suffix}')}"
    name = parts.path.strip("/") or "policyportal_bench"
    return urlunsplit(parts._replace(path=f"/{name}_{staff}"))


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def django_env(database_url: str, **extra) -> dict:
    """The environment of every Django process in a run: production settings, with a throwaway
    key, plain HTTP on loopback, emails counted instead of sent, and the benchmark URLs on."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="policyportal.settings.base",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="bench-only-throwaway-secret-key-0123456789-abcdefghijklmnop",
        INTAKE_SIGNING_KEY="bench-only-throwaway-intake-key-0123456789-abcdefghijklmnop",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SITE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="0",
        STATIC_MANIFEST="false",
        EMAIL_BACKEND="bench.mail.CountingBackend",
        PORTAL_BENCH="1",
        VAR_DIR=str(BENCH_DIR / "var"),
        STATIC_ROOT=str(BENCH_DIR / "var" / "static"),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update({k: str(v) for k, v in extra.items()})
    Path(env["STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)
    return env


def setup_django() -> None:
    """For scripts started by ``run.py`` (their environment comes from ``django_env``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
