"""What the outbox sends, for tests: ``deliver()`` does a dispatcher's work at once."""

import email
import email.policy
import smtplib
import socket

from aiosmtpd.controller import Controller
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


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the server accepted; addresses in ``refuse`` get a permanent 550."""

    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf8", "replace")))
        return "250 Message accepted"

    def received(self, address: str | None = None) -> list:
        """The messages the server accepted (for ``address``, or all), parsed: ``m["Subject"]``, ``body(m)``."""
        return [
            email.message_from_string(content, policy=email.policy.default)
            for to, content in self.messages
            if address is None or address in to
        ]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


class MailServer:
    """A real SMTP server (aiosmtpd) on a spare port, in a thread of the test's own process."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, server_kwargs={})
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None
