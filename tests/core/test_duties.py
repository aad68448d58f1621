"""core.duties on migrate: the code's times reach an existing portal; an administrator's are kept."""

import dataclasses

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core import duties
from core.models import InstalledDuty

pytestmark = pytest.mark.django_db


def _with_time(monkeypatch, name, **times):
    """The code as it would read after someone changed one duty's time."""
    changed = [dataclasses.replace(d, **times) if d.name == name else d for d in duties.DUTIES]
    monkeypatch.setattr(duties, "DUTIES", changed)


def _crontab(name):
    return PeriodicTask.objects.select_related("crontab").get(name=name).crontab


def test_a_changed_time_in_the_code_reaches_an_existing_duty_on_migrate(monkeypatch):
    duty = duties.DUTIES[1]
    assert (_crontab(duty.name).minute, _crontab(duty.name).hour) == (duty.minute, duty.hour)
    _with_time(monkeypatch, duty.name, minute="20", hour="2")
    call_command("migrate", verbosity=0)
    crontab = _crontab(duty.name)
    assert (crontab.minute, crontab.hour) == ("20", "2")
    assert InstalledDuty.objects.get(name=duty.name).schedule.startswith("20 2 ")
    # The other duties, and the crontab row they may share, are as they were.
    other = duties.DUTIES[2]
    assert (_crontab(other.name).minute, _crontab(other.name).hour) == (other.minute, other.hour)


def test_an_administrators_time_is_kept_when_the_code_changes(monkeypatch):
    duty = duties.DUTIES[1]
    task = PeriodicTask.objects.get(name=duty.name)
    task.crontab, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="5", timezone="Europe/London")
    task.save()
    _with_time(monkeypatch, duty.name, minute="20", hour="2")
    duties.register_periodic_duties()
    crontab = _crontab(duty.name)
    assert (crontab.minute, crontab.hour) == ("0", "5")


def test_an_administrators_switch_to_an_interval_is_kept(monkeypatch):
    duty = duties.DUTIES[0]
    task = PeriodicTask.objects.get(name=duty.name)
    task.crontab = None
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.MINUTES)
    task.save()
    _with_time(monkeypatch, duty.name, minute="*/3")
    duties.register_periodic_duties()
    task.refresh_from_db()
    assert task.crontab is None and task.interval.every == 2


def test_a_schedule_installed_before_the_record_is_kept_unless_it_matches(monkeypatch):
    """A portal that predates InstalledDuty: a time that differs from the code may be an administrator's."""
    changed, same = duties.DUTIES[1], duties.DUTIES[2]
    InstalledDuty.objects.all().delete()
    _with_time(monkeypatch, changed.name, minute="20", hour="2")
    duties.register_periodic_duties()
    assert (_crontab(changed.name).minute, _crontab(changed.name).hour) == (changed.minute, changed.hour)
    assert not InstalledDuty.objects.filter(name=changed.name).exists()
    assert InstalledDuty.objects.filter(name=same.name).exists()


def test_a_duty_the_code_no_longer_lists_is_removed(monkeypatch):
    removed = duties.DUTIES[-1]
    PeriodicTask.objects.create(
        name="Set up by an administrator",
        task="core.tasks.clear_expired_sessions",
        interval=IntervalSchedule.objects.create(every=1, period="days"),
    )
    monkeypatch.setattr(duties, "DUTIES", duties.DUTIES[:-1])
    duties.register_periodic_duties()
    assert not PeriodicTask.objects.filter(name=removed.name).exists()
    assert not InstalledDuty.objects.filter(name=removed.name).exists()
    assert PeriodicTask.objects.filter(name="Set up by an administrator").exists()


def test_registering_twice_changes_nothing():
    before = list(PeriodicTask.objects.order_by("name").values_list("name", "crontab_id", "last_run_at"))
    duties.register_periodic_duties()
    duties.register_periodic_duties()
    assert list(PeriodicTask.objects.order_by("name").values_list("name", "crontab_id", "last_run_at")) == before
