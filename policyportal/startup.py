"""Loading the settings for every entry point (manage.py, the web server, Celery).

A setting that is missing or wrong (``ImproperlyConfigured`` from ``settings/base.py``) is
reported as one line naming the variable, and the process exits with status 2: whoever
deploys reads what to set, not a traceback through Django's start-up.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

CONFIGURATION_ERROR_STATUS = 2


def load_settings() -> None:
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading one setting loads them all
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(CONFIGURATION_ERROR_STATUS) from None
