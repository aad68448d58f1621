"""Every page a demo person reaches has a title of its own (WCAG 2.4.2): a screen reader's first
words, a browser tab's label, the history's entry. Two page types never share one; a page of an
organisation names it; a filtered or searched list says what it shows. Each dead end offers a
way on: home, sign in, or whom to ask."""

import io
import re
from html import unescape

import pytest
from django.core.management import call_command

from tests.demo_pages import PAGES

pytestmark = pytest.mark.django_db

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
ORGANISATIONS = {
    "northfield-primary": "Northfield Primary School",
    "northfield-trust": "Northfield Learning Trust",
}


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def _title(response) -> str:
    found = TITLE.search(response.content.decode())
    assert found, f"{response.request['PATH_INFO']} has no <title>"
    return unescape(" ".join(found.group(1).split()))


def _visit(client, who, path) -> tuple[str, object]:
    from accounts.models import User

    client.logout()
    if who:
        client.force_login(User.objects.get(email=who))
    if callable(path):
        path = path()
    return path, client.get(path)


def test_every_page_type_has_a_title_of_its_own(client, demo):
    titles: dict[str, tuple[str, str]] = {}  # title -> (address, label)
    problems = []
    for page in PAGES:
        path, response = _visit(client, page.who, page.path)
        label = f"{page.name} as {page.who or 'a visitor'} ({path})"
        if response.status_code != page.status:
            problems.append(f"{label} answered {response.status_code}")
            continue
        title = _title(response)
        if not (title.endswith("– Policy Portal") or " – Northfield" in title) or title.startswith("Error: "):
            problems.append(f"{label}: {title!r}")
        slug = re.match(r"/organisations/([^/]+)/", path)
        if slug and ORGANISATIONS[slug.group(1)] not in title:
            problems.append(f"{label}: {title!r} does not name the organisation")
        # One page is one address: the same one seen by two people may share its title, no other.
        earlier = titles.setdefault(title, (path, label))
        if earlier[0] != path:
            problems.append(f"{label} has the title of {earlier[1]}: {title!r}")
    assert not problems, "\n".join(problems)
    print(f"{len(titles)} titles for {len(PAGES)} pages")


@pytest.mark.parametrize(
    "query, title",
    [
        ("?status=overdue", "Overdue – Compliance – Northfield Primary School – Policy Portal"),
        ("?status=acknowledged", "Acknowledged – Compliance – Northfield Primary School – Policy Portal"),
        ("", "Everyone asked – Compliance – Northfield Primary School – Policy Portal"),
    ],
)
def test_a_filtered_list_says_what_it_shows_in_its_title(client, demo, query, title):
    _, response = _visit(client, "slt@example.org", f"/organisations/northfield-primary/compliance/people/{query}")
    assert _title(response) == title


def test_a_searched_training_list_names_the_search(client, demo):
    _, response = _visit(client, "slt@example.org", "/approvals/training/?q=Dunn")
    assert _title(response) == "Social-media training: “Dunn” – Policy Portal"


def test_a_filtered_incident_list_says_what_it_shows(client, demo):
    base = "/organisations/northfield-primary/incidents/"
    _, plain = _visit(client, "dsl@example.org", base)
    _, filtered = _visit(client, "dsl@example.org", f"{base}?show=new")
    assert _title(plain) == "Open incidents – Northfield Primary School – Policy Portal"
    assert _title(filtered) == "Awaiting triage incidents – Northfield Primary School – Policy Portal"
