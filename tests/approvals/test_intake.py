"""The signed intake automation tools post to (the 24-hour response log, seed 001 §5)."""

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest

from approvals import register, responses
from approvals.models import AccountRole, IntakeDelivery, ItemKind, ResponseItem
from core.models import AuditEntry
from tests.approvals.conftest import START
from tests.factories import member

pytestmark = pytest.mark.django_db

ITEM = {
    "external_id": "fb-123",
    "kind": "comment",
    "received_at": "2026-03-02T08:00:00+00:00",
    "summary": "Lovely assembly!",
}


def signed(account, payload, *, secret=None, timestamp=None) -> tuple[bytes, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    key = (secret or responses.intake_secret(account)).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"HTTP_X_PORTAL_TIMESTAMP": stamp, "HTTP_X_PORTAL_SIGNATURE": f"sha256={digest}"}


def post(client, account_id, body, headers):
    return client.post(f"/approvals/intake/{account_id}/", body, content_type="application/json", **headers)


@pytest.fixture
def no_mfa(school):
    school.require_mfa = False
    school.save()


def test_the_same_signed_request_posted_twice_makes_one_item(client, account):
    body, headers = signed(account, ITEM)
    first, again = post(client, account.pk, body, headers), post(client, account.pk, body, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] == ResponseItem.objects.get().pk
    assert IntakeDelivery.objects.get().item_id == first.json()["id"]


def test_the_same_item_signed_again_later_is_still_stored_once(client, account, time_machine):
    first = post(client, account.pk, *signed(account, ITEM))
    time_machine.move_to(START + dt.timedelta(minutes=1), tick=False)
    again = post(client, account.pk, *signed(account, ITEM))  # a new timestamp, so a new signature
    assert (first.status_code, again.status_code) == (201, 200) and ResponseItem.objects.count() == 1


@pytest.mark.parametrize("external_id", ["", "   ", None])
def test_an_item_without_an_external_id_is_refused(client, account, external_id):
    """Without one, the same item posted twice would be stored twice."""
    payload = {**ITEM, "external_id": external_id}
    for _ in range(2):
        response = post(client, account.pk, *signed(account, payload))
        assert response.status_code == 400 and "external_id" in response.json()["error"]
    assert not ResponseItem.objects.exists()


def test_an_over_long_external_id_is_refused_not_cut_short(client, account):
    """Cut to 200 characters, two different ids could become one."""
    response = post(client, account.pk, *signed(account, {**ITEM, "external_id": "x" * 201}))
    assert response.status_code == 400 and not ResponseItem.objects.exists()


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_request_signed_more_than_five_minutes_away_is_refused(client, account, offset):
    body, headers = signed(account, ITEM, timestamp=int(time.time()) + offset)
    response = post(client, account.pk, body, headers)
    assert response.status_code == 403 and "within 5 minutes" in response.json()["error"]
    assert not ResponseItem.objects.exists()


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_request_signed_within_five_minutes_is_taken(client, account, offset):
    response = post(client, account.pk, *signed(account, ITEM, timestamp=int(time.time()) + offset))
    assert response.status_code == 201


@pytest.mark.parametrize("timestamp", ["", "soon", "1.5", "-1", "１２３"])
def test_a_missing_or_malformed_timestamp_is_refused(client, account, timestamp):
    body, headers = signed(account, ITEM, timestamp=timestamp)
    assert post(client, account.pk, body, headers).status_code == 403


def test_the_timestamp_is_part_of_what_is_signed(client, account):
    body, headers = signed(account, ITEM, timestamp=int(time.time()) - 600)  # captured long ago
    headers["HTTP_X_PORTAL_TIMESTAMP"] = str(int(time.time()))  # and given a fresh time
    assert post(client, account.pk, body, headers).status_code == 403
    body = json.dumps(ITEM).encode()
    body_only = "sha256=" + hmac.new(responses.intake_secret(account).encode(), body, hashlib.sha256).hexdigest()
    headers = {"HTTP_X_PORTAL_TIMESTAMP": str(int(time.time())), "HTTP_X_PORTAL_SIGNATURE": body_only}
    assert post(client, account.pk, body, headers).status_code == 403  # the old scheme: the body alone
    assert not ResponseItem.objects.exists()


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/post",
        "//social.example/post",
        "not a link",
    ],
)
def test_only_http_and_https_links_are_stored(client, account, link):
    response = post(client, account.pk, *signed(account, {**ITEM, "link": link}))
    assert response.status_code == 400
    assert "link must be a web address starting with http:// or https://" in response.json()["error"]
    assert not ResponseItem.objects.exists()


