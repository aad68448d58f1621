"""The 24-hour response log of each official account, and the signed intake that feeds it.

People log the comments, queries and complaints an account receives and say how each
was answered (seed 001 §5); automation tools post items to the intake, signed with the
account's HMAC secret, and each signed request is stored once.
"""

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.errors import ApprovalError
from approvals.models import AccountStatus, IntakeDelivery, OfficialAccount, ResponseItem
from approvals.register import locked_account
from core.audit import log_action
from core.validators import check_value
from core.workingdays import response_due

# The log
# ------------------------------------------------------------------------------


_link_validator = URLValidator(schemes=["http", "https"])


def log_item(
    *, account, actor, kind: str, received_at: dt.datetime, summary: str, link: str = "", external_id: str = ""
) -> tuple[ResponseItem, bool]:
    """Log a comment, query or complaint; the same external id twice is stored once. Returns (item, created)."""
    check_value(ResponseItem, "received_at", received_at, raising=ApprovalError)
    if not summary.strip():
        raise ApprovalError("Say briefly what was received.")
    if link:
        try:
            _link_validator(link)
        except ValidationError:
            raise ApprovalError("The link must be a web address starting with http:// or https://.") from None
    if account.status == AccountStatus.CLOSED:
        raise ApprovalError("This account is closed.")
    if external_id:
        existing = ResponseItem.objects.filter(account=account, external_id=external_id).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            item = ResponseItem.objects.create(
                account=account,
                kind=kind,
                received_at=received_at,
                due_at=response_due(received_at, account.organisation),
                summary=summary.strip(),
                link=link,
                external_id=external_id,
                logged_by=actor,
            )
            log_action(
                "approvals.item_logged",
                actor=actor,
                organisation=account.organisation,
                obj=item,
                to_state="open",
                details={"due_at": item.due_at.isoformat()},
            )
    except IntegrityError:  # the same external id posted twice at once
        return ResponseItem.objects.get(account=account, external_id=external_id), False
    return item, True


def answer_item(*, item, actor, response: str) -> ResponseItem:
    if not response.strip():
        raise ApprovalError("Say how it was answered.")
    with transaction.atomic():
        locked = ResponseItem.objects.select_for_update().select_related("account__organisation").get(pk=item.pk)
        if locked.answered_at:
            raise ApprovalError(
                f"This was already answered by {locked.answered_by.full_name if locked.answered_by else 'someone'}."
            )
        locked.answered_at = timezone.now()
        locked.answered_by = actor
        locked.response = response.strip()
        locked.save(update_fields=["answered_at", "answered_by", "response"])
        log_action(
            "approvals.item_answered",
            actor=actor,
            organisation=locked.account.organisation,
            obj=locked,
            from_state="open",
            to_state="answered",
            details={"on_time": locked.answered_on_time},
        )
    return locked


# The signed intake
# ------------------------------------------------------------------------------

INTAKE_CLOCK_SKEW = dt.timedelta(minutes=5)


def intake_secret(account) -> str:
    """The per-account secret automation tools sign with: derived from INTAKE_SIGNING_KEY (never
    SECRET_KEY) and the account's key version, so it is never stored and each account's can be rotated."""
    message = f"approvals.intake:{account.pk}:{account.intake_key_version}".encode()
    return hmac.new(settings.INTAKE_SIGNING_KEY.encode(), message, hashlib.sha256).hexdigest()


def intake_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``{timestamp}.{body}``: what X-Portal-Signature carries after ``sha256=``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def intake_time(timestamp: str) -> dt.datetime | None:
    """When a request was signed (X-Portal-Timestamp, Unix seconds); None when malformed or
    more than five minutes from now either way, so a captured request cannot be replayed later."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return None
    signed_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    return signed_at if abs(timezone.now() - signed_at) <= INTAKE_CLOCK_SKEW else None


def signature_ok(account, timestamp: str, body: bytes, header: str) -> bool:
    """``account`` may be None (no such account): the same work is done, and the same answer
    given, so the intake never tells which account ids exist."""
    secret = intake_secret(account) if account is not None else hmac.new(b"none", b"", hashlib.sha256).hexdigest()
    expected = "sha256=" + intake_signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), (header or "").encode()) and account is not None


def receive_intake(*, account, signature: str, signed_at: dt.datetime, **item) -> tuple[ResponseItem, bool]:
    """Log an item an automation tool posted. The item's external id stores it once; the
    signature is kept too, so the very same signed request posted again is a no-op that
    answers with the item it made the first time."""
    with transaction.atomic():
        delivery = IntakeDelivery.objects.filter(account=account, signature=signature).select_related("item").first()
        if delivery is not None:
            return delivery.item, False
        logged, created = log_item(account=account, actor=None, **item)
        try:
            with transaction.atomic():
                IntakeDelivery.objects.create(account=account, signature=signature, signed_at=signed_at, item=logged)
        except IntegrityError:  # the same request twice at once: the other one recorded it
            pass
    return logged, created


def rotate_intake_secret(*, account, actor) -> OfficialAccount:
    """A new intake secret for the account; the old one stops working at once."""
    with transaction.atomic():
        locked = locked_account(account)
        if locked.status == AccountStatus.CLOSED:
            raise ApprovalError("This account is closed.")
        previous = locked.intake_key_version
        locked.intake_key_version = previous + 1
        locked.save(update_fields=["intake_key_version"])
        log_action(
            "approvals.intake_secret_rotated",
            actor=actor,
            organisation=locked.organisation,
            obj=locked,
            from_state=f"version {previous}",
            to_state=f"version {locked.intake_key_version}",
        )
    return locked
