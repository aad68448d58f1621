"""The test suite: base settings with a fixed key, fast hashing and captured email.

DATABASE_URL and REDIS_URL still come from the environment, so the same suite
runs on SQLite for a quick look and on PostgreSQL and Redis in CI.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("INTAKE_SIGNING_KEY", "test-only-intake-signing-key-not-for-any-deployment-0123")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SITE_URL", "http://testserver")

# pytest-xdist runs the suite in several worker processes (PYTEST_XDIST_WORKER=gw0, gw1, ...).
# Each gets Redis databases and a VAR_DIR of its own, derived from those the run was given:
# worker N takes the given database number + 3N and the two after it (broker, cache, bench
# smoke), and VAR_DIR/gwN. The test database gets its _gwN suffix from pytest-django. A process a
# test starts inherits the derived values and TEST_WORKER_SERVICES, so it derives nothing again.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("TEST_WORKER_SERVICES") != _worker:
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    _index = int(_worker[2:])
    _given_var = os.environ.get("VAR_DIR") or str(Path(__file__).resolve().parents[2] / "var")
    os.environ["TEST_GIVEN_REDIS_URL"], os.environ["TEST_GIVEN_VAR_DIR"] = os.environ.get("REDIS_URL", ""), _given_var
    if os.environ.get("REDIS_URL"):
        _given = urlsplit(os.environ["REDIS_URL"])
        _db = int(_given.path.strip("/") or 0) + 3 * _index
        if _db + 2 > 15:  # Redis has databases 0-15 unless configured otherwise
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"REDIS_URL={os.environ['REDIS_URL']!r}: test worker {_worker} would need Redis databases "
                f"{_db}-{_db + 2}; give a lower database number or fewer workers (-n)."
            )
        os.environ["REDIS_URL"] = urlunsplit(_given._replace(path=f"/{_db}"))
    os.environ["VAR_DIR"] = str(Path(_given_var) / _worker)
    os.environ["TEST_WORKER_SERVICES"] = _worker

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's in-memory default: a server started in a subprocess (tests/faults)
    # opens the same test database. Named per process, so two runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"  # noqa: F405
    and not DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]  # noqa: F405
):
    # A throwaway database: a commit need not wait for the disk (what a crash of the server
    # would lose is the last few commits, never consistency). Rows are visible to the other
    # connections at commit exactly as with the default. Not through PgBouncer (a pooled
    # DATABASE_URL, tests/pgbouncer.py): it refuses a connection that sends startup options,
    # which would be a session's settings on a server connection that many clients share.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
if not REDIS_URL:  # noqa: F405
    # Per-process, so two test runs on one machine never share rate-limit counters.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
