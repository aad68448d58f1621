"""Email about account requests, accounts and their response logs: who did what, and a link.

Written to the outbox (``core.outbox``) with the change that causes it; the topic names
the change (its audit entry, or the reminder's object and stage), so it is written once.
"""

from django.urls import reverse

from core import outbox


def request_path(account_request) -> str:
    return reverse("approvals:request", args=[account_request.pk])


def account_path(account) -> str:
    return reverse("approvals:account", args=[account.pk])


def log_path(account) -> str:
    return reverse("approvals:log", args=[account.pk])


def send_notice(to: list[str], subject: str, lines: list[str], path: str, *, topic: str) -> int:
    return outbox.send(
        "approvals/notice", to=to, context={"subject": subject, "lines": lines, "path": path}, topic=topic
    )


def after_change(entry, to: list[str], subject: str, lines: list[str], path: str) -> int:
    """The notice of the change ``entry`` (its audit record) records."""
    return send_notice(to, subject, lines, path, topic=f"approvals.change:{entry.pk}")
