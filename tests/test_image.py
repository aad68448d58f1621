"""The image builds and starts as the Dockerfile says: its build steps run here exactly as
written (with this checkout for /app), and the deployed settings pass ``check --deploy``.

A configuration mistake is reported in one line naming the variable, without a traceback,
by every entry point (manage.py, the web server's WSGI module, Celery).
"""

import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PYTHON_BIN = str(Path(sys.executable).parent)


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, argument), continuation lines joined."""
    steps, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            keyword, _, argument = current.strip().partition(" ")
            steps.append((keyword.upper(), argument.strip()))
            current = ""
    return steps


def env_of(argument: str) -> dict:
    """An ENV instruction's variables (``A=1 B="two words"``)."""
    return dict(word.split("=", 1) for word in shlex.split(argument))


def image_env(until=None) -> dict:
    """The environment the image's ENV instructions give, up to the RUN step ``until``."""
    env = {}
    for keyword, argument in instructions():
        if keyword == "RUN" and argument == until:
            break
        if keyword == "ENV":
            env.update(env_of(argument))
    return env


def deployed_env(tmp_path) -> dict:
    """The running image's environment: its ENV, with .env.example's settings, secrets filled in."""
    env = image_env()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            env[name] = value.strip('"')
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        INTAKE_SIGNING_KEY=secrets.token_urlsafe(50),
        HEALTH_CHECK_TOKEN=secrets.token_urlsafe(32),
        CREDENTIALS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        VAR_DIR=str(tmp_path / "var"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "var" / "private"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    return {k: v for k, v in env.items() if v != ""}


def run(command: list[str] | str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    base = {"PATH": f"{PYTHON_BIN}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(command, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=300, **kwargs)


def test_the_dockerfile_has_the_steps_this_test_runs():
    runs = [argument for keyword, argument in instructions() if keyword == "RUN"]
    assert any("manage.py collectstatic" in argument for argument in runs)
    assert image_env()["DJANGO_SETTINGS_MODULE"] == "policyportal.settings.base"


def test_the_image_collects_its_static_files_as_the_dockerfile_does(tmp_path):
    step = next(a for k, a in instructions() if k == "RUN" and "manage.py collectstatic" in a)
    env = {**image_env(until=step), "STATIC_ROOT": str(tmp_path / "staticfiles")}  # /app is this checkout
    result = run(["bash", "-euo", "pipefail", "-c", step], env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles" / "staticfiles.json").exists()  # the manifest whitenoise serves from


def test_the_deployed_settings_pass_the_deployment_checks(tmp_path):
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], deployed_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "change, named",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set when DEBUG is off."),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set"),
        ({"REDIS_URL": "http://redis:6379/0"}, "REDIS_URL="),
        ({"HEALTH_CHECK_TOKEN": "short"}, "HEALTH_CHECK_TOKEN must be at least 32 characters long."),
    ],
)
@pytest.mark.parametrize(
    "entry",
    [
        ["manage.py", "check"],
        ["-c", "import policyportal.wsgi"],
        ["-c", "import policyportal.celery"],
    ],
    ids=["manage.py", "wsgi", "celery"],
)
def test_a_configuration_mistake_is_one_line_naming_the_variable(tmp_path, change, named, entry):
    env = deployed_env(tmp_path)
    for name, value in change.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = run([sys.executable, *entry], env)
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: ") and named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
