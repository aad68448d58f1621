from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from accounts.permissions import access_for

# allauth's own pages (sign-out, re-authentication, authenticator set-up) stay
# reachable, or nobody could enrol.
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/invitation/")


class AccessPolicyMiddleware:
    """Applies the sign-in rules on every request.

    - A person whose memberships have all ended (a leaver) is signed out.
    - Privileged roles get a short idle timeout.
    - Privileged roles in an organisation requiring two-factor sign-in are sent
      to set up an authenticator until they have one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        access = access_for(user)
        if not access.has_access and not user.is_superuser:
            logout(request)
            messages.error(request, "You no longer have access to any organisation in the portal.")
            return redirect("account_login")
        if access.is_privileged:
            request.session.set_expiry(settings.PRIVILEGED_SESSION_IDLE_SECONDS)
        if access.requires_mfa and not request.path.startswith(EXEMPT_PREFIXES) and not is_mfa_enabled(user):
            messages.warning(
                request,
                "Your roles need two-factor sign-in. Set up an authenticator app to continue.",
            )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
