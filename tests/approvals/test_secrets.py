"""Official accounts' sign-in details: keys that rotate, and a second factor before anyone
stores, changes or sees them (DESIGN.md "Social-media account approvals", seed 004 §4.2)."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts.models import Role
from approvals import register
from approvals.crypto import CredentialsUnavailable
from approvals.models import AccountRole, StoredCredentials
from core.models import AuditEntry
from tests.approvals.conftest import START
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "user: oaknews\npassword: Tr0ub4dor&3"


@pytest.fixture
def keys(settings):
    """One key in use, as a deployment has before its first rotation."""
    settings.CREDENTIALS_ENCRYPTION_KEYS = [OLD_KEY]
    settings.CREDENTIALS_ENCRYPTION_KEY = None
    return settings


def totp_code(secret: str) -> str:
    return f"{hotp_value(secret, int(time.time()) // 30):06d}"


def with_authenticator(user) -> str:
    """A TOTP authenticator for ``user``, as allauth's set-up page makes it; returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def second_factor(client, secret: str, next_url: str = "/"):
    """Through allauth's own two-factor re-authentication page, with a real code."""
    return client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(secret), "next": next_url})


# Keys that rotate
# ------------------------------------------------------------------------------


def test_details_kept_under_an_old_key_still_open_once_a_new_key_comes_first(account, runner, slt, keys):
    register.store_credentials(account=account, actor=runner, secret=SECRET)
    keys.CREDENTIALS_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert register.reveal_credentials(account=account, actor=slt) == SECRET
    register.store_credentials(account=account, actor=runner, secret="changed")
    raw = bytes(StoredCredentials.objects.get().ciphertext)
    assert Fernet(NEW_KEY).decrypt(raw) == b"changed"  # new details go under the newest key


def test_the_single_key_setting_still_works(account, runner, slt, keys):
    keys.CREDENTIALS_ENCRYPTION_KEYS = []
    keys.CREDENTIALS_ENCRYPTION_KEY = OLD_KEY
    register.store_credentials(account=account, actor=runner, secret=SECRET)
    keys.CREDENTIALS_ENCRYPTION_KEYS = [NEW_KEY]  # the single key now counts as the oldest
    assert register.reveal_credentials(account=account, actor=slt) == SECRET


def test_rotating_reencrypts_every_row_to_the_newest_key_once(account, runner, slt, keys, capsys):
    register.store_credentials(account=account, actor=runner, secret=SECRET)
    keys.CREDENTIALS_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_credentials_key")
    assert "1 re-encrypted with the newest key, 0 already on it, 0 unreadable" in capsys.readouterr().out
    raw = bytes(StoredCredentials.objects.get().ciphertext)
    assert Fernet(NEW_KEY).decrypt(raw) == SECRET.encode()
    call_command("rotate_credentials_key")  # again: nothing to do, nothing changed
    assert "0 re-encrypted with the newest key, 1 already on it" in capsys.readouterr().out
    assert bytes(StoredCredentials.objects.get().ciphertext) == raw
    entries = AuditEntry.objects.filter(action="approvals.credentials_key_rotated").order_by("pk")
    assert [(e.details["rotated"], e.details["already_current"]) for e in entries] == [(1, 0), (0, 1)]
    keys.CREDENTIALS_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now go
    assert register.reveal_credentials(account=account, actor=slt) == SECRET


def test_rotating_reports_details_no_key_can_read(account, runner, keys, capsys):
    register.store_credentials(account=account, actor=runner, secret=SECRET)
    keys.CREDENTIALS_ENCRYPTION_KEYS = [NEW_KEY]  # the old key was dropped too early
    with pytest.raises(CommandError, match=rf"account\(s\) {account.pk}"):
        call_command("rotate_credentials_key")
    assert "0 re-encrypted with the newest key, 0 already on it, 1 unreadable" in capsys.readouterr().out
    keys.CREDENTIALS_ENCRYPTION_KEYS = [OLD_KEY]
    assert register.reveal_credentials(account=account, actor=runner) == SECRET  # left as it was


def test_rotating_without_a_key_says_so(keys):
    keys.CREDENTIALS_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="no encryption key"):
        call_command("rotate_credentials_key")


