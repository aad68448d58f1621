"""The review calendar's private link (issue 10, "secrets rotate"): hashed, replaceable, revocable, expiring.

An unknown, replaced, turned-off or expired token all get the same 404. The feed and
the page that shows the link are never cached. Every VEVENT carries a DTSTAMP (RFC 5545
§3.6.1; issue 14).
"""

import datetime as dt
import hashlib

import pytest
from icalendar import Calendar

from core.models import AuditEntry
from policies import services
from policies.models import CalendarFeed
from tests.factories import member
from tests.policies.conftest import START, publish

pytestmark = pytest.mark.django_db

NO_STORE = "no-store, private"


@pytest.fixture(autouse=True)
def _no_mfa(school, trust):
    for org in (school, trust):
        org.require_mfa = False
        org.save()


@pytest.fixture
def published(now, policy, owner):
    return publish(policy, owner)


def feed(client, token):
    return client.get(f"/policies/calendar/{token}/reviews.ics")


# The link
# ------------------------------------------------------------------------------


def test_a_new_link_opens_the_feed_and_only_its_hash_is_kept(client, published, owner):
    token = services.new_calendar_link(user=owner)
    stored = CalendarFeed.objects.get(user=owner)
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_sha256
    response = feed(client, token)
    assert response.status_code == 200 and "Review due: Social Media Policy" in response.content.decode()
    assert AuditEntry.objects.filter(action="policy.calendar_link_made", actor=owner).count() == 1


def test_a_new_link_stops_the_old_one(client, published, owner):
    old = services.new_calendar_link(user=owner)
    new = services.new_calendar_link(user=owner)
    assert feed(client, old).status_code == 404
    assert feed(client, new).status_code == 200
    assert CalendarFeed.objects.filter(user=owner).count() == 1
    assert AuditEntry.objects.filter(action="policy.calendar_link_replaced", actor=owner).count() == 1


def test_a_turned_off_link_gets_the_same_404_as_a_forged_one(client, published, owner):
    token = services.new_calendar_link(user=owner)
    services.turn_off_calendar_link(user=owner)
    assert feed(client, token).status_code == 404
    assert feed(client, "forged").status_code == 404
    assert AuditEntry.objects.filter(action="policy.calendar_link_turned_off", actor=owner).count() == 1
    with pytest.raises(services.PolicyError, match="no calendar link"):
        services.turn_off_calendar_link(user=owner)


def test_a_link_unused_for_12_months_stops_working(client, published, owner, time_machine):
    token = services.new_calendar_link(user=owner)
    time_machine.move_to(START + dt.timedelta(days=364), tick=False)
    assert feed(client, token).status_code == 200  # used: twelve more months from now
    time_machine.move_to(START + dt.timedelta(days=364 + 364), tick=False)
    assert feed(client, token).status_code == 200
    time_machine.move_to(START + dt.timedelta(days=364 + 364 + 366), tick=False)
    assert feed(client, token).status_code == 404


