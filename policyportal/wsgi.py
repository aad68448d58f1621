import os

from django.core.wsgi import get_wsgi_application

from policyportal.startup import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policyportal.settings.base")
load_settings()  # a missing or wrong setting: one line naming it, and exit status 2
application = get_wsgi_application()
