"""Policy records as a policy table has them (issue 14; seed 001's policy table lists Author
beside Approval Body and Version, 003 §9 keeps reviews with the owner, 003 §1 lets a school add
its own points to its trust's policy): the author, who opens the list and the review calendar,
and a trust's policy owner who keeps managing what they write for a school."""

import pytest

from accounts.models import Role
from core.models import AuditEntry
from policies import services
from policies.models import Policy, PolicyVersion, VersionStatus
from tests.factories import member
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


def policy_data(owner, **fields):
    return {
        "title": "Photography Policy",
        "category": "other",
        "owner": owner.pk,
        "author": "Designated Safeguarding Lead",
        "approval_body": "Governing board",
        "review_frequency_months": 12,
        **fields,
    }


def version_data(**fields):
    return {
        "label": "1",
        "source_format": "markdown",
        "text": "# Photos\n\nAsk first.",
        "requires_acknowledgement": "on",
        **fields,
    }


# The author
# ------------------------------------------------------------------------------


def test_the_author_is_kept_and_shown_on_the_policy_page_and_list(client, now, school, owner, staff):
    client.force_login(owner)
    response = client.post(f"/organisations/{school.slug}/policies/new/", policy_data(owner))
    policy = Policy.objects.get(title="Photography Policy")
    assert response.status_code == 302 and policy.author == "Designated Safeguarding Lead"
    assert (
        "<dt>Author</dt><dd>Designated Safeguarding Lead</dd>"
        in client.get(f"/policies/{policy.pk}/manage/").content.decode()
    )
    listed = client.get(f"/organisations/{school.slug}/policies/").content.decode()
    assert '<td role="cell" data-label="Author">Designated Safeguarding Lead</td>' in listed
    publish(policy, owner)
    client.force_login(staff)
    assert (
        "<dt>Author</dt><dd>Designated Safeguarding Lead</dd>" in client.get(f"/policies/{policy.pk}/").content.decode()
    )


def test_changing_the_author_is_recorded(client, now, policy, owner):
    client.force_login(owner)
    assert 'name="author"' in client.get(f"/policies/{policy.pk}/edit/").content.decode()
    client.post(
        f"/policies/{policy.pk}/edit/", policy_data(owner, title=policy.title, author="Trust safeguarding team")
    )
    policy.refresh_from_db()
    assert policy.author == "Trust safeguarding team"
    entry = AuditEntry.objects.filter(action="policy.updated").get()
    assert entry.details["changes"]["author"] == ["", "Trust safeguarding team"]


def test_an_author_too_long_is_refused_and_nothing_changes(client, now, policy, owner):
    client.force_login(owner)
    response = client.post(f"/policies/{policy.pk}/edit/", policy_data(owner, title=policy.title, author="x" * 151))
    assert response.status_code == 200 and "must be 150 characters or fewer" in response.content.decode()
    policy.refresh_from_db()
    assert policy.author == ""


def test_the_admin_lists_and_searches_the_author(rf, now, policy, owner):
    from django.contrib import admin

    policy.author = "Head of Computing"
    policy.save(update_fields=["author"])
    model_admin = admin.site._registry[Policy]
    request = rf.get("/", {"q": "Computing"})
    request.user = owner
    assert "author" in model_admin.get_list_display(request)
    found, _ = model_admin.get_search_results(request, Policy.objects.all(), "Computing")
    assert list(found) == [policy]


