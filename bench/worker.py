"""The Celery app of the benchmark's sweep: the portal's own, with counters.

``celery -A bench.worker worker`` runs the portal's tasks as production does; after
every task each worker process writes what it has done so far (tasks, queries,
emails, peak memory, and how many tasks the daily duty queued) to
``$BENCH_SWEEP_DIR/<pid>.json``, which ``probe.py sweep`` adds up.
"""

import json
import os
import resource
from pathlib import Path

from celery.signals import task_postrun, worker_process_init, worker_ready

from policyportal.celery import app  # noqa: F401 - the app this module serves

DUTY = "policies.tasks.send_acknowledgement_reminders"
STATS_DIR = Path(os.environ.get("BENCH_SWEEP_DIR", "bench/var/sweep"))
BATCHES = {"policies.tasks.remind_people", "policies.tasks.tell_managers"}
DISPATCHER = "core.tasks.dispatch_outbox"
_stats = {"tasks": 0, "duties": 0, "queued": 0, "batches": 0, "dispatches": 0, "queries": 0, "digests": 0}


@worker_ready.connect
def _ready(**kwargs):
    STATS_DIR.mkdir(parents=True, exist_ok=True)
    (STATS_DIR / "ready").write_text(str(os.getpid()))


@worker_process_init.connect
def _count_queries(**kwargs):
    from django.db import connection

    def counter(execute, sql, params, many, context):
        _stats["queries"] += 1
        return execute(sql, params, many, context)

    connection.execute_wrappers.append(counter)


@task_postrun.connect
def _record(task=None, retval=None, state=None, **kwargs):
    from bench.mail import CountingBackend

    _stats["tasks"] += 1
    if task.name == DUTY and isinstance(retval, dict):
        _stats["duties"] += 1
        _stats["queued"] += retval.get("people_batches", 0) + retval.get("manager_batches", 0)
    elif task.name in BATCHES and isinstance(retval, int):
        _stats["batches"] += 1
        _stats["digests"] += retval
    elif task.name == DISPATCHER:
        _stats["dispatches"] += 1
    figures = {
        **_stats,
        "emails": CountingBackend.sent,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2),
        "failed": _stats.get("failed", 0) + (state != "SUCCESS"),
    }
    _stats["failed"] = figures["failed"]
    path = STATS_DIR / f"{os.getpid()}.json"
    path.with_suffix(".tmp").write_text(json.dumps(figures))
    path.with_suffix(".tmp").replace(path)
