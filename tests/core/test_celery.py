import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django_celery_beat.models import PeriodicTask

from accounts.services import invite_person
from core.duties import DUTIES, register_periodic_duties
from core.tasks import clear_expired_sessions
from policyportal.celery import app as celery_app
from tests.factories import member


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_invitation_through_the_broker(school, django_db_blocker):
    admin = member(school)
    # Tasks queued by earlier tests (their databases are gone) must not delay this one.
    celery_app.control.purge()
    with django_db_blocker.unblock(), start_worker(celery_app, perform_ping_check=False, loglevel="WARNING"):
        invite_person(organisation=school, email="new@school.example", first_name="Nia", last_name="Jones", actor=admin)
        assert wait_for(lambda: len(mail.outbox) == 1), f"no email through {settings.CELERY_BROKER_URL}"
    assert mail.outbox[0].to == ["new@school.example"]
    assert "/invitation/" in mail.outbox[0].body


def test_celery_is_configured_for_safe_delivery():
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.django_db
def test_every_duty_is_registered_in_the_beat_schedule_once():
    register_periodic_duties()
    register_periodic_duties()
    celery_app.loader.import_default_modules()  # what a worker does at start-up
    for duty in DUTIES:
        task = PeriodicTask.objects.get(name=duty.name)
        assert task.task == duty.task and task.enabled
        assert duty.task in celery_app.tasks


@pytest.mark.django_db
def test_an_administrators_schedule_change_is_kept(client):
    duty = DUTIES[0]
    task = PeriodicTask.objects.get(name=duty.name)
    task.crontab.hour = "4"
    task.crontab.save()
    register_periodic_duties()
    assert PeriodicTask.objects.get(name=duty.name).crontab.hour == "4"


@pytest.mark.django_db
def test_expired_sessions_are_cleared(client, staff):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(staff)
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(minutes=1))
    assert clear_expired_sessions() == 1
    assert not Session.objects.exists()