def test_a_link_never_used_expires_12_months_after_it_was_made(client, published, owner, time_machine):
    token = services.new_calendar_link(user=owner)
    time_machine.move_to(dt.datetime(2027, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    assert feed(client, token).status_code == 404


def test_last_use_is_kept_to_the_hour(client, published, owner, time_machine):
    token = services.new_calendar_link(user=owner)
    feed(client, token)
    assert CalendarFeed.objects.get(user=owner).last_used_at == START
    time_machine.move_to(START + dt.timedelta(minutes=30), tick=False)
    feed(client, token)
    assert CalendarFeed.objects.get(user=owner).last_used_at == START
    time_machine.move_to(START + dt.timedelta(hours=2), tick=False)
    feed(client, token)
    assert CalendarFeed.objects.get(user=owner).last_used_at == START + dt.timedelta(hours=2)


def test_the_link_of_a_deactivated_person_gets_404(client, published, owner):
    token = services.new_calendar_link(user=owner)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert feed(client, token).status_code == 404


# The feed
# ------------------------------------------------------------------------------


def test_every_event_has_a_dtstamp_in_utc(client, now, school, policy, owner):
    second = services.create_policy(organisation=school, actor=owner, title="Online Safety Policy", owner=owner)
    publish(policy, owner)
    publish(second, owner)
    calendar = Calendar.from_ical(feed(client, services.new_calendar_link(user=owner)).content)
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    assert all(event.decoded("dtstamp") == START for event in events)
    assert all(event["dtstamp"].to_ical() == b"20260302T090000Z" for event in events)


def test_the_feed_is_never_cached(client, published, owner):
    response = feed(client, services.new_calendar_link(user=owner))
    assert response["Cache-Control"] == NO_STORE


def test_the_feed_takes_the_same_queries_for_one_policy_or_five(
    client, now, school, policy, owner, django_assert_num_queries
):
    publish(policy, owner)
    token = services.new_calendar_link(user=owner)
    feed(client, token)  # the first fetch records "last used"; later ones within the hour write nothing
    with django_assert_num_queries(4):
        assert feed(client, token).content.count(b"BEGIN:VEVENT") == 1
    for n in range(4):
        more = services.create_policy(organisation=school, actor=owner, title=f"Policy {n}", owner=owner)
        publish(more, owner)
    with django_assert_num_queries(4):
        assert feed(client, token).content.count(b"BEGIN:VEVENT") == 5


# The page
# ------------------------------------------------------------------------------


def test_the_page_offers_a_link_and_shows_it_once(client, published, owner):
    client.force_login(owner)
    page = client.get("/policies/calendar/")
    assert page.status_code == 200 and page["Cache-Control"] == NO_STORE
    assert "Get a calendar link" in page.content.decode()
    made = client.post("/policies/calendar/new-link/")
    assert made.status_code == 200 and made["Cache-Control"] == NO_STORE
    body = made.content.decode()
    shown = body.split('id="feed-url" type="text" readonly value="')[1].split('"')[0]
    assert shown.startswith("http://testserver/policies/calendar/") and shown.endswith("/reviews.ics")
    assert client.get(shown).status_code == 200
    again = client.get("/policies/calendar/").content.decode()
    assert shown not in again and "Get a new link" in again and "Turn off the link" in again


def test_a_new_link_from_the_page_stops_the_old_one(client, published, owner):
    old = services.new_calendar_link(user=owner)
    client.force_login(owner)
    assert client.post("/policies/calendar/new-link/").status_code == 200
    assert feed(client, old).status_code == 404


def test_turning_the_link_off_from_the_page(client, published, owner):
    token = services.new_calendar_link(user=owner)
    client.force_login(owner)
    response = client.post("/policies/calendar/turn-off/", follow=True)
    assert response.redirect_chain == [("/policies/calendar/", 302)]
    assert "Your calendar link is turned off" in response.content.decode()
    assert feed(client, token).status_code == 404
    again = client.post("/policies/calendar/turn-off/", follow=True)
    assert "no calendar link to turn off" in again.content.decode()


def test_the_page_shows_when_the_link_was_made_used_and_stops(client, published, owner, time_machine):
    token = services.new_calendar_link(user=owner)
    client.force_login(owner)
    assert "Not yet" in client.get("/policies/calendar/").content.decode()
    feed(client, token)
    page = client.get("/policies/calendar/").content.decode()
    assert "2 March 2026, 09:00" in page and "2 March 2027" in page
    time_machine.move_to(dt.datetime(2027, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(owner)
    assert "Expired" in client.get("/policies/calendar/").content.decode()


def test_the_link_actions_need_post(client, published, owner):
    client.force_login(owner)
    assert client.get("/policies/calendar/new-link/").status_code == 405
    assert client.get("/policies/calendar/turn-off/").status_code == 405
    assert not CalendarFeed.objects.exists()


def test_the_page_and_actions_need_sign_in(client, published):
    for response in (
        client.get("/policies/calendar/"),
        client.post("/policies/calendar/new-link/"),
        client.post("/policies/calendar/turn-off/"),
    ):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not CalendarFeed.objects.exists()


def test_one_persons_actions_touch_only_their_own_link(client, published, owner, school):
    someone = member(school)
    theirs = services.new_calendar_link(user=owner)
    client.force_login(someone)
    client.post("/policies/calendar/new-link/")
    client.post("/policies/calendar/turn-off/")
    assert feed(client, theirs).status_code == 200


# RFC 5545 itself, on the bytes sent: the parser above is lenient, calendar apps are not all so.
LONG_TITLE = (
    "Polisi Cyfryngau Cymdeithasol a Diogelwch Ar-lein — canllawiau i staff, gwirfoddolwyr a llywodraethwyr (ŵ ŷ)"
)


def test_the_feed_is_valid_icalendar_crlf_lines_folded_at_75_octets(client, now, school, owner):
    long = services.create_policy(organisation=school, actor=owner, title=LONG_TITLE, owner=owner)
    publish(long, owner)
    body = feed(client, services.new_calendar_link(user=owner)).content
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")  # §3.1: every line ends CRLF
    lines = body.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75  # §3.1: at most 75 octets, CRLF excluded
    assert any(line.startswith(b" ") for line in lines), "the long title should have been folded"
    for line in lines:
        line.decode("utf-8")  # §3.1: a fold never splits a multi-octet character
    unfolded = body.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode()
    assert f"SUMMARY:Review due: {LONG_TITLE} ({school.name})" in unfolded.replace("\\,", ",")
    content = unfolded.split("\r\n")
    assert content[0] == "BEGIN:VCALENDAR" and content[-2] == "END:VCALENDAR"
    assert "VERSION:2.0" in content and any(line.startswith("PRODID:") for line in content)
    events = unfolded.split("BEGIN:VEVENT\r\n")[1:]
    assert len(events) == 1
    for event in events:
        names = {line.split(":", 1)[0].split(";", 1)[0] for line in event.split("\r\n") if line}
        assert {"UID", "DTSTAMP", "DTSTART"} <= names  # §3.6.1: UID and DTSTAMP are required


def test_each_event_keeps_its_uid_from_one_fetch_to_the_next(client, now, school, policy, owner, time_machine):
    second = services.create_policy(organisation=school, actor=owner, title="Online Safety Policy", owner=owner)
    publish(policy, owner)
    publish(second, owner)
    token = services.new_calendar_link(user=owner)

    def uids_and_stamps():
        events = Calendar.from_ical(feed(client, token).content).walk("VEVENT")
        return [str(event["uid"]) for event in events], {event.decoded("dtstamp") for event in events}

    first, first_stamps = uids_and_stamps()
    time_machine.move_to(START + dt.timedelta(hours=5), tick=False)
    later, later_stamps = uids_and_stamps()
    # §3.8.4.7: the UID is the event's persistent identity; DTSTAMP says when this copy was made.
    assert sorted(first) == sorted(later) and len(set(first)) == 2
    assert first_stamps == {START} and later_stamps == {START + dt.timedelta(hours=5)}
