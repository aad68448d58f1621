"""Queue a Celery task after the current transaction commits, without making the broker a
dependency of the request: if it cannot be reached the task is skipped with a warning.

Only for work a periodic duty would do anyway (``core.duties``): messages themselves go
through the outbox (``core.outbox``), which never depends on the broker.
"""

import logging
from importlib import import_module

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)


def publish(task, *args, **kwargs) -> bool:
    """Queue ``task`` (a task, or its registered name) now; False if the broker cannot be reached."""
    if isinstance(task, str):
        if task not in current_app.tasks:  # a web process has not imported its tasks module yet
            import_module(task.rpartition(".")[0])
        task = current_app.tasks[task]
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the periodic duty catches up
        log.warning("Could not queue %s (%s); its periodic duty will do the work", task.name, exc)
        return False
    return True


def publish_after_commit(task, *args, **kwargs) -> None:
    transaction.on_commit(lambda: publish(task, *args, **kwargs))
