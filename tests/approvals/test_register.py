import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from approvals import errors, queries, register, reminders, responses, services
from approvals.crypto import CredentialsUnavailable
from approvals.models import AccountStatus, ItemKind, OfficialAccount, ResponseItem, StoredCredentials
from core.models import AuditEntry
from tests.approvals.conftest import START, make_ready
from tests.factories import member
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db
KEY = "yS6cfA3wO8O2V6Mr3W0Pqk8m1rT4Jt3nKcZ9m7p0u1E="


COMPLETE = {
    "url": "https://social.example/oak",
    "linked_to_official_email": True,
    "policy_link_in_about": True,
    "official_branding": True,
    "two_factor_on": True,
    "credentials_location": "SLT safe",
    "credentials_changed_on": dt.date(2026, 3, 1),
    "shared_with_slt": True,
}


def test_the_account_becomes_active_only_when_the_checklist_is_complete(account, runner):
    partial = {**COMPLETE, "official_branding": False}
    account = register.update_checklist(account=account, actor=runner, **partial)
    assert account.status == AccountStatus.PENDING_CREATION
    assert account.checklist_gaps() == ["shows “Official / Provision Approved Site” branding"]
    account = register.update_checklist(account=account, actor=runner, **COMPLETE)
    assert account.status == AccountStatus.ACTIVE and account.next_check_due == dt.date(2026, 3, 31)


