"""Links that work (issue 14): every link an email carries is at ``SITE_URL``, the address the
portal is served at, whatever address the code or a test client used (``core.emails.absolute_url``)."""

import re

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import Role
from accounts.services import invite_person
from policies import reminders, services
from tests.factories import member
from tests.incidents.conftest import report
from tests.mailbox import deliver, inbox
from tests.policies.conftest import publish

pytestmark = pytest.mark.django_db

SITE = "https://portal.northfield.example"


def links(message) -> list[str]:
    """Every absolute link in the message's text and HTML parts."""
    html = "".join(content for content, kind in message.alternatives if kind == "text/html")
    return re.findall(r"https?://[^\s\"'<>]+", message.body) + re.findall(r'href="([^"]+)"', html)


def assert_all_at_site(message, *expected_paths):
    found = links(message)
    assert found, f"no link in {message.subject!r}"
    assert all(link.startswith(SITE + "/") for link in found), found
    for path in expected_paths:
        assert f"{SITE}{path}" in found, (path, found)


@override_settings(SITE_URL=SITE)
def test_the_publication_email_links_to_the_site_url(now, school, policy, owner):
    teacher = member(school, email="teacher@school.example")
    publish(policy, owner)
    reminders.send_acknowledgement_reminders()
    (message,) = inbox(teacher.email)
    assert_all_at_site(message, f"/policies/{policy.pk}/", "/policies/")


@override_settings(SITE_URL=SITE)
def test_an_incident_alert_links_to_the_site_url(now, celery_eager, django_capture_on_commit_callbacks, school, staff):
    dsl = member(school, Role.DSL, email="dsl@school.example")
    with django_capture_on_commit_callbacks(execute=True):
        incident = report(school, staff)
    (message,) = inbox(dsl.email)
    assert_all_at_site(message, f"/incidents/{incident.pk}/")


def test_links_follow_a_changed_site_url(now, school, policy, owner):
    teacher = member(school, email="teacher@school.example")
    publish(policy, owner)
    with override_settings(SITE_URL="http://192.0.2.10:8080"):
        reminders.send_acknowledgement_reminders()
        (message,) = inbox(teacher.email)
    assert all(link.startswith("http://192.0.2.10:8080/") for link in links(message)), links(message)


@override_settings(SITE_URL=SITE)
def test_an_invitation_links_to_the_site_url(
    now, celery_eager, django_capture_on_commit_callbacks, school, school_admin
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_person(
            organisation=school, email="new@school.example", first_name="Nia", last_name="Jones", actor=school_admin
        )
    (message,) = inbox("new@school.example")
    assert any("/invitation/" in link for link in links(message))
    assert_all_at_site(message)


@override_settings(SITE_URL=SITE)
def test_a_password_reset_links_to_the_site_url_not_the_address_asked_on(client, staff):
    # The test client asks on http://testserver; the link must not follow the request's host.
    client.post("/accounts/password/reset/", {"email": staff.email})
    deliver()
    (message,) = [m for m in mail.outbox if staff.email in m.to]
    assert any("/accounts/password/reset/key/" in link for link in links(message)), links(message)
    assert_all_at_site(message)


@override_settings(SITE_URL=SITE)
def test_the_publication_email_says_what_changed_and_links_to_the_changes(client, now, school, policy, owner):
    teacher = member(school, email="teacher@school.example")
    first = publish(policy, owner)
    services.acknowledge(user=teacher, version=first)
    summary = "A new paragraph on using AI tools to draft posts for official accounts."
    publish(policy, owner, label="2", text="# Rules\n\nBe kind online.\n\nCheck AI drafts.", summary_of_changes=summary)
    reminders.send_acknowledgement_reminders()
    (message,) = inbox(teacher.email)
    assert f"What changed: {summary}" in message.body
    html = message.alternatives[0][0]
    assert f"What changed: {summary}" in html
    changes = f"{SITE}/policies/{policy.pk}/#changes"
    assert f"See what changed: {changes}" in message.body and f'href="{changes}"' in html
    assert_all_at_site(message)
    # The link opens the changes since the version the person acknowledged.
    client.force_login(teacher)
    page = client.get(f"/policies/{policy.pk}/").content.decode()
    assert 'id="changes"' in page and summary in page and "Check AI drafts." in page


def test_a_version_without_a_summary_has_no_what_changed_line(now, school, policy, owner):
    teacher = member(school, email="teacher@school.example")
    publish(policy, owner)
    reminders.send_acknowledgement_reminders()
    (message,) = inbox(teacher.email)
    assert "What changed" not in message.body and "#changes" not in message.body
