"""One helper that renders every email: subject, text and HTML templates.

``make_message("accounts/invitation", to=[...], context={...})`` renders
``templates/emails/accounts/invitation_subject.txt``, ``..._body.txt`` and
``..._body.html`` (after healthchecks' ``make_message``). Nothing sends it directly:
``core.outbox`` writes it with the change that causes it and sends it.

``absolute_url`` makes every link an email carries.

``Stamp`` renders the same parts for a sweep's thousands of messages from one template,
faster: once per shape, with each message's own values stamped in afterwards.
"""

import re
from collections.abc import Callable, Hashable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import conditional_escape


def absolute_url(path: str = "") -> str:
    """``path`` at the address the portal is served at (``SITE_URL``, which the run command sets
    from its host and port). Every link in an email is made here: in code with a path, in
    templates as ``{{ site_url }}`` followed by the path."""
    return settings.SITE_URL + path


def render_parts(template: str, context: dict) -> tuple[str, str, str]:
    """The subject (one line), text body and HTML body of ``template`` with ``context``."""
    context = {"site_url": absolute_url(), **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    subject = " ".join(subject.split())  # one line, whatever the template's whitespace
    text = render_to_string(f"emails/{template}_body.txt", context)
    html = render_to_string(f"emails/{template}_body.html", context)
    return subject, text, html


def make_message(
    template: str, *, to: list[str], context: dict, reply_to: list[str] | None = None
) -> EmailMultiAlternatives:
    subject, text, html = render_parts(template, context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=to, from_email=settings.DEFAULT_FROM_EMAIL, reply_to=reply_to
    )
    message.attach_alternative(html, "text/html")
    return message


_MARK = re.compile("\ue000(\\d+)\ue001")


def mark(index: int) -> str:
    """The marker a ``Stamp`` frame holds where value ``index`` goes (private-use characters,
    which no template filter or escaping changes)."""
    return f"\ue000{index}\ue001"


class Stamp:
    """One template rendered once per *shape*, each message's own values stamped into the frame.

    A sweep writes thousands of messages from one template that differ only in values the
    template prints as they are (a first name, the already rendered lines of a digest), while
    its logic depends on a little more (how many lines, whether any is overdue): the shape.
    The frame of a shape is rendered with ``mark(i)`` in place of value ``i``; a message's
    parts are the frame with its values put in, in one pass (a value is never read for
    markers itself). HTML values are escaped as the template would have escaped them.

    Only values a template prints with no filter may be stamped: tests compare every stamped
    template with ``render_parts`` of the same context.
    """

    def __init__(self, template: str):
        self.template = template
        self._frames: dict[Hashable, tuple[str, str, str]] = {}

    def parts(
        self, shape: Hashable, frame_context: Callable[[], dict], values: list[tuple[str, str]]
    ) -> tuple[str, str, str]:
        """Subject, text and HTML for one message: ``frame_context()`` (called once per shape) is
        the context with ``mark(i)`` in place of each value; ``values[i]`` is (text, HTML) for it."""
        frame = self._frames.get(shape)
        if frame is None:
            frame = self._frames[shape] = render_parts(self.template, frame_context())
        subject, text, html = frame
        plain = [text_value for text_value, _ in values]
        escaped = [str(conditional_escape(html_value)) for _, html_value in values]
        return _stamp(subject, plain), _stamp(text, plain), _stamp(html, escaped)


def _stamp(frame: str, values: list[str]) -> str:
    return _MARK.sub(lambda found: values[int(found.group(1))], frame)
