import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Nation, OrganisationKind, Role
from policyportal.celery import app as celery_app
from tests.factories import OrganisationFactory, member


@pytest.fixture(scope="session", autouse=True)
def _require_real_services(django_db_setup, django_db_blocker):
    """The suite runs on PostgreSQL and Redis, always: scripts/test gives it both (a private copy
    of each when DATABASE_URL and REDIS_URL are not set). Without them it fails; nothing skips."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", f"PostgreSQL required (run scripts/test), got {connection.vendor}"
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "Redis broker required (run scripts/test)"
    import redis

    redis.Redis.from_url(settings.REDIS_URL).ping()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache; each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def celery_eager():
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield celery_app
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def trust(db):
    return OrganisationFactory(name="Oak Trust", slug="oak-trust", kind=OrganisationKind.TRUST, parent=None)


@pytest.fixture
def school(trust):
    return OrganisationFactory(name="Oak Primary", slug="oak-primary", parent=trust)


@pytest.fixture
def other_school(trust):
    return OrganisationFactory(name="Ash Academy", slug="ash-academy", parent=trust, nation=Nation.WALES)


@pytest.fixture
def outside_school(db):
    return OrganisationFactory(name="Elm School", slug="elm-school", email_domains="elm.example")


@pytest.fixture
def staff(school):
    return member(school, email="staff@school.example")


@pytest.fixture
def slt(school):
    return member(school, Role.SLT, email="slt@school.example")


@pytest.fixture
def dsl(school):
    return member(school, Role.DSL, email="dsl@school.example")


@pytest.fixture
def school_admin(school):
    return member(school, Role.ADMIN, email="admin@school.example")


@pytest.fixture
def trust_slt(trust):
    return member(trust, Role.SLT, email="trust.slt@school.example")


@pytest.fixture
def outsider(outside_school):
    return member(outside_school, Role.SLT, Role.ADMIN, email="outsider@elm.example")