def test_an_https_link_is_stored(client, account):
    response = post(client, account.pk, *signed(account, {**ITEM, "link": "https://social.example/p/1"}))
    assert response.status_code == 201 and ResponseItem.objects.get().link == "https://social.example/p/1"


def test_the_log_page_refuses_a_link_that_is_not_http_too(client, account, runner, no_mfa):
    client.force_login(runner)
    response = client.post(
        f"/approvals/accounts/{account.pk}/log/",
        {"kind": ItemKind.QUERY, "received_at": "2026-03-02T08:00", "summary": "x", "link": "ftp://files.example/x"},
    )
    assert "starting with http:// or https://" in response.content.decode()
    assert not ResponseItem.objects.exists()


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"a string"'])
def test_a_body_that_is_not_a_json_object_is_refused(client, account, body):
    response = post(client, account.pk, *signed(account, body))
    assert response.status_code == 400 and "JSON object" in response.json()["error"]


def test_unknown_accounts_and_bad_signatures_get_the_same_answer(client, account):
    body, headers = signed(account, ITEM, secret="a guess")
    unknown = post(client, account.pk + 1000, body, headers)
    wrong = post(client, account.pk, body, headers)
    unsigned = post(client, account.pk, body, {"HTTP_X_PORTAL_TIMESTAMP": headers["HTTP_X_PORTAL_TIMESTAMP"]})
    assert unknown.status_code == wrong.status_code == unsigned.status_code == 403
    assert unknown.content == wrong.content == unsigned.content
    assert not ResponseItem.objects.exists()


def test_the_intake_needs_post(client, account):
    assert client.get(f"/approvals/intake/{account.pk}/").status_code == 405


def test_the_intake_secret_comes_from_its_own_key_not_secret_key(account, settings):
    before = responses.intake_secret(account)
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert responses.intake_secret(account) == before  # rotating SECRET_KEY breaks no integration
    settings.INTAKE_SIGNING_KEY = "another-intake-signing-key-" + "y" * 20
    assert responses.intake_secret(account) != before


# Rotating an account's secret
# ------------------------------------------------------------------------------


def rotate(client, account):
    return client.post(f"/approvals/accounts/{account.pk}/intake-secret/")


@pytest.mark.parametrize("who", ["runner", "school_admin"])
def test_the_accounts_administrators_rotate_its_secret_and_see_the_new_one_once(client, request, account, who, no_mfa):
    person = request.getfixturevalue(who)
    old_body, old_headers = signed(account, ITEM)
    client.force_login(person)
    response = rotate(client, account)
    account.refresh_from_db()
    new_secret = responses.intake_secret(account)
    assert response.status_code == 200 and new_secret in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    assert account.intake_key_version == 2
    entry = AuditEntry.objects.get(action="approvals.intake_secret_rotated")
    assert (entry.actor, entry.from_state, entry.to_state) == (person, "version 1", "version 2")
    assert post(client, account.pk, old_body, old_headers).status_code == 403  # the old secret stops at once
    assert post(client, account.pk, *signed(account, ITEM, secret=new_secret)).status_code == 201


def test_the_account_page_showing_the_secret_is_never_cached(client, account, runner, no_mfa):
    client.force_login(runner)
    response = client.get(f"/approvals/accounts/{account.pk}/")
    assert responses.intake_secret(account) in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    assert "X-Portal-Timestamp" in response.content.decode()


def test_others_cannot_rotate_the_secret(client, account, slt, school, outsider, outside_school, no_mfa):
    outside_school.require_mfa = False
    outside_school.save()
    moderator = member(school, email="moderator@school.example")
    account.members.create(user=moderator, role=AccountRole.MODERATOR)
    for person, status in ((slt, 403), (moderator, 403), (outsider, 404)):
        client.force_login(person)
        assert rotate(client, account).status_code == status
    account.refresh_from_db()
    assert account.intake_key_version == 1 and not AuditEntry.objects.filter(action__contains="rotated").exists()


def test_rotating_needs_post(client, account, runner, no_mfa):
    client.force_login(runner)
    assert client.get(f"/approvals/accounts/{account.pk}/intake-secret/").status_code == 405


def test_a_closed_accounts_secret_is_not_rotated(client, account, runner, slt, no_mfa):
    register.close_account(account=account, actor=slt, reason="Merged into the trust page.")
    client.force_login(runner)
    response = rotate(client, account)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.intake_key_version == 1
