"""An email backend that builds each message as SMTP would, counts it and drops it.

The sweep's memory figure must be the sweep's own: keeping 25,000 messages in
``mail.outbox`` would measure the outbox instead.
"""

from django.core.mail.backends.base import BaseEmailBackend


class CountingBackend(BaseEmailBackend):
    sent = 0
    recipients = 0

    def send_messages(self, email_messages):
        for message in email_messages:
            message.message().as_bytes()
            CountingBackend.sent += 1
            CountingBackend.recipients += len(message.recipients())
        return len(email_messages)
