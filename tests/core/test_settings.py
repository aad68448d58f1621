"""policyportal.env and policyportal.settings.base: strict settings from the environment.

The readers are tested in-process. The settings module itself is loaded in a
subprocess with a controlled environment, because it is read once per process
(and this process already runs on policyportal.settings.test).
"""

import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from policyportal.env import env_bool, env_database, env_int, env_list, env_str

REPO = Path(__file__).resolve().parents[2]
BASE_SETTINGS = REPO / "policyportal" / "settings" / "base.py"
VAR = "PORTAL_TEST_SETTING"  # a name no real setting uses


# (a) The readers ----------------------------------------------------------------------


@pytest.fixture
def unset(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " true "])
def test_it_reads_true_spellings_as_true(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("value", ["0", "false", "False", "NO", "off", " off "])
def test_it_reads_false_spellings_as_false(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    assert env_bool(VAR, True) is False


@pytest.mark.parametrize("value", ["maybe", "2", "ture", "y"])
def test_it_refuses_a_bool_it_cannot_read_and_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR}="):
        env_bool(VAR, False)


def test_it_uses_the_bool_default_when_unset_or_empty(monkeypatch, unset):
    assert env_bool(VAR, True) is True
    assert env_bool(VAR, False) is False
    monkeypatch.setenv(VAR, "")
    assert env_bool(VAR, True) is True


def test_it_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv(VAR, "12")
    assert env_int(VAR, 0) == 12
    monkeypatch.setenv(VAR, "-3")
    assert env_int(VAR, 0) == -3


@pytest.mark.parametrize("value", ["12x", "1.5", "twelve", "0x10"])
def test_it_refuses_an_int_it_cannot_read_and_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR}=.*not a whole number"):
        env_int(VAR, 0)


def test_it_enforces_the_minimum_of_an_int(monkeypatch):
    monkeypatch.setenv(VAR, "59")
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR}=59 is below the minimum of 60"):
        env_int(VAR, 600, minimum=60)
    monkeypatch.setenv(VAR, "60")
    assert env_int(VAR, 600, minimum=60) == 60
    monkeypatch.setenv(VAR, "-1")
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_int(VAR, 0, minimum=0)


def test_it_uses_the_int_default_when_unset_or_empty(monkeypatch, unset):
    assert env_int(VAR, 42, minimum=1) == 42
    monkeypatch.setenv(VAR, "")
    assert env_int(VAR, 42, minimum=1) == 42


def test_it_splits_a_list_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " portal.example.org, ,www.example.org ,")
    assert env_list(VAR, ["localhost"]) == ["portal.example.org", "www.example.org"]


def test_it_uses_a_copy_of_the_list_default_when_unset_or_blank(monkeypatch, unset):
    default = ["localhost"]
    result = env_list(VAR, default)
    assert result == ["localhost"]
    result.append("changed")
    assert default == ["localhost"]
    assert env_list(VAR) == []
    monkeypatch.setenv(VAR, "   ")
    assert env_list(VAR, ["localhost"]) == ["localhost"]


def test_it_reads_a_string_or_its_default(monkeypatch, unset):
    assert env_str(VAR) is None
    assert env_str(VAR, "fallback") == "fallback"
    monkeypatch.setenv(VAR, "")
    assert env_str(VAR, "fallback") == "fallback"
    monkeypatch.setenv(VAR, "value")
    assert env_str(VAR, "fallback") == "value"


def test_it_refuses_a_required_string_that_is_unset_or_empty_and_names_it(monkeypatch, unset):
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR} must be set"):
        env_str(VAR, required=True)
    monkeypatch.setenv(VAR, "")
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR} must be set"):
        env_str(VAR, "ignored", required=True)


# A database URL, and PgBouncer's ?pooled=true (issue 16)
@pytest.mark.parametrize("pooled", ["true", "1", "yes", "TRUE"])
def test_a_pooled_database_url_switches_server_side_cursors_off_and_loses_the_option(monkeypatch, pooled):
    monkeypatch.setenv(VAR, f"postgres://app:secret@pgbouncer:6432/portal?sslmode=require&pooled={pooled}")
    database = env_database(VAR, conn_max_age=60)
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert database["OPTIONS"] == {"sslmode": "require"}  # libpq's options reach the driver, the portal's does not
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == (
        "pgbouncer",
        6432,
        "portal",
        "app",
    )
    assert database["CONN_MAX_AGE"] == 60 and database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("url", ["postgres://app@db/portal", "postgres://app@db/portal?pooled=false"])
def test_a_direct_database_url_keeps_server_side_cursors(monkeypatch, url):
    monkeypatch.setenv(VAR, url)
    database = env_database(VAR)
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False and database.get("OPTIONS", {}) == {}


