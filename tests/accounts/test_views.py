import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role
from core.models import AuditEntry
from tests.factories import member
from tests.mailbox import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, other_school, trust, outside_school):
    """These tests are about the pages, not two-factor enrolment (tests/accounts/test_sign_in.py)."""
    for org in (school, other_school, trust, outside_school):
        org.require_mfa = False
        org.save()


def staff_url(org, suffix=""):
    return f"/organisations/{org.slug}/staff/{suffix}"


def test_the_home_page_lists_the_persons_organisations_and_roles(client, school, trust_slt):
    client.force_login(trust_slt)
    page = client.get("/").content.decode()
    for text in ("Oak Trust", "Oak Primary", "Ash Academy", "Senior leadership team"):
        assert text in page


def test_the_home_page_asks_for_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_navigation_shows_only_what_the_roles_allow(client, school, staff, school_admin):
    client.force_login(staff)
    assert staff_url(school) not in client.get("/").content.decode()
    client.force_login(school_admin)
    assert staff_url(school) in client.get("/").content.decode()


def test_slt_sees_the_staff_list(client, school, slt, staff):
    client.force_login(slt)
    response = client.get(staff_url(school))
    page = response.content.decode()
    assert response.status_code == 200
    assert staff.email in page and "Invite a person" not in page


def test_the_staff_list_searches(client, school, school_admin, staff):
    member(school, email="zed@school.example", job_title="Caretaker")
    client.force_login(school_admin)
    page = client.get(staff_url(school), {"q": "caretaker"}).content.decode()
    assert "zed@school.example" in page and staff.email not in page


@pytest.mark.parametrize("suffix", ["", "invite/", "import/"])
def test_staff_pages_are_refused_to_plain_staff_and_hidden_from_outsiders(client, school, staff, outsider, suffix):
    client.force_login(staff)
    assert client.get(staff_url(school, suffix)).status_code == 403
    client.force_login(outsider)
    assert client.get(staff_url(school, suffix)).status_code == 404


def test_the_staff_list_takes_the_same_queries_for_5_or_60_people(client, school, school_admin):
    client.force_login(school_admin)
    counts = []
    for extra in (5, 55):
        for _ in range(extra):
            member(school, Role.LINE_MANAGER)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(staff_url(school)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 12


def test_an_administrator_invites_a_person(
    client, school, school_admin, celery_eager, django_capture_on_commit_callbacks
):
    client.force_login(school_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            staff_url(school, "invite/"),
            {
                "first_name": "Nia",
                "last_name": "Jones",
                "email": "Nia@School.example",
                "staff_type": "volunteer",
                "roles": ["staff", "dsl"],
            },
        )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="nia@school.example")
    assert membership.staff_type == "volunteer" and membership.roles == {Role.STAFF, Role.DSL}
    assert deliver()[-1].to == ["nia@school.example"]
    assert AuditEntry.objects.filter(action="staff.invited", actor=school_admin).exists()


def test_the_invitation_says_how_long_its_link_works_from_the_setting_that_signs_it(
    client, school, school_admin, celery_eager, django_capture_on_commit_callbacks, settings
):
    settings.PASSWORD_RESET_TIMEOUT = 2 * 24 * 60 * 60
    client.force_login(school_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            staff_url(school, "invite/"),
            {
                "first_name": "Nia",
                "last_name": "Jones",
                "email": "nia@school.example",
                "staff_type": "employee",
                "roles": ["staff"],
            },
        )
    message = deliver()[-1]
    assert "for 2 days" in message.body and "3 days" not in message.body
    assert "for 2 days" in message.alternatives[0][0]


