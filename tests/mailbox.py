"""What the outbox sends, for tests: ``deliver()`` does a dispatcher's work at once."""

import smtplib

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from core import outbox


def deliver() -> list:
    """Send every due message now, as the dispatcher kicked after a commit would; returns ``mail.outbox``."""
    outbox.dispatch(seconds=60)
    return mail.outbox


def inbox(email: str) -> list:
    """The messages delivered to ``email`` (each message has one recipient)."""
    deliver()
    return [m for m in mail.outbox if email in m.to]


class RefusingBackend(EmailBackend):
    """The test mailbox, with a mail server that refuses some addresses for now (a temporary 4xx)."""

    refused: set = set()

    def send_messages(self, messages):
        for message in messages:
            refused = {address: (450, b"mailbox busy") for address in message.to if address in self.refused}
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        return super().send_messages(messages)