def test_an_unset_database_url_is_its_default_or_none(monkeypatch, unset):
    assert env_database(VAR) is None
    assert env_database(VAR, "sqlite:////tmp/portal.sqlite3")["NAME"] == "/tmp/portal.sqlite3"


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgres://app@db/portal?pooled=maybe", "pooled='maybe' is not a boolean"),
        ("sqlite:////tmp/portal.sqlite3?pooled=true", "pooled=true is for PostgreSQL behind PgBouncer only"),
        ("http://db/portal", "cannot be read as a database URL"),
        (
            "postgres://app@pgbouncer/portal?pooled=true&options=-c%20statement_timeout%3D5s",
            "PgBouncer refuses options",
        ),
    ],
)
def test_it_refuses_a_database_url_it_cannot_use_and_names_it(monkeypatch, url, message):
    monkeypatch.setenv(VAR, url)
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR}.*{re.escape(message)}"):
        env_database(VAR)


def test_a_direct_url_may_not_be_pooled(monkeypatch):
    monkeypatch.setenv(VAR, "postgres://app@pgbouncer:6432/portal?pooled=true")
    with pytest.raises(ImproperlyConfigured, match=rf"^{VAR} must reach PostgreSQL directly"):
        env_database(VAR, allow_pooled=False)


# (b) and (c) The settings module, loaded in a fresh process -----------------------------


def _names_read_by_settings():
    names = set(re.findall(r'env_(?:str|bool|int|list|database)\(\s*"([A-Z0-9_]+)"', BASE_SETTINGS.read_text()))
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "VAR_DIR"} <= names
    return names