def test_credentials_are_encrypted_at_rest_and_every_reveal_is_logged(
    account, runner, slt, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.CREDENTIALS_ENCRYPTION_KEY = KEY
    with django_capture_on_commit_callbacks(execute=True):
        register.store_credentials(account=account, actor=runner, secret="user: oaknews\npassword: Tr0ub4dor&3")
    raw = bytes(StoredCredentials.objects.values_list("ciphertext", flat=True).get())
    assert b"Tr0ub4dor" not in raw and b"oaknews" not in raw
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM approvals_storedcredentials")
        assert b"Tr0ub4dor" not in bytes(cursor.fetchone()[0])
    assert register.reveal_credentials(account=account, actor=slt) == "user: oaknews\npassword: Tr0ub4dor&3"
    assert AuditEntry.objects.filter(action="approvals.credentials_revealed", actor=slt).count() == 1
    assert AuditEntry.objects.filter(action="approvals.credentials_changed", actor=runner).count() == 1
    assert any(slt.email in m.to and "Sign-in details changed" in m.subject for m in deliver())


def test_without_a_key_the_portal_refuses_to_store_credentials(account, runner, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = None
    with pytest.raises(CredentialsUnavailable, match="no encryption key"):
        register.store_credentials(account=account, actor=runner, secret="secret")
    assert not StoredCredentials.objects.exists()


def test_the_termly_check_moves_the_next_date_on(account, runner, time_machine):
    register.update_checklist(account=account, actor=runner, **COMPLETE)
    time_machine.move_to(dt.datetime(2026, 3, 25, 9, tzinfo=dt.UTC), tick=False)
    with pytest.raises(errors.ApprovalError, match="Say in the notes"):
        register.record_check(
            account=account, actor=runner, admins_confirmed=True, two_factor_still_on=False, checklist_still_true=True
        )
    register.record_check(
        account=account, actor=runner, admins_confirmed=True, two_factor_still_on=True, checklist_still_true=True
    )
    assert OfficialAccount.objects.get().next_check_due == dt.date(2026, 7, 20)


def test_check_reminders_go_once_per_stage(account, runner, time_machine):
    register.update_checklist(account=account, actor=runner, **COMPLETE)  # due 31 March
    sent = {}
    for day in range(0, 45):
        time_machine.move_to(START + dt.timedelta(days=day), tick=False)
        deliver()
        mail.outbox.clear()
        reminders.send_check_reminders()
        assert reminders.send_check_reminders() == 0
        if deliver():
            sent[(START + dt.timedelta(days=day)).date().isoformat()] = len(deliver())
    assert sent == {"2026-03-17": 1, "2026-03-31": 1, "2026-04-01": 1, "2026-04-08": 1, "2026-04-15": 1}


def test_when_the_lead_leaves_the_account_needs_a_handover(
    account, runner, slt, school, smp, celery_eager, django_capture_on_commit_callbacks
):
    register.update_checklist(account=account, actor=runner, **COMPLETE)
    runner.memberships.update(leaving_date=dt.date(2026, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert register.flag_handovers() == 1
    assert register.flag_handovers() == 0
    account.refresh_from_db()
    assert account.status == AccountStatus.HANDOVER_NEEDED
    told = [m for m in deliver() if "Handover needed" in m.subject]
    assert any(slt.email in m.to for m in told)
    assert not any(runner.email in m.to for m in told)  # the lead who left is an administrator, and told nothing
    new_lead = member(school)
    from policies.services import sync_requests

    sync_requests(users=[new_lead])
    with pytest.raises(errors.ApprovalRefused):
        register.hand_over(account=account, actor=slt, new_lead=new_lead)
    make_ready(new_lead, smp)
    account = register.hand_over(account=account, actor=slt, new_lead=new_lead)
    assert (account.status, account.lead) == (AccountStatus.ACTIVE, new_lead)


def test_closing_needs_a_reason(account, slt):
    with pytest.raises(errors.ApprovalError, match="reason"):
        register.close_account(account=account, actor=slt, reason=" ")
    assert (
        register.close_account(account=account, actor=slt, reason="Merged into the trust page.").status
        == AccountStatus.CLOSED
    )


# The response log
# ------------------------------------------------------------------------------


def test_an_item_gets_its_24_hour_deadline(account, runner, time_machine):
    item, created = responses.log_item(
        account=account, actor=runner, kind=ItemKind.QUERY, received_at=START, summary="When is sports day?"
    )
    assert created and item.due_at == START + dt.timedelta(hours=24)
    saturday = dt.datetime(2026, 3, 7, 10, tzinfo=dt.UTC)
    time_machine.move_to(saturday + dt.timedelta(hours=1), tick=False)
    weekend, _ = responses.log_item(
        account=account, actor=runner, kind=ItemKind.COMMENT, received_at=saturday, summary="Well done!"
    )
    assert weekend.due_at == dt.datetime(2026, 3, 9, 17, tzinfo=dt.UTC)  # Monday's closing time (GMT)


def test_a_received_time_in_the_future_is_refused(account, runner):
    with pytest.raises(errors.ApprovalError, match="cannot be in the future"):
        responses.log_item(
            account=account, actor=runner, kind=ItemKind.QUERY, received_at=START + dt.timedelta(hours=2), summary="x"
        )
    assert not ResponseItem.objects.exists()


def test_answering_records_who_when_what_once(account, runner, slt):
    item, _ = responses.log_item(
        account=account, actor=runner, kind=ItemKind.COMPLAINT, received_at=START, summary="Car park"
    )
    item = responses.answer_item(item=item, actor=runner, response="Apologised and explained.")
    assert (item.answered_by, item.answered_at, item.answered_on_time) == (runner, START, True)
    with pytest.raises(errors.ApprovalError, match="already answered"):
        responses.answer_item(item=item, actor=slt, response="again")


def test_response_reminders_warn_admins_then_escalate_once_each(account, runner, school, slt, time_machine):
    online_safety = member(school, Role.ONLINE_SAFETY, email="osc@school.example")
    responses.log_item(
        account=account, actor=runner, kind=ItemKind.QUERY, received_at=START, summary="When is sports day?"
    )
    timeline = {}
    for hours in range(0, 30):
        time_machine.move_to(START + dt.timedelta(hours=hours), tick=False)
        deliver()
        mail.outbox.clear()
        reminders.send_response_reminders()
        assert reminders.send_response_reminders() == {"warned": 0, "escalated": 0}
        if deliver():
            timeline[hours] = sorted(address for m in deliver() for address in m.to)
    assert timeline == {20: [runner.email], 24: sorted([slt.email, online_safety.email])}


def test_an_answered_item_is_not_chased(account, runner, time_machine):
    item, _ = responses.log_item(account=account, actor=runner, kind=ItemKind.QUERY, received_at=START, summary="x")
    responses.answer_item(item=item, actor=runner, response="Done")
    time_machine.move_to(START + dt.timedelta(hours=25), tick=False)
    assert reminders.send_response_reminders() == {"warned": 0, "escalated": 0}


def signed(account, payload: dict, secret=None) -> tuple[bytes, dict]:
    """The body and the headers an automation tool sends: a timestamp, and the HMAC of "{timestamp}.{body}"."""
    body = json.dumps(payload).encode()
    key = (secret or responses.intake_secret(account)).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"HTTP_X_PORTAL_TIMESTAMP": timestamp, "HTTP_X_PORTAL_SIGNATURE": f"sha256={signature}"}


def test_the_signed_intake_stores_an_item_once(client, account):
    payload = {
        "external_id": "fb-123",
        "kind": "comment",
        "received_at": "2026-03-02T08:00:00+00:00",
        "summary": "Lovely assembly!",
    }
    body, headers = signed(account, payload)
    first = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    again = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and ResponseItem.objects.count() == 1
    assert ResponseItem.objects.get().due_at == dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)


@pytest.mark.parametrize("signature", ["", "sha256=0000", "wrong"])
def test_the_intake_refuses_a_wrong_or_missing_signature(client, account, signature):
    body, headers = signed(account, {"external_id": "x", "received_at": "2026-03-02T08:00:00+00:00", "summary": "s"})
    headers["HTTP_X_PORTAL_SIGNATURE"] = signature
    response = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    assert response.status_code == 403 and not ResponseItem.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"external_id": "x", "received_at": "2030-01-01T00:00:00+00:00", "summary": "future"},
        {"external_id": "x", "received_at": "yesterday", "summary": "bad date"},
        {"received_at": "2026-03-02T08:00:00+00:00", "summary": "no id"},
        {"external_id": "x", "kind": "rant", "received_at": "2026-03-02T08:00:00+00:00", "summary": "bad kind"},
    ],
)
def test_the_intake_refuses_bad_items(client, account, payload):
    body, headers = signed(account, payload)
    response = client.post(f"/approvals/intake/{account.pk}/", body, content_type="application/json", **headers)
    assert response.status_code == 400 and not ResponseItem.objects.exists()


