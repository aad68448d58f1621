"""The demo data tells a story whose times fit (seed_demo): each case is triaged after it was reported and its
chronology follows, and it shows a case with a support plan in progress (002 App. 1) and a takedown awaiting
the platform (004 §4.1)."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from incidents import services
from incidents.models import ActionKind, Category, Incident, Status, Takedown, TaskStatus
from incidents.services import IncidentError
from tests.incidents.conftest import report

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())
    return Incident.objects.filter(organisation__slug="northfield-primary")


def test_each_demo_triage_is_recorded_when_the_story_says_not_when_the_seed_ran(demo):
    started = timezone.now()
    triaged = demo.filter(triaged_at__isnull=False)
    assert triaged.count() >= 4
    for incident in triaged:
        entry = incident.actions.get(kind=ActionKind.TRIAGE)
        assert entry.happened_at == incident.triaged_at, incident.reference
        assert incident.reported_at < incident.triaged_at < started - dt.timedelta(hours=30), incident.reference
        assert incident.triaged_at <= incident.triage_due_at, incident.reference  # the demo triages in time
        # Nothing the story tells happened before the report or before the triage it follows.
        for action in incident.actions.exclude(kind=ActionKind.TRIAGE):
            assert action.happened_at >= incident.triaged_at, (incident.reference, action.kind)
    referred = demo.get(category=Category.PUPIL_CONTACT)
    assert referred.triaged_at < referred.lado_referred_at <= referred.lado_due_at


def test_the_demo_shows_a_support_plan_in_progress_and_a_takedown_awaiting_the_platform(demo):
    abuse = demo.get(category=Category.ABUSE_OF_STAFF)
    statuses = set(abuse.tasks.values_list("status", flat=True))
    assert abuse.status == Status.IN_PROGRESS
    assert {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.NOT_NEEDED} <= statuses
    takedown = Takedown.objects.select_related("follow_up", "incident").get(incident__in=demo)
    assert takedown.removed_at is None and takedown.follow_up.is_open
    assert takedown.follow_up.due_at == takedown.reported_at + dt.timedelta(hours=48)
    assert takedown.incident.is_open


def test_a_triage_time_outside_the_report_and_now_is_refused_and_changes_nothing(now, school, staff, dsl):
    incident = report(school, staff)
    for at in (timezone.now() + dt.timedelta(minutes=5), incident.reported_at - dt.timedelta(minutes=1)):
        with pytest.raises(IncidentError, match="between the report"):
            services.triage(
                incident=incident,
                actor=dsl,
                severity="low",
                is_safeguarding=False,
                assignee=dsl,
                first_assessment="Looked at.",
                at=at,
            )
    incident.refresh_from_db()
    assert incident.status == Status.NEW and not incident.actions.filter(kind=ActionKind.TRIAGE).exists()
