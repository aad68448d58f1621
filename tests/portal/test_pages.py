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
