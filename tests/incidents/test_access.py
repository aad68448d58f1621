"""The role-by-page matrix: who may open which incident page or take which action (DESIGN.md "Who sees what")."""

import pytest

from accounts.models import Role
from incidents.models import Category, Incident
from tests.factories import member
from tests.incidents.conftest import SHOWN, report, upload

pytestmark = pytest.mark.django_db

PEOPLE = {
    "reporter": lambda s, o, t: member(s, email="reporter@school.example"),
    "colleague": lambda s, o, t: member(s),
    "line_manager": lambda s, o, t: member(s, Role.LINE_MANAGER),
    "slt": lambda s, o, t: member(s, Role.SLT),
    "lead": lambda s, o, t: member(s, Role.LEAD),
    "dsl": lambda s, o, t: member(s, Role.DSL),
    "deputy": lambda s, o, t: member(s, Role.DEPUTY_DSL),
    "named_dsl": lambda s, o, t: member(s, Role.DSL, email="named.dsl@school.example"),
    "named_lead": lambda s, o, t: member(s, Role.LEAD, Role.SLT, email="named.lead@school.example"),
    "osc": lambda s, o, t: member(s, Role.ONLINE_SAFETY),
    "admin": lambda s, o, t: member(s, Role.ADMIN),
    "policy_owner": lambda s, o, t: member(s, Role.POLICY_OWNER),
    "trust_dsl": lambda s, o, t: member(t, Role.DSL),
    "trust_slt": lambda s, o, t: member(t, Role.SLT),
    "other_school_dsl": lambda s, o, t: member(o, Role.DSL),
    "outsider": lambda s, o, t: member(
        o.__class__.objects.create(name="Elm", slug="elm", require_mfa=False), Role.DSL, Role.LEAD, Role.SLT
    ),
}

# (who, what they get for: a safeguarding case, a non-safeguarding case, a case alleging something of a DSL)
# "see": detail, evidence download, CSV and PDF exports; "triage": the triage action.
# 200 = allowed, 302 = sent to their own report's status page, 403 = refused, 404 = not revealed.
MATRIX = {
    #                     safeguarding      other            about a DSL
    "reporter": ((302, 404), (302, 404), (302, 404)),
    "colleague": ((404, 404), (404, 404), (404, 404)),
    "line_manager": ((404, 404), (404, 404), (404, 404)),
    "slt": ((404, 404), (200, 403), (404, 404)),
    "lead": ((200, 403), (200, 403), (200, 302)),
    "dsl": ((200, 302), (200, 302), (404, 404)),
    "deputy": ((200, 302), (200, 302), (404, 404)),
    "named_dsl": ((404, 404), (404, 404), (404, 404)),
    "named_lead": ((404, 404), (404, 404), (404, 404)),
    "osc": ((404, 404), (404, 404), (404, 404)),
    "admin": ((404, 404), (404, 404), (404, 404)),
    "policy_owner": ((404, 404), (404, 404), (404, 404)),
    "trust_dsl": ((200, 302), (200, 302), (404, 404)),
    "trust_slt": ((404, 404), (200, 403), (404, 404)),
    "other_school_dsl": ((404, 404), (404, 404), (404, 404)),
    "outsider": ((404, 404), (404, 404), (404, 404)),
}
KINDS = ["safeguarding", "other", "about_dsl"]


@pytest.fixture(autouse=True)
def _no_mfa(school, trust, other_school):
    for org in (school, trust, other_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def people(school, other_school, trust):
    return {name: make(school, other_school, trust) for name, make in PEOPLE.items()}


def _incident(kind, school, people) -> Incident:
    reporter = people["reporter"]
    named = {"affected": [people["named_dsl"]], "subjects": [people["named_lead"]]}
    files = [(upload(), SHOWN)]
    if kind == "safeguarding":
        return report(school, reporter, Category.PUPIL_CONTACT, files=files, **named)
    if kind == "other":
        return report(school, reporter, Category.UNOFFICIAL_ACCOUNT, files=files, **named)
    # a deputy DSL is the subject; the named lead is only affected here
    return report(
        school,
        reporter,
        Category.STAFF_BREACH,
        files=files,
        subjects=[people["deputy"]],
        affected=[people["named_dsl"], people["named_lead"]],
    )


CASES = [(who, kind, *MATRIX[who][i]) for who in MATRIX for i, kind in enumerate(KINDS)]


@pytest.mark.parametrize(("who", "kind", "see", "triage"), CASES)
def test_who_sees_and_triages_which_incident(client, now, school, people, who, kind, see, triage):
    incident = _incident(kind, school, people)
    evidence = incident.evidence.get()
    client.force_login(people[who])
    pages = [f"/incidents/{incident.pk}/"]
    for url in pages:
        assert client.get(url).status_code == see, url
    data_pages = [
        f"/incidents/evidence/{evidence.pk}/",
        f"/incidents/{incident.pk}/chronology.csv",
        f"/incidents/{incident.pk}/chronology.pdf",
    ]
    for url in data_pages:
        assert client.get(url).status_code == (404 if see == 302 else see), url
    response = client.post(
        f"/incidents/{incident.pk}/triage/",
        {"severity": "low", "is_safeguarding": "yes", "assignee": people[who].pk, "first_assessment": "Seen."},
    )
    assert response.status_code == triage
    assert Incident.objects.get().status == ("triaged" if triage == 302 else "new")
    # the reporter's own page: theirs alone
    assert client.get(f"/incidents/mine/{incident.pk}/").status_code == (200 if who == "reporter" else 404)


ORG_PAGES = [
    "/organisations/oak-primary/incidents/",
    "/organisations/oak-primary/incidents/dashboard/",
    "/organisations/oak-primary/incidents/records/",
]
ORG_MATRIX = {
    "reporter": (403, 403, 403),
    "colleague": (403, 403, 403),
    "slt": (200, 200, 403),
    "lead": (200, 200, 200),
    "dsl": (200, 200, 200),
    "deputy": (200, 200, 200),
    "osc": (403, 403, 403),
    "admin": (403, 403, 403),
    "trust_dsl": (200, 200, 200),
    "trust_slt": (200, 200, 403),
    "other_school_dsl": (404, 404, 404),
    "outsider": (404, 404, 404),
}


@pytest.mark.parametrize(("who", "codes"), ORG_MATRIX.items())
def test_who_opens_the_organisations_incident_pages(client, now, school, people, who, codes):
    client.force_login(people[who])
    assert [client.get(url).status_code for url in ORG_PAGES] == list(codes)


def test_lists_show_only_what_each_person_may_see(client, now, school, people):
    safeguarding = _incident("safeguarding", school, people)
    other = _incident("other", school, people)
    about_dsl = _incident("about_dsl", school, people)
    expected = {
        "dsl": {safeguarding, other},
        "slt": {other},
        "lead": {safeguarding, other, about_dsl},
        "deputy": {safeguarding, other},
        "trust_slt": {other},
    }
    for who, visible in expected.items():
        client.force_login(people[who])
        page = client.get("/organisations/oak-primary/incidents/?show=all").content.decode()
        shown = {i for i in (safeguarding, other, about_dsl) if f"/incidents/{i.pk}/" in page}
        assert shown == visible, who
    client.force_login(people["named_lead"])  # a lead named in a case sees only the one they are not named in
    page = client.get("/organisations/oak-primary/incidents/?show=all").content.decode()
    assert f"/incidents/{safeguarding.pk}/" not in page and f"/incidents/{other.pk}/" not in page