def clean_environ():
    """os.environ without anything the settings read, nor any DJANGO_* variable.

    This process's test settings set some of the former (SECURE_COOKIES, SECRET_KEY, ...), and
    browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, which the deployment checks rightly refuse.
    """
    drop = _names_read_by_settings() | {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    env = {key: value for key, value in os.environ.items() if key not in drop and not key.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "policyportal.settings.base"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture
def production_env(tmp_path):
    """A complete, valid production environment; each test spoils one thing."""
    env = clean_environ()
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        INTAKE_SIGNING_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.example.org",
        SITE_URL="https://portal.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        VAR_DIR=str(tmp_path),
    )
    assert len(env["SECRET_KEY"]) >= 50
    return env


def run(env, *args):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def setup_django(env):
    return run(env, "-c", "import django; django.setup()")


def assert_fails_naming(result, name):
    """Refused at start-up in one line naming the variable, no traceback (policyportal.startup)."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: "), result.stderr
    assert name in lines[0], result.stderr


def test_it_loads_with_a_complete_production_environment(production_env, tmp_path):
    result = setup_django(production_env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "broker").is_dir()  # runtime files go under VAR_DIR, not the repository


def test_it_stops_at_start_up_on_a_bad_debug_value(production_env):
    production_env["DEBUG"] = "maybe"
    result = run(production_env, "manage.py", "check")
    assert_fails_naming(result, "DEBUG='maybe'")


@pytest.mark.parametrize("debug", ["false", None], ids=["debug-false", "debug-unset"])
def test_it_stops_without_a_secret_key_when_debug_is_off(production_env, debug):
    del production_env["SECRET_KEY"]
    if debug is None:
        del production_env["DEBUG"]  # off unless switched on
    else:
        production_env["DEBUG"] = debug
    assert_fails_naming(setup_django(production_env), "SECRET_KEY")


def test_it_keeps_a_generated_secret_key_in_var_dir_when_debug_is_on(production_env, tmp_path):
    del production_env["SECRET_KEY"]
    production_env["DEBUG"] = "true"
    result = setup_django(production_env)
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "secret_key"
    assert len(key_file.read_text().strip()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_it_stops_on_a_redis_url_that_is_not_redis(production_env):
    production_env["REDIS_URL"] = "http://x"
    assert_fails_naming(setup_django(production_env), "REDIS_URL='http://x'")


@pytest.mark.parametrize("given", ["MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"])
def test_it_stops_when_only_half_of_the_microsoft_app_is_set(production_env, given):
    production_env[given] = "value"
    assert_fails_naming(setup_django(production_env), "MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET")


@pytest.mark.parametrize("tenant", ["", "organizations", "common"])
def test_microsoft_sign_in_needs_the_organisations_own_tenant(production_env, tenant):
    production_env.update(MICROSOFT_CLIENT_ID="id", MICROSOFT_CLIENT_SECRET="secret", MICROSOFT_TENANT=tenant)
    assert_fails_naming(setup_django(production_env), "MICROSOFT_TENANT")


def test_it_passes_the_deployment_checks_with_production_values(production_env):
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in output and "?: (" not in output, output


# Private files in an S3-compatible bucket (issue 16)
# ------------------------------------------------------------------------------
S3_ENV = {
    "PRIVATE_STORAGE": "s3",
    "S3_ENDPOINT_URL": "http://127.0.0.1:9",
    "S3_BUCKET": "portal-files",
    "S3_ACCESS_KEY_ID": "portal",
    "S3_SECRET_ACCESS_KEY": "a-secret",
}


def test_private_files_go_to_a_private_bucket_with_private_storage_s3(production_env):
    production_env.update(S3_ENV, S3_PREFIX="/trust-a/")
    show = (
        "import django; django.setup()\n"
        "from django.core.files.storage import default_storage as s\n"
        "print(type(s._wrapped).__name__ if s._setup() is None else '', s.bucket_name, s.location, s.default_acl,"
        " s.file_overwrite, s.querystring_auth, s.querystring_expire, s.endpoint_url)"
    )
    result = run(production_env, "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "portal-files",
        "trust-a",
        "None",
        "False",
        "True",
        "60",
        "http://127.0.0.1:9",
    ]


def test_local_disk_stays_the_default(production_env):
    show = "import django; django.setup()\nfrom django.conf import settings\nprint(settings.PRIVATE_STORAGE, settings.STORAGES['default']['BACKEND'])"
    result = run(production_env, "-c", show)
    assert result.stdout.split() == ["local", "django.core.files.storage.FileSystemStorage"], result.stderr


@pytest.mark.parametrize("missing", ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"])
def test_it_stops_when_the_bucket_is_half_configured(production_env, missing):
    production_env.update(S3_ENV)
    del production_env[missing]
    assert_fails_naming(setup_django(production_env), missing)


def test_it_stops_on_a_storage_it_does_not_know(production_env):
    production_env["PRIVATE_STORAGE"] = "ftp"
    assert_fails_naming(setup_django(production_env), "PRIVATE_STORAGE='ftp'")


# Behind PgBouncer (issue 16)
# ------------------------------------------------------------------------------
SHOW_DATABASES = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "d, direct = settings.DATABASES['default'], settings.DATABASE_DIRECT\n"
    "print(d['HOST'], d['PORT'], d['DISABLE_SERVER_SIDE_CURSORS'], sorted(d['OPTIONS']))\n"
    "print(direct and (direct['HOST'], direct['PORT'], direct['DISABLE_SERVER_SIDE_CURSORS']))\n"
)


def test_the_settings_read_a_pooled_database_url_and_the_direct_one_beside_it(production_env):
    production_env.update(
        DATABASE_URL="postgres://app:pw@pgbouncer:6432/portal?pooled=true",
        DATABASE_DIRECT_URL="postgres://app:pw@postgres:5432/portal",
    )
    result = run(production_env, "-c", SHOW_DATABASES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["pgbouncer 6432 True []", "('postgres', 5432, False)"]


@pytest.mark.parametrize(
    "direct, named",
    [
        ("postgres://app:pw@pgbouncer:6432/portal?pooled=true", "DATABASE_DIRECT_URL must reach PostgreSQL directly"),
        ("sqlite:////tmp/portal.sqlite3", "DATABASE_DIRECT_URL must be the same database as DATABASE_URL"),
    ],
)
def test_it_stops_on_a_direct_url_that_is_not_direct_or_not_the_same_kind(production_env, direct, named):
    production_env.update(
        DATABASE_URL="postgres://app:pw@pgbouncer:6432/portal?pooled=true", DATABASE_DIRECT_URL=direct
    )
    assert_fails_naming(setup_django(production_env), named)


def test_the_deployment_checks_warn_that_a_pooled_database_needs_a_direct_url_for_backups(production_env):
    production_env["DATABASE_URL"] = "postgres://app:pw@pgbouncer:6432/portal?pooled=true"
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    assert "core.W001" in result.stderr and "backup and restore will refuse to run" in result.stderr
    production_env["DATABASE_DIRECT_URL"] = "postgres://app:pw@postgres:5432/portal"
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_direct_url_beside_a_direct_database_url_is_not_used(production_env):
    """Backup and restore use DATABASE_URL itself then (core.backups.direct_settings)."""
    production_env["DATABASE_DIRECT_URL"] = "postgres://app:pw@postgres:5432/portal"
    result = run(production_env, "-c", SHOW_DATABASES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(" False ['timeout', 'transaction_mode']")  # SQLite's, unpooled
