#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policyportal.settings.base")
    # manage.py is the developer's tool: unless DEBUG is set (a deployment sets it to
    # false), it runs as on a development machine. The web server (wsgi.py) and Celery
    # default to production and need every production setting.
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    from policyportal.startup import load_settings

    load_settings()  # a missing or wrong setting: one line naming it, and exit status 2
    execute_from_command_line(sys.argv)
