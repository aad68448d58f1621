"""What the account and log pages flag and offer comes from the models and the view, not the templates."""

import datetime as dt

import pytest

from approvals import register, responses
from approvals.models import AccountStatus, ItemKind, TrainingRecord
from tests.approvals.conftest import START
from tests.approvals.test_register import COMPLETE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school):
    school.require_mfa = False
    school.save()


def test_the_termly_check_is_due_on_its_date_for_an_active_account(account, runner):
    assert not account.check_is_due()  # pending creation
    account = register.update_checklist(account=account, actor=runner, **COMPLETE)
    assert not account.check_is_due(account.next_check_due - dt.timedelta(days=1))
    assert account.check_is_due(account.next_check_due)


def test_an_item_is_overdue_while_unanswered_past_its_reply_time(account, runner):
    item, _ = responses.log_item(account=account, actor=runner, kind=ItemKind.QUERY, received_at=START, summary="?")
    assert not item.is_overdue() and item.is_overdue(item.due_at + dt.timedelta(minutes=1))
    item.answered_at = item.due_at + dt.timedelta(minutes=1)
    assert not item.is_overdue(item.due_at + dt.timedelta(hours=1))


def test_training_expires_the_day_after_its_expiry_date(account, runner):
    record = TrainingRecord.objects.filter(user=runner).first()
    assert not record.has_expired(record.expires_on) and record.has_expired(record.expires_on + dt.timedelta(days=1))


def test_a_closed_account_offers_no_changes_and_the_lead_stays_on_the_team(client, account, runner, slt):
    client.force_login(runner)
    page = client.get(f"/approvals/accounts/{account.pk}/").content.decode()
    assert "Save checklist" in page and "Hand over or close" in page
    assert 'name="remove"' not in page  # the only member is the lead
    register.close_account(account=account, actor=slt, reason="Merged into the trust page.")
    assert account.__class__.objects.get().status == AccountStatus.CLOSED
    page = client.get(f"/approvals/accounts/{account.pk}/").content.decode()
    assert "Save checklist" not in page and "Hand over or close" not in page and "Closed on" in page