def test_monthly_figures_count_on_time_and_the_median(account, runner, time_machine):
    for minutes in (30, 90, 60 * 30):
        item, _ = responses.log_item(
            account=account, actor=runner, kind=ItemKind.QUERY, received_at=START, summary=f"q{minutes}"
        )
        time_machine.move_to(START + dt.timedelta(minutes=minutes), tick=False)
        responses.answer_item(item=item, actor=runner, response="ok")
        time_machine.move_to(START, tick=False)
    from approvals.queries import monthly_figures

    (march,) = monthly_figures(account)
    assert (march["answered"], march["on_time"], march["median_minutes"]) == (3, 2, 90)


def test_the_register_counts_open_and_overdue_items_and_not_answered_ones(now, school, account, runner):
    (row,) = queries.register(school)
    assert (row.open_items, row.overdue_items) == (0, 0)
    items = [
        responses.log_item(
            account=account, actor=runner, kind=ItemKind.QUERY, received_at=START - dt.timedelta(days=days), summary="q"
        )[0]
        for days in (0, 3, 4)
    ]
    responses.answer_item(item=items[2], actor=runner, response="ok")
    (row,) = queries.register(school)
    assert (row.open_items, row.overdue_items) == (2, 1)


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_register_and_the_log_take_the_same_queries_for_few_or_many(client, school, account, runner, slt):
    for org in (school,):
        org.require_mfa = False
        org.save()
    client.force_login(slt)
    urls = [
        f"/organisations/{school.slug}/accounts/",
        f"/approvals/accounts/{account.pk}/log/",
        f"/approvals/accounts/{account.pk}/",
        "/",
    ]
    few = {url: _queries(client, url) for url in urls}
    for n in range(30):
        responses.log_item(
            account=account,
            actor=runner,
            kind=ItemKind.QUERY,
            received_at=START - dt.timedelta(hours=n),
            summary=f"q{n}",
        )
    for item in ResponseItem.objects.all()[:15]:
        responses.answer_item(item=item, actor=runner, response="ok")
    many = {url: _queries(client, url) for url in urls}
    assert many == few


