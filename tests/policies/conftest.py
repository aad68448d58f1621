import datetime as dt

import pytest

from accounts.models import Role
from policies import services
from policies.models import Policy
from tests.factories import member

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday in term time


@pytest.fixture
def now(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def owner(school):
    return member(school, Role.POLICY_OWNER, email="owner@school.example")


@pytest.fixture
def policy(school, owner):
    return services.create_policy(
        organisation=school, actor=owner, title="Social Media Policy", owner=owner, is_social_media_policy=True
    )


def draft(policy, actor, label="1", text="# Rules\n\nBe kind online.", **fields):
    return services.create_version(
        policy=policy, actor=actor, text=text, label=label, source_format="markdown", **fields
    )


def publish(policy, actor, label="1", text="# Rules\n\nBe kind online.", due=None, **fields):
    return services.publish_version(version=draft(policy, actor, label, text, **fields), actor=actor, due_date=due)


def fresh(policy) -> Policy:
    return Policy.objects.get(pk=policy.pk)