# Leaders open the list and their calendar link
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.LEAD, Role.SLT])
def test_the_head_and_slt_open_the_policy_list_and_their_calendar_link(client, now, school, policy, owner, role):
    publish(policy, owner)
    leader = member(school, role)
    client.force_login(leader)
    page = client.get(f"/organisations/{school.slug}/policies/")
    body = page.content.decode()
    assert page.status_code == 200 and "Social Media Policy" in body
    assert f'href="/organisations/{school.slug}/policies/"' in client.get("/").content.decode()  # in the menu
    assert "New policy" not in body and "Import from a file" not in body  # owners write policies
    assert f'href="/policies/{policy.pk}/">Read' in body and f"/policies/{policy.pk}/manage/" not in body
    assert 'href="/policies/calendar/"' in body
    made = client.post("/policies/calendar/new-link/").content.decode()
    feed_url = made.split('id="feed-url" type="text" readonly value="')[1].split('"')[0]
    assert "Review due: Social Media Policy" in client.get(feed_url).content.decode()
    # Seeing the records is not writing them.
    assert client.get(f"/organisations/{school.slug}/policies/new/").status_code == 403
    assert client.get(f"/policies/{policy.pk}/manage/").status_code == 403


def test_a_member_of_staff_does_not_open_the_policy_list(client, now, school, staff):
    client.force_login(staff)
    assert client.get(f"/organisations/{school.slug}/policies/").status_code == 403


# A trust's policy owner keeps managing what they write for a school
# ------------------------------------------------------------------------------


@pytest.fixture
def trust_owner(trust):
    return member(trust, Role.POLICY_OWNER, email="owner@trust.example")


def _write_and_publish(client, policy):
    """Through the pages: manage, edit, draft a version and publish it."""
    assert client.get(f"/policies/{policy.pk}/manage/").status_code == 200
    assert client.get(f"/policies/{policy.pk}/edit/").status_code == 200
    assert client.post(f"/policies/{policy.pk}/versions/new/", version_data()).status_code == 302
    version = PolicyVersion.objects.get(policy=policy)
    response = client.post(f"/policies/versions/{version.pk}/publish/", {"due_date": "2026-03-30"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


def test_a_trust_policy_owner_names_themselves_owner_of_a_school_policy_and_keeps_managing_it(
    client, now, school, trust_owner
):
    client.force_login(trust_owner)
    form = client.get(f"/organisations/{school.slug}/policies/new/").content.decode()
    assert f'<option value="{trust_owner.pk}" selected>' in form  # offered, and chosen by default
    response = client.post(f"/organisations/{school.slug}/policies/new/", policy_data(trust_owner))
    policy = Policy.objects.get(title="Photography Policy")
    assert response.status_code == 302 and policy.organisation == school and policy.owner == trust_owner
    _write_and_publish(client, policy)
    assert f"/policies/{policy.pk}/manage/" in client.get(f"/organisations/{school.slug}/policies/").content.decode()


def test_a_trust_policy_owner_adds_a_schools_addendum_and_keeps_managing_it(client, now, trust, school, trust_owner):
    trust_policy = services.create_policy(
        organisation=trust, actor=trust_owner, title="Trust Policy", owner=trust_owner
    )
    publish(trust_policy, trust_owner)
    school_owner = member(school, Role.SLT)
    client.force_login(trust_owner)
    listed = client.get(f"/organisations/{school.slug}/policies/").content.decode()
    # Both: they manage the trust's policy and may add the school's addendum to it.
    assert f"/policies/{trust_policy.pk}/manage/" in listed and f"?addendum_to={trust_policy.pk}" in listed
    response = client.post(
        f"/organisations/{school.slug}/policies/new/?addendum_to={trust_policy.pk}",
        policy_data(school_owner, title="Trust Policy: Oak addendum"),
    )
    addendum = Policy.objects.get(addendum_to=trust_policy)
    assert response.status_code == 302 and addendum.owner == school_owner  # named another owner...
    _write_and_publish(client, addendum)  # ...and still manages it by their trust role


def test_the_owner_list_offers_no_one_from_another_trust(client, now, school, trust_owner, outside_school):
    stranger = member(outside_school, Role.POLICY_OWNER)
    client.force_login(trust_owner)
    form = client.get(f"/organisations/{school.slug}/policies/new/").content.decode()
    assert f'value="{stranger.pk}"' not in form
    response = client.post(f"/organisations/{school.slug}/policies/new/", policy_data(stranger))
    assert response.status_code == 200 and not Policy.objects.filter(title="Photography Policy").exists()