def _setup_django(**env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CREDENTIALS_"))}
    environ.update(DJANGO_SETTINGS_MODULE="policyportal.settings.test", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "variable,value,named",
    [
        ("CREDENTIALS_ENCRYPTION_KEYS", f"{NEW_KEY},not-a-key", "CREDENTIALS_ENCRYPTION_KEYS (key 2 of 2)"),
        ("CREDENTIALS_ENCRYPTION_KEY", "not-a-key", "CREDENTIALS_ENCRYPTION_KEY is not"),
        ("INTAKE_SIGNING_KEY", "short", "INTAKE_SIGNING_KEY must be at least 32"),
    ],
    # Named, not by value: NEW_KEY is generated per process, and every pytest-xdist worker must
    # collect the same test ids.
    ids=["second-of-two-keys", "the-single-key", "intake-key-too-short"],
)
def test_a_bad_key_stops_the_settings_naming_the_variable(tmp_path, variable, value, named):
    result = _setup_django(VAR_DIR=str(tmp_path), **{variable: value})
    # One line naming the variable, no traceback (policyportal.startup)
    assert result.returncode == 2 and result.stderr.startswith("Configuration error: ") and named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_intake_signing_key_is_required_when_debug_is_off_and_kept_in_var_dir_when_on(tmp_path):
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in {"INTAKE_SIGNING_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="policyportal.settings.base",
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="portal.example.org",
        SITE_URL="https://portal.example.org",
        VAR_DIR=str(tmp_path),
    )
    run = ["-c", "import django; django.setup(); from django.conf import settings; print(settings.INTAKE_SIGNING_KEY)"]
    off = subprocess.run([sys.executable, *run], cwd=REPO, env=environ, capture_output=True, text=True, timeout=60)
    assert "INTAKE_SIGNING_KEY must be set when DEBUG is off" in off.stderr.strip().splitlines()[-1]
    environ["DEBUG"] = "true"
    on = subprocess.run([sys.executable, *run], cwd=REPO, env=environ, capture_output=True, text=True, timeout=60)
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == (tmp_path / "intake_signing_key").read_text().strip() and len(on.stdout.strip()) >= 50


# A second factor before the details are seen, stored or changed
# ------------------------------------------------------------------------------


@pytest.fixture
def stored(account, runner, keys):
    register.store_credentials(account=account, actor=runner, secret=SECRET)
    return account


def reveal_url(account):
    return f"/approvals/accounts/{account.pk}/credentials/reveal/"


def account_url(account):
    return f"/approvals/accounts/{account.pk}/"


def test_a_password_alone_no_longer_reveals_the_details(client, stored, slt):
    with_authenticator(slt)
    client.force_login(slt)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post(reveal_url(stored))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/2fa/reauthenticate/?next={account_url(stored).replace('/', '%2F')}"
    assert not AuditEntry.objects.filter(action="approvals.credentials_revealed").exists()


def test_a_fresh_code_from_the_authenticator_reveals_them_and_the_view_is_logged(client, stored, slt):
    secret = with_authenticator(slt)
    client.force_login(slt)
    location = client.post(reveal_url(stored))["Location"]
    assert client.get(location).status_code == 200  # allauth's page asking for the code
    response = second_factor(client, secret, next_url=account_url(stored))
    assert response.status_code == 302 and response["Location"] == account_url(stored)
    response = client.post(reveal_url(stored))
    assert response.status_code == 200 and "Tr0ub4dor&amp;3" in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    assert AuditEntry.objects.filter(action="approvals.credentials_revealed", actor=slt).count() == 1


def test_a_reveal_is_a_post_never_a_link(client, stored, slt):
    secret = with_authenticator(slt)
    client.force_login(slt)
    second_factor(client, secret)
    assert client.get(reveal_url(stored)).status_code == 405
    assert not AuditEntry.objects.filter(action="approvals.credentials_revealed").exists()


def test_the_second_factor_must_be_recent(client, stored, slt, time_machine):
    secret = with_authenticator(slt)
    client.force_login(slt)
    second_factor(client, secret)
    time_machine.move_to(START + dt.timedelta(seconds=299), tick=False)
    assert client.post(reveal_url(stored)).status_code == 200
    time_machine.move_to(START + dt.timedelta(seconds=301), tick=False)
    response = client.post(reveal_url(stored))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/reauthenticate/")


def test_a_wrong_code_reveals_nothing(client, stored, slt):
    with_authenticator(slt)
    client.force_login(slt)
    response = client.post("/accounts/2fa/reauthenticate/", {"code": "000000", "next": account_url(stored)})
    assert response.status_code == 200  # the page again, with its error
    assert client.post(reveal_url(stored)).status_code == 302


def test_someone_without_an_authenticator_is_sent_to_set_one_up(client, stored, runner, school):
    school.require_mfa = False  # even where the organisation does not ask for two-factor sign-in
    school.save()
    client.force_login(runner)
    response = client.post(reveal_url(stored), follow=True)
    assert response.redirect_chain[0] == ("/accounts/2fa/totp/activate/", 302)
    assert "you need two-factor sign-in. Set up an authenticator app" in response.content.decode()
    assert not AuditEntry.objects.filter(action="approvals.credentials_revealed").exists()


def test_storing_or_changing_the_details_needs_a_fresh_second_factor_too(client, account, runner, keys):
    secret = with_authenticator(runner)
    client.force_login(runner)
    url = f"/approvals/accounts/{account.pk}/credentials/"
    response = client.post(url, {"secret": "first"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/reauthenticate/?next=")
    assert not StoredCredentials.objects.exists()
    page = client.get(f"/approvals/accounts/{account.pk}/").content.decode()
    assert "Confirm with your authenticator app" in page and 'name="secret"' not in page
    second_factor(client, secret)
    assert 'name="secret"' in client.get(f"/approvals/accounts/{account.pk}/").content.decode()
    assert client.post(url, {"secret": "first"}).status_code == 302
    assert register.reveal_credentials(account=account, actor=runner) == "first"


def test_the_organisations_administrator_stores_the_details_and_sees_them(client, account, school_admin, keys):
    """Seed 001 §3 makes the administrator responsible for storing account details."""
    secret = with_authenticator(school_admin)
    client.force_login(school_admin)
    second_factor(client, secret)
    response = client.post(f"/approvals/accounts/{account.pk}/credentials/", {"secret": "kept by the admin"})
    assert response.status_code == 302 and StoredCredentials.objects.get().changed_by == school_admin
    assert "Show the sign-in details" in client.get(account_url(account)).content.decode()
    response = client.post(reveal_url(account))
    assert response.status_code == 200 and "kept by the admin" in response.content.decode()
    assert AuditEntry.objects.filter(action="approvals.credentials_revealed", actor=school_admin).count() == 1


def test_slt_see_the_details_but_do_not_change_them(client, stored, slt):
    secret = with_authenticator(slt)
    client.force_login(slt)
    second_factor(client, secret)
    response = client.post(f"/approvals/accounts/{stored.pk}/credentials/", {"secret": "changed by slt"})
    assert response.status_code == 403
    assert register.reveal_credentials(account=stored, actor=slt) == SECRET


def test_moderators_and_other_staff_neither_see_nor_change_them(client, stored, school):
    moderator = member(school, email="moderator@school.example")
    stored.members.create(user=moderator, role=AccountRole.MODERATOR)
    online_safety = member(school, Role.ONLINE_SAFETY, email="osc@school.example")
    for person in (moderator, online_safety):
        secret = with_authenticator(person)
        client.force_login(person)
        second_factor(client, secret)
        assert client.post(reveal_url(stored)).status_code == 403
        assert client.post(f"/approvals/accounts/{stored.pk}/credentials/", {"secret": "x"}).status_code == 403
        assert "Show the sign-in details" not in client.get(account_url(stored)).content.decode()
    assert not AuditEntry.objects.filter(action="approvals.credentials_revealed").exists()
    assert register.reveal_credentials(account=stored, actor=stored.lead) == SECRET


def test_storing_needs_post(client, account, runner):
    with_authenticator(runner)
    client.force_login(runner)
    assert client.get(f"/approvals/accounts/{account.pk}/credentials/").status_code == 405


def test_without_a_key_nothing_is_stored_and_the_reason_is_shown(client, account, runner, keys):
    keys.CREDENTIALS_ENCRYPTION_KEYS = []
    secret = with_authenticator(runner)
    client.force_login(runner)
    second_factor(client, secret)
    response = client.post(f"/approvals/accounts/{account.pk}/credentials/", {"secret": "x"}, follow=True)
    assert "no encryption key" in response.content.decode()
    with pytest.raises(CredentialsUnavailable):
        register.store_credentials(account=account, actor=runner, secret="x")
    assert not StoredCredentials.objects.exists()
