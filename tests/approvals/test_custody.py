"""Who keeps and who sees an official account's sign-in details (seed 001 §3, 004 §4.2): the
people named to run an account beside its lead join as moderators; only SLT make someone an
administrator; without an encryption key the account page says so before anything is typed;
the first look has a development key of its own."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import Role
from approvals import access, register, services
from approvals.errors import ApprovalError
from approvals.models import AccountMember, AccountRole, OfficialAccount, StoredCredentials
from policies import services as policy_services
from tests.approvals.conftest import make_ready, submitted_request
from tests.approvals.test_secrets import keys, second_factor, with_authenticator  # noqa: F401
from tests.factories import member

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def volunteer(school, smp):
    person = member(school, email="volunteer@school.example")
    policy_services.sync_requests(users=[person])
    make_ready(person, smp)
    return person


@pytest.fixture
def team_account(school, staff, runner, volunteer, slt, smp):
    """Approved with ``runner`` as its lead and ``volunteer`` also named to run it."""
    make_ready(runner, smp)
    request = submitted_request(school, staff, [runner, volunteer])
    services.decide(account_request=request, decider=slt, kind="approve")
    return OfficialAccount.objects.get()


def role_of(account, person):
    return AccountMember.objects.get(account=account, user=person).role


def test_the_lead_administers_an_approved_account_and_the_others_named_moderate_it(team_account, runner, volunteer):
    assert role_of(team_account, runner) == AccountRole.ADMINISTRATOR
    assert role_of(team_account, volunteer) == AccountRole.MODERATOR
    assert not access.can_reveal_credentials(volunteer, team_account)
    assert not access.can_store_credentials(volunteer, team_account)


def test_someone_added_to_the_team_joins_as_a_moderator_by_default(client, team_account, runner, school):
    helper = member(school, email="helper@school.example")
    with_authenticator(runner)  # an administrator of an account holds a privileged role
    client.force_login(runner)
    page = client.get(f"/approvals/accounts/{team_account.pk}/").content.decode()
    # The account's administrator is offered the moderator role alone.
    assert 'value="moderator"' in page and 'value="administrator"' not in page
    assert "Only the senior leadership team can make someone an administrator" in page
    client.post(f"/approvals/accounts/{team_account.pk}/team/", {"person": helper.pk, "role": "moderator"})
    assert role_of(team_account, helper) == AccountRole.MODERATOR
    assert AccountMember._meta.get_field("role").default == AccountRole.MODERATOR


def test_only_slt_make_someone_an_administrator_of_an_account(client, team_account, runner, volunteer, slt, keys):  # noqa: F811
    for keeper in (runner, member(team_account.organisation, Role.ADMIN, email="office@school.example")):
        with_authenticator(keeper)
        client.force_login(keeper)
        response = client.post(
            f"/approvals/accounts/{team_account.pk}/team/",
            {"person": volunteer.pk, "role": "administrator"},
            follow=True,
        )
        assert "Only the senior leadership team can make someone an administrator" in response.content.decode()
        assert role_of(team_account, volunteer) == AccountRole.MODERATOR
    with pytest.raises(ApprovalError):
        register.set_team_member(account=team_account, actor=runner, user=volunteer, role=AccountRole.ADMINISTRATOR)

    with_authenticator(slt)
    client.force_login(slt)
    page = client.get(f"/approvals/accounts/{team_account.pk}/").content.decode()
    assert 'value="administrator"' in page
    client.post(f"/approvals/accounts/{team_account.pk}/team/", {"person": volunteer.pk, "role": "administrator"})
    assert role_of(team_account, volunteer) == AccountRole.ADMINISTRATOR
    assert access.can_reveal_credentials(volunteer, team_account)
    assert access.can_store_credentials(volunteer, team_account)


def test_an_administrator_can_step_someone_down_to_moderator(team_account, runner, volunteer, slt):
    register.set_team_member(account=team_account, actor=slt, user=volunteer, role=AccountRole.ADMINISTRATOR)
    register.set_team_member(account=team_account, actor=runner, user=volunteer, role=AccountRole.MODERATOR)
    assert role_of(team_account, volunteer) == AccountRole.MODERATOR
    with pytest.raises(ApprovalError, match="The lead stays an administrator"):
        register.set_team_member(account=team_account, actor=slt, user=runner, role=AccountRole.MODERATOR)


def test_a_moderator_cannot_change_the_team(client, team_account, volunteer, school):
    client.force_login(volunteer)
    helper = member(school, email="helper@school.example")
    response = client.post(f"/approvals/accounts/{team_account.pk}/team/", {"person": helper.pk, "role": "moderator"})
    assert response.status_code == 403
    assert not AccountMember.objects.filter(user=helper).exists()


def test_without_a_key_the_page_says_so_before_anything_is_typed(client, account, runner, keys):  # noqa: F811
    keys.CREDENTIALS_ENCRYPTION_KEYS = []
    secret = with_authenticator(runner)
    client.force_login(runner)
    second_factor(client, secret)
    page = client.get(f"/approvals/accounts/{account.pk}/").content.decode()
    assert "The portal has no encryption key" in page
    assert 'name="secret"' not in page  # no field to type a password into
    assert not StoredCredentials.objects.exists()


def _settings_in_a_new_process(var_dir, debug: str):
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_")
        and k not in {"CREDENTIALS_ENCRYPTION_KEYS", "CREDENTIALS_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="policyportal.settings.base",
        DEBUG=debug,
        SECRET_KEY="x" * 50,
        INTAKE_SIGNING_KEY="y" * 40,
        ALLOWED_HOSTS="localhost",
        SITE_URL="http://localhost:8000",
        VAR_DIR=str(var_dir),
    )
    code = "import django; django.setup(); from approvals import crypto; print(crypto.decrypt(crypto.encrypt('ok')))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=environ, capture_output=True, text=True, timeout=60
    )


def test_the_first_look_generates_a_development_key_kept_under_var_dir(tmp_path):
    first = _settings_in_a_new_process(tmp_path, "true")
    assert first.returncode == 0 and first.stdout.strip() == "ok", first.stderr
    key_file = tmp_path / "credentials_encryption_key"
    key = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert _settings_in_a_new_process(tmp_path, "true").returncode == 0
    assert key_file.read_text() == key  # the same key next time: what was stored stays readable


def test_a_deployment_gets_no_generated_key(tmp_path):
    result = _settings_in_a_new_process(tmp_path, "false")
    assert result.returncode != 0 and "no encryption key" in result.stderr
    assert not (tmp_path / "credentials_encryption_key").exists()


def test_the_services_ask_the_same_rule_as_the_pages(team_account, runner, volunteer, keys):  # noqa: F811
    """Any path to the details (a view, a command, a shell) meets approvals.access."""
    register.store_credentials(account=team_account, actor=runner, secret="kept")
    with pytest.raises(ApprovalError, match="keep its sign-in details"):
        register.store_credentials(account=team_account, actor=volunteer, secret="changed")
    with pytest.raises(ApprovalError, match="can see them"):
        register.reveal_credentials(account=team_account, actor=volunteer)
    assert register.reveal_credentials(account=team_account, actor=runner) == "kept"
