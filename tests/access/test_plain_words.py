"""Plain words: no page or email of the portal shows a seed policy's number, a clause of one, or an internal name.

The product speaks of "your organisation's Social Media Policy" (DESIGN.md: the seeds are the source, never
shown). This crawls every page of the access matrix as every person the matrix lets in (``ROWS``, the same
world), and reads every email the world has written, and what the reminder sweeps write a month on.
"""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.reminders import send_response_reminders
from core.models import OutboxMessage
from incidents.reminders import send_incident_reminders
from policies.reminders import send_acknowledgement_reminders, send_review_reminders
from tests.access.test_matrix import ROWS, url_of

pytestmark = pytest.mark.django_db

# What must never reach a reader, with why.
INTERNAL = [
    (re.compile(r"\bseeds?\b", re.IGNORECASE), "the seed policies"),
    (re.compile(r"\bAppendix\b|\bApp\. ?\d"), "a seed's appendix"),
    (re.compile(r"\b00[0-4]\b"), "a seed's number"),
    (re.compile(r"§"), "a seed's clause"),
    (re.compile(r"DESIGN\.md|\bCategoryRules\b"), "the design's internal names"),
    # A stored value shown raw ("approval_given", "in_progress") instead of its label.
    (re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"), "a stored value instead of its label"),
    (re.compile(r"\b[A-Z][a-z]+_[a-z]+\b"), "a stored value, capitalised"),
    # A label put inside brackets that holds brackets already: "(affected (for example, abused online))".
    (re.compile(r"\([^()]*\("), "brackets inside brackets"),
]


class _Text(HTMLParser):
    """The words a reader meets: text outside scripts and styles, and the attributes read out or shown.
    Code (``<code>``, as the intake's JSON field names for automation tools) is meant to be typed as it is."""

    SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}
    SKIPPED = ("script", "style", "code", "kbd", "pre")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skip += 1
        self.parts += [value for name, value in attrs if name in self.SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def problems_in(text: str, where: str) -> list[str]:
    found = []
    for pattern, why in INTERNAL:
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40) : match.end() + 40]
            found.append(f"{where}: {why}: “…{context}…”")
    return found


def test_no_page_shows_a_seed_number_or_an_internal_name(world):
    problems, pages = [], 0
    for row in ROWS:
        if row.method != "GET":
            continue
        for who, expected in row.expected.items():
            if expected != "A":
                continue
            with transaction.atomic():
                response = world.clients[who].get(url_of(world, row), follow=True)
                transaction.set_rollback(True)
            kind = response.get("Content-Type", "")
            if response.status_code != 200 or not kind.startswith(("text/html", "text/csv", "text/calendar")):
                continue
            body = response.content.decode()
            text = visible_text(body) if kind.startswith("text/html") else body
            problems += problems_in(text, f"{row.id} as {who}")
            pages += 1
    assert pages > 300, f"only {pages} pages were read"
    assert not problems, f"{len(problems)} internal words on pages:\n" + "\n".join(sorted(set(problems))[:60])


def test_no_email_shows_a_seed_number_or_an_internal_name(world, time_machine):
    with transaction.atomic():
        # A month on, every reminder has fallen due: acknowledgements, reviews, responses, triage.
        later = timezone.now() + dt.timedelta(days=30)
        time_machine.move_to(later, tick=False)
        send_acknowledgement_reminders(on=timezone.localdate(later))
        send_review_reminders(on=timezone.localdate(later) + dt.timedelta(days=400))
        send_response_reminders(now=later)
        send_incident_reminders(now=later)
        messages = list(OutboxMessage.objects.values_list("template", "subject", "text", "html"))
        transaction.set_rollback(True)
    templates = {template for template, *_ in messages}
    assert {"incidents/alert", "approvals/notice", "policies/acknowledgement_reminder"} <= templates, templates
    problems = []
    for template, subject, text, html in messages:
        problems += problems_in(subject, f"{template} subject")
        problems += problems_in(text, f"{template} text")
        problems += problems_in(visible_text(html), f"{template} HTML")
    assert not problems, f"{len(problems)} internal words in emails:\n" + "\n".join(sorted(set(problems))[:60])
