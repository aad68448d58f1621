"""The home page's two-factor warning, the pages that used to be dead ends, the accessibility statement."""

import re

import pytest

from accounts.models import Organisation, Role
from tests.factories import member

pytestmark = pytest.mark.django_db

WARNING = "Two-factor sign-in is not required at"


def test_one_two_factor_warning_names_every_organisation(client, trust, school, other_school, trust_slt):
    Organisation.objects.filter(pk__in=[trust.pk, school.pk, other_school.pk]).update(require_mfa=False)
    client.force_login(trust_slt)
    page = client.get("/").content.decode()
    assert page.count(WARNING) == 1
    sentence = re.search(WARNING + r" ([^.]+)\.", page).group(1)
    assert sentence.count(",") == 1 and " and " in sentence, sentence  # "A, B and C"
    assert {"Oak Trust", "Oak Primary", "Ash Academy"} <= {n.strip() for n in re.split(r",| and ", sentence)}
    # A leader cannot change the settings: one line per organisation says whom to ask.
    assert page.count("ask your organisation's administrator to turn it on") == 3


def test_an_administrator_is_linked_to_the_settings_of_the_one_organisation(client, school):
    Organisation.objects.filter(pk=school.pk).update(require_mfa=False)
    admin = member(school, Role.ADMIN)
    client.force_login(admin)
    page = client.get("/").content.decode()
    assert page.count(WARNING) == 1
    link = f'<a href="/organisations/{school.slug}/settings/">Turn it on in Oak Primary\'s settings</a>'
    assert link in page


def test_no_warning_where_two_factor_is_required_or_for_staff(client, school, slt, staff):
    from accounts.permissions import access_for

    assert access_for(slt).mfa_off_organisations == []  # required at Oak Primary
    Organisation.objects.filter(pk=school.pk).update(require_mfa=False)
    client.force_login(staff)
    assert WARNING not in client.get("/").content.decode()  # staff need no second factor


def test_the_sign_up_closed_page_leads_back_to_sign_in(client):
    response = client.get("/accounts/signup/")
    page = response.content.decode()
    assert "<title>You cannot create an account here – Policy Portal</title>" in page
    assert '<a href="/accounts/login/">sign in</a>' in page
    assert "ask them to invite you" in page


def test_the_password_reset_page_says_whom_to_ask(client):
    page = client.get("/accounts/password/reset/").content.decode()
    assert "Please contact us" not in page
    assert "ask your organisation's administrator" in page
    assert '<a href="/accounts/login/">Back to sign in</a>' in page
    assert "novalidate" in page


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/password/reset/", "/report/oak-primary/"])
def test_every_page_links_to_the_accessibility_statement(client, school, path):
    assert '<a href="/accessibility/">Accessibility statement</a>' in client.get(path).content.decode()


def test_the_accessibility_statement_is_public_and_honest_about_its_gaps(client, staff):
    for signed_in in (False, True):
        if signed_in:
            client.force_login(staff)
        response = client.get("/accessibility/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "<title>Accessibility statement – Policy Portal</title>" in page
        assert "WCAG" in page and "2.2" in page and "partially compliant" in page
        for gap in ("no summary of the errors", "hold Ctrl", "---------", "Reporting a problem"):
            assert gap in page, gap
        assert "tell your organisation's administrator" in page
    assert '<a href="/accessibility/">Accessibility statement</a>' in page


def test_a_search_of_the_staff_list_has_its_own_title(client, school, school_admin):
    Organisation.objects.filter(pk=school.pk).update(require_mfa=False)  # no authenticator to set up first
    client.force_login(school_admin)
    titled = re.compile(r"<title>(.*?)</title>")
    plain = titled.search(client.get(f"/organisations/{school.slug}/staff/").content.decode()).group(1)
    searched = titled.search(client.get(f"/organisations/{school.slug}/staff/?q=smith").content.decode()).group(1)
    assert plain == "Staff of Oak Primary – Policy Portal"
    assert searched == "Search “smith” – Staff of Oak Primary – Policy Portal"


# Every dead end offers a way on (issue 15): home, sign in, or whom to ask.
ONWARD = re.compile(r'href="(/|/accounts/login/|/accounts/password/reset/|/report/[a-z0-9-]+/)"')


def _main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def _assert_a_way_on(page: str, label: str) -> None:
    main = _main(page)
    assert ONWARD.search(main), f"{label} offers no link onward: {main[:600]}"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/no-such-page/", 404),
        ("/report/status/not-a-real-token/", 404),
        ("/accounts/signup/", 200),
        ("/accounts/password/reset/done/", 200),
        ("/accounts/password/reset/key/done/", 200),
        ("/report/oak-primary/thanks/", 200),
    ],
)
def test_each_dead_end_a_visitor_meets_offers_a_way_on(client, school, path, status):
    response = client.get(path)
    assert response.status_code == status
    _assert_a_way_on(response.content.decode(), path)


def test_the_not_allowed_page_offers_a_way_on(client, school, staff):
    client.force_login(staff)
    response = client.get(f"/organisations/{school.slug}/compliance/")
    assert response.status_code == 403
    _assert_a_way_on(response.content.decode(), "403")


def test_too_many_tries_at_a_status_link_offers_a_way_on(client, school, settings):
    for _ in range(settings.INCIDENT_STATUS_LINK_MISSES_PER_HOUR):
        client.get("/report/status/not-a-real-token/")
    response = client.get("/report/status/not-a-real-token/")
    assert response.status_code == 429
    page = response.content.decode()
    assert "<title>Too many attempts – Policy Portal</title>" in page
    _assert_a_way_on(page, "status link limit")


def test_too_many_sign_ins_offers_a_way_on(client, staff, settings):
    limit = int(settings.ACCOUNT_RATE_LIMITS["login"].split("/")[0])  # sign-ins a minute from one address
    for n in range(limit + 1):
        response = client.post("/accounts/login/", {"login": f"person{n}@example.org", "password": "not it"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "<title>Too many tries – Policy Portal</title>" in page
    assert 'href="/accounts/password/reset/"' in _main(page)
    _assert_a_way_on(page, "sign-in limit")


def test_a_bad_request_and_an_expired_form_offer_a_way_on(client, school):
    from django.test import Client

    response = client.get("/accounts/login/", HTTP_HOST="not-the-portal.example")
    assert response.status_code == 400
    _assert_a_way_on(response.content.decode(), "400")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"login": "someone@example.org", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>Your form had expired – Policy Portal</title>" in page
    _assert_a_way_on(page, "CSRF")


def test_the_server_error_page_offers_a_way_on():
    from django.template.loader import render_to_string

    _assert_a_way_on(render_to_string("500.html"), "500")