def test_inviting_someone_twice_keeps_one_record(
    client, school, school_admin, celery_eager, django_capture_on_commit_callbacks
):
    client.force_login(school_admin)
    data = {"first_name": "Nia", "last_name": "Jones", "email": "nia@school.example", "staff_type": "employee"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(staff_url(school, "invite/"), data)
        client.post(staff_url(school, "invite/"), data)
    assert Membership.objects.filter(user__email="nia@school.example").count() == 1
    # The second invitation within the same minute is a double click: one email.
    assert len(deliver()) == 1


def test_a_bad_invitation_is_refused_with_a_message(client, school, school_admin):
    client.force_login(school_admin)
    response = client.post(
        staff_url(school, "invite/"), {"first_name": "", "last_name": "X", "email": "nope", "staff_type": "employee"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not Membership.objects.filter(user__email="nope").exists()


def test_an_administrator_edits_a_record_and_the_change_is_audited(client, school, school_admin, staff, slt):
    membership = staff.memberships.get()
    client.force_login(school_admin)
    response = client.post(
        staff_url(school, f"{membership.pk}/"),
        {
            "staff_type": "temporary",
            "job_title": "Cover Teacher",
            "department": "Year 6",
            "line_manager": slt.pk,
            "start_date": "2025-09-01",
            "leaving_date": "",
            "roles": ["line_manager"],
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.staff_type, membership.line_manager, membership.roles) == (
        "temporary",
        slt,
        {Role.STAFF, Role.LINE_MANAGER},
    )
    entry = AuditEntry.objects.get(action="staff.updated")
    assert entry.details["changes"]["job_title"] == ["Teacher", "Cover Teacher"]
    assert entry.details["changes"]["roles"] == [["staff"], ["line_manager", "staff"]]


def test_a_leaving_date_before_the_start_is_refused(client, school, school_admin, staff):
    membership = staff.memberships.get()
    client.force_login(school_admin)
    response = client.post(
        staff_url(school, f"{membership.pk}/"),
        {"staff_type": "employee", "start_date": "2025-09-01", "leaving_date": "2025-01-01"},
    )
    assert response.status_code == 200 and "cannot be before the start date" in response.content.decode()
    membership.refresh_from_db()
    assert membership.leaving_date is None


def test_records_of_another_organisation_cannot_be_edited(client, school, other_school, school_admin):
    elsewhere = member(other_school).memberships.get()
    client.force_login(school_admin)
    assert client.get(staff_url(school, f"{elsewhere.pk}/")).status_code == 404


def test_resending_an_invitation_needs_post(client, school, school_admin, staff):
    client.force_login(school_admin)
    assert client.get(staff_url(school, f"{staff.memberships.get().pk}/invite/")).status_code == 405


def test_the_import_page_reports_bad_rows_and_changes_nothing(client, school, school_admin):
    client.force_login(school_admin)
    upload = SimpleUploadedFile(
        "staff.csv", b"First name,Last name,Email\nAda,Lovelace,ada@school.example\nBad,Row,bad\n", "text/csv"
    )
    response = client.post(staff_url(school, "import/"), {"file": upload})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported" in page and "Line 3: email &#x27;bad&#x27; is not a valid address." in page
    assert not Membership.objects.filter(user__email="ada@school.example").exists()


def test_the_import_page_imports_a_good_file(client, school, school_admin):
    client.force_login(school_admin)
    upload = SimpleUploadedFile(
        "staff.csv", b"First name,Last name,Email\nAda,Lovelace,ada@school.example\n", "text/csv"
    )
    response = client.post(staff_url(school, "import/"), {"file": upload}, follow=True)
    assert "Import complete: 1 added, 0 updated, 0 unchanged." in response.content.decode()


def test_the_import_page_says_which_line_managers_wait_for_an_accepted_offer(
    client, school, school_admin, outside_school
):
    member(outside_school, email="ada@school.example")
    client.force_login(school_admin)
    upload = SimpleUploadedFile(
        "staff.csv",
        b"First name,Last name,Email,Line manager email\n"
        b"Grace,Hopper,grace@school.example,ada@school.example\nAda,Lovelace,ada@school.example,\n",
        "text/csv",
    )
    page = client.post(staff_url(school, "import/"), {"file": upload}, follow=True).content.decode()
    assert "Import complete: 1 added" in page
    assert "Line 2: line manager ada@school.example has an account elsewhere" in page


def test_a_trust_administrator_manages_every_member_school(client, trust, school, other_school):
    admin = member(trust, Role.ADMIN)
    client.force_login(admin)
    for org in (trust, school, other_school):
        assert client.get(staff_url(org, "import/")).status_code == 200


def test_settings_change_is_audited_and_mfa_off_is_warned(client, school, school_admin):
    client.force_login(school_admin)
    response = client.post(
        f"/organisations/{school.slug}/settings/",
        {
            "closing_time": "16:30",
            "email_domains": "oak.sch.uk, OAK.example",
            "acknowledgement_period_days": "10",
            "require_mfa": "",
        },
        follow=True,
    )
    school.refresh_from_db()
    assert str(school.closing_time) == "16:30:00" and school.acknowledgement_period_days == 10
    assert school.domains == ["oak.sch.uk", "oak.example"]
    assert "Two-factor sign-in is off" in response.content.decode()
    assert AuditEntry.objects.filter(action="organisation.settings_changed", organisation=school).exists()


def test_settings_refuse_a_malformed_domain(client, school, school_admin):
    client.force_login(school_admin)
    response = client.post(
        f"/organisations/{school.slug}/settings/",
        {
            "closing_time": "17:00",
            "email_domains": "not a domain",
            "acknowledgement_period_days": "14",
            "require_mfa": "on",
        },
    )
    assert response.status_code == 200 and "Enter domains like" in response.content.decode()
    school.refresh_from_db()
    assert school.email_domains == "school.example"


def test_settings_are_for_administrators_only(client, school, slt):
    client.force_login(slt)
    assert client.get(f"/organisations/{school.slug}/settings/").status_code == 403


@pytest.mark.parametrize("path", ["/no-such-page/", "/organisations/nowhere/staff/"])
def test_unknown_pages_show_the_portal_404(client, staff, path):
    client.force_login(staff)
    response = client.get(path)
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_an_administrator_cannot_change_their_own_roles(client, school, school_admin):
    membership = school_admin.memberships.get()
    client.force_login(school_admin)
    response = client.post(
        staff_url(school, f"{membership.pk}/"),
        {"staff_type": "employee", "job_title": "Admin", "roles": ["admin", "dsl"]},
    )
    assert "You cannot change your own roles" in response.content.decode()
    assert membership.roles == {Role.STAFF, Role.ADMIN}


@pytest.fixture
def large_trust(trust):
    """A trust of ten schools (past the menus' limit) and a lead who reaches them all."""
    from tests.factories import OrganisationFactory

    schools = [
        OrganisationFactory(name=f"School {i:02}", slug=f"school-{i:02}", parent=trust, require_mfa=False)
        for i in range(10)
    ]
    return trust, schools, member(trust, Role.LEAD, Role.ADMIN, email="trust.lead@school.example")


def test_a_trust_lead_s_menus_list_the_trust_and_link_to_every_school(client, large_trust):
    trust, schools, lead = large_trust
    client.force_login(lead)
    page = client.get("/").content.decode()
    menu = page[page.index('id="main-nav"') : page.index("</nav>")]
    assert f"/organisations/{trust.slug}/compliance/" in menu
    assert "/organisations/school-00/compliance/" not in menu
    reached = 1 + trust.members.count()  # the trust and its schools (Oak Primary and Ash Academy too)
    assert f"All {reached} organisations…" in menu
    # The home page shows the trust's card and links to the rest.
    assert f"All {reached} organisations you reach, with their pages" in page
    assert 'id="org-' + str(schools[0].pk) + '"' not in page


def test_the_organisations_page_lists_every_organisation_with_the_pages_roles_open(client, large_trust, school):
    trust, schools, lead = large_trust
    staff = member(school)
    client.force_login(lead)
    page = client.get("/organisations/").content.decode()
    for org in [trust, *schools]:
        assert f'href="/organisations/{org.slug}/compliance/"' in page
        assert f'href="/organisations/{org.slug}/settings/"' in page
    client.force_login(staff)
    page = client.get("/organisations/").content.decode()
    assert "Oak Primary" in page and "/compliance/" not in page and "/settings/" not in page


def test_a_school_s_staff_see_every_organisation_in_the_menus(client, school, other_school):
    person = member(school, Role.ADMIN)
    client.force_login(person)
    menu = client.get("/").content.decode()
    assert f"/organisations/{school.slug}/staff/" in menu and "organisations…" not in menu