def test_a_double_click_records_the_termly_check_once(account, runner):
    register.update_checklist(account=account, actor=runner, **COMPLETE)
    register.record_check(
        account=account, actor=runner, admins_confirmed=True, two_factor_still_on=True, checklist_still_true=True
    )
    with pytest.raises(errors.ApprovalError, match="already recorded today"):
        register.record_check(
            account=account, actor=runner, admins_confirmed=True, two_factor_still_on=True, checklist_still_true=True
        )
    account.refresh_from_db()
    assert (account.checks.count(), account.next_check_due) == (1, dt.date(2026, 7, 20))


def test_account_runners_hear_once_that_their_training_expires(account, runner, slt, time_machine):
    runner.training_records.update(expires_on=dt.date(2026, 3, 25))
    assert reminders.send_training_expiry_reminders() == 1
    assert "expires on 25 March 2026" in deliver()[-1].subject and deliver()[-1].to == [runner.email]
    assert reminders.send_training_expiry_reminders() == 0
    from approvals.models import TrainingRecord

    TrainingRecord.objects.create(
        user=runner,
        course="Refresher",
        completed_on=START.date(),
        expires_on=dt.date(2028, 3, 1),
        recorded_by=runner,
        verified_by=slt,
        verified_at=timezone.now(),
    )
    runner.training_records.update(expiry_reminded_at=None)
    assert reminders.send_training_expiry_reminders() == 0  # a newer, verified record is in date


def test_the_home_page_lists_the_first_accounts_needing_attention_and_points_to_the_register(
    client, school, staff, runner, slt, smp, monkeypatch
):
    """A trust's leaders can have hundreds of accounts to look at: the home page lists a few."""
    from tests.approvals.conftest import submitted_request

    make_ready(runner, smp)
    for name, email in (("Oak News", "news@school.example"), ("Oak Sport", "sport@school.example")):
        request = submitted_request(school, staff, [runner], proposed_name=name, official_email=email)
        services.decide(account_request=request, decider=slt, kind="approve")
    monkeypatch.setattr("portal.views.HOME_LIMIT", 1)
    school.require_mfa = False
    school.save()
    client.force_login(slt)
    page = client.get("/").content.decode()
    section = page[page.index("Official accounts needing attention") :]
    assert section.count("set-up checklist not finished") == 1
    assert f'href="/organisations/{school.slug}/accounts/">the account register</a>' in section
    monkeypatch.setattr("portal.views.HOME_LIMIT", 10)
    page = client.get("/").content.decode()
    assert page.count("set-up checklist not finished") == 2 and "More need attention" not in page


def test_the_register_pages_fifty_accounts_and_finds_one_by_name(client, school, account, slt):
    """A trust's register runs to hundreds of accounts: fifty a page, and a search."""
    from approvals.models import AccountRequest

    request = AccountRequest.objects.get()
    copies = []
    for n in range(54):
        copy = OfficialAccount.objects.get(pk=account.pk)
        copy.pk, copy.name = None, f"Oak Club {n:02}"
        copy.request = AccountRequest.objects.create(
            **{
                f.attname: getattr(request, f.attname)
                for f in AccountRequest._meta.concrete_fields
                if not f.primary_key
            }
        )
        copies.append(copy)
    OfficialAccount.objects.bulk_create(copies)
    school.require_mfa = False
    school.save()
    client.force_login(slt)
    url = f"/organisations/{school.slug}/accounts/"
    first = client.get(url).content.decode()
    assert "55 accounts." in first and first.count('href="/approvals/accounts/') == 2 * 50
    assert "Page 1 of 2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('href="/approvals/accounts/') == 2 * 5
    found = client.get(url, {"q": "club 07"}).content.decode()
    assert "1 matching account." in found and "Oak Club 07" in found and "Oak Club 08" not in found
    assert "No account matches" in client.get(url, {"q": "nothing like it"}).content.decode()
