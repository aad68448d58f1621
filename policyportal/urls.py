from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from accounts.views import SignInAddressView
from core.health import HealthView, beat_checks, full_checks, live_checks
from portal.views import accessibility, home

# The Django admin signs in through allauth too: rate limits and two-factor apply.
admin.site.login = login_required(admin.site.login)
admin.site.site_header = "Policy Portal administration"

urlpatterns = [
    # Anyone gets the status; the report of each check needs HEALTH_CHECK_TOKEN (core.health).
    path("health/", HealthView.as_view(checks=full_checks()), name="health"),
    path("health/live/", HealthView.as_view(checks=live_checks(), details=False), name="health-live"),
    path("health/beat/", HealthView.as_view(checks=beat_checks(), details=False), name="health-beat"),
    path("", home, name="home"),
    path("accessibility/", accessibility, name="accessibility"),
    path("accounts/email/", SignInAddressView.as_view(), name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("policies.urls")),
    path("", include("approvals.urls")),
    path("", include("incidents.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]
if settings.PORTAL_BENCH:
    # The benchmark's bare pages (bench/README.md); never on in a deployment.
    urlpatterns.append(path("bench/", include("bench.urls")))
