"""The Celery app, configured from Django settings (the ``CELERY_`` names)."""

import os

from celery import Celery

from policyportal.startup import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policyportal.settings.base")
load_settings()  # a missing or wrong setting: one line naming it, and exit status 2

app = Celery("policyportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
