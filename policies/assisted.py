"""Assisted acknowledgements: recorded for staff without an email address or device.

Seed 000 §2 and 002 §3 put every member of staff in scope, cleaners and lunchtime supervisors
among them; some have no work email or device, so they never sign in. They read the policy on
paper or at a shared device and sign for it; their line manager or an administrator
(``policies.access.can_record_acknowledgement_for``) records the acknowledgement: the person,
the version, the day they signed, how, who recorded it, and optionally a scan of the signed
sheet (checked as incidents' evidence is, ``core.uploads``). Every figure counts it as
acknowledged and says how many were assisted (``policies.compliance``); every export says how
each acknowledgement was made.
"""

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, today
from core.audit import log_action
from core.uploads import UploadError, check_upload
from policies.access import can_record_acknowledgement_for
from policies.models import (
    ASSISTED_METHODS,
    Acknowledgement,
    AcknowledgementMethod,
    AcknowledgementRequest,
    PolicyVersion,
)
from policies.services import PolicyError


def open_requests_of(membership: Membership):
    """The person's requests still to acknowledge, for the versions that count, with their policies."""
    return (
        AcknowledgementRequest.objects.current()
        .counting()
        .outstanding()
        .filter(membership=membership)
        .select_related("version__policy")
        .order_by("version__policy__title", "pk")
    )


def _signed_sheet(upload) -> tuple[bytes, str, str] | None:
    """(bytes to keep, extension, their SHA-256) of an acceptable scan; ``PolicyError`` otherwise.
    Backups and restores check the kept file against the hash (``policies.apps``)."""
    if upload is None:
        return None
    try:
        checked = check_upload(upload)
    except UploadError as exc:
        raise PolicyError(str(exc)) from None
    if checked.viewable is not None:  # an image, re-encoded without its metadata
        return checked.viewable, checked.viewable_extension, hashlib.sha256(checked.viewable).hexdigest()
    return checked.data, checked.extension, checked.sha256


def _when(made_on: dt.date) -> dt.datetime:
    """The moment an assisted acknowledgement counts from: now if signed today, else noon that day."""
    if made_on == today():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(made_on, dt.time(12)))


def record_assisted_acknowledgement(
    *,
    actor,
    membership: Membership,
    request_ids,
    method: str,
    made_on: dt.date,
    signed_sheet=None,
) -> list[Acknowledgement]:
    """Record that the person of ``membership`` signed for the policies of ``request_ids`` on
    ``made_on``, on paper or at a shared device. All or nothing; a request already acknowledged
    (a double click, a second recorder) keeps its acknowledgement. ``PolicyError`` says why a
    record is refused, and nothing is kept."""
    if method not in ASSISTED_METHODS:
        raise PolicyError("Choose how they acknowledged: on paper or at a shared device.")
    if made_on > today():
        raise PolicyError("The date they signed cannot be in the future.")
    request_ids = sorted({int(pk) for pk in request_ids})
    if not request_ids:
        raise PolicyError("Choose at least one policy they signed for.")
    sheet = _signed_sheet(signed_sheet)
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user", "organisation").get(pk=membership.pk)
        if not can_record_acknowledgement_for(actor, locked):
            raise PolicyError(
                "Only their line manager or an administrator can record acknowledgements for someone without an email address."
            )
        requests = list(
            AcknowledgementRequest.objects.current()
            .select_for_update(of=("self",))
            .filter(pk__in=request_ids, membership=locked)
            .select_related("version__policy")
            .order_by("pk")
        )
        if len(requests) != len(request_ids):
            raise PolicyError(
                "One of the policies chosen is no longer asked of them. Reload the page and choose again."
            )
        recorded, sheet_name = [], ""
        for request in requests:
            if request.acknowledgement_id:
                recorded.append(request.acknowledgement)
                continue
            policy = request.version.policy
            if request.version_id != policy.acknowledgement_version_id:
                raise PolicyError(
                    f"A newer version of {policy.title} has been published. Reload the page and record that one."
                )
            shown = PolicyVersion.objects.published().filter(policy=policy).first()
            if shown is None:
                raise PolicyError(f"{policy.title} has been retired: there is nothing to acknowledge.")
            published_on = timezone.localdate(shown.published_at)
            if made_on < published_on:
                raise PolicyError(
                    f"Version {shown.label} of {policy.title} was published on {published_on:%d %B %Y}: "
                    "the date they signed cannot be earlier. Record the date on the signed sheet."
                )
            acknowledgement = Acknowledgement(
                user=locked.user,
                version=shown,
                acknowledged_at=_when(made_on),
                content_sha256=shown.content_sha256,
                method=method,
                recorded_by=actor,
                recorded_at=timezone.now(),
            )
            if sheet:  # one file for the sheet, however many policies it lists
                content, extension, sha256 = sheet
                if sheet_name:
                    acknowledgement.signed_sheet.name = sheet_name
                else:
                    acknowledgement.signed_sheet.save(f"sheet.{extension}", ContentFile(content), save=False)
                    sheet_name = acknowledgement.signed_sheet.name
                acknowledgement.signed_sheet_sha256 = sha256
            acknowledgement.save()
            request.acknowledgement = acknowledgement
            request.save(update_fields=["acknowledgement"])
            log_action(
                "policy.acknowledgement_recorded",
                actor=actor,
                organisation=locked.organisation,
                obj=shown,
                details={
                    "person": locked.user.full_name,
                    "method": method,
                    "signed_on": made_on.isoformat(),
                    "signed_sheet": bool(sheet),
                    "sha256": shown.content_sha256,
                },
            )
            recorded.append(acknowledgement)
    return recorded


def method_label(method: str) -> str:
    return AcknowledgementMethod(method).label
