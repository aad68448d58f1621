import time

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse

from accounts.permissions import access_for

# allauth's own pages (sign-out, re-authentication, authenticator set-up) stay
# reachable, or nobody could enrol.
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/invitation/")
SIGNED_IN_AT = "portal_signed_in_at"


@receiver(user_logged_in, dispatch_uid="accounts.signed_in_at")
def _note_sign_in(sender, request, user, **kwargs):
    """Every sign-in (allauth's, and so the Django admin's) starts the absolute session clock."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = int(time.time())


class AccessPolicyMiddleware:
    """Applies the sign-in rules on every request.

    - A person whose memberships have all ended (a leaver) is signed out, and the request
      carries on as an anonymous one.
    - Privileged people (roles, Django admin users, holders of official accounts'
      sign-in details) get a short idle timeout and an absolute lifetime.
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
            # Signed out, the request goes on as anyone's would: pages for signed-in people send
            # them to sign in, and pages for everyone (the public report form, an invitation,
            # a calendar feed) still answer.
            logout(request)
            messages.error(request, "You no longer have access to any organisation in the portal.")
            return self.get_response(request)
        if access.is_privileged:
            started = request.session.setdefault(SIGNED_IN_AT, int(time.time()))
            if time.time() - started > settings.PRIVILEGED_SESSION_MAX_SECONDS:
                logout(request)
                messages.info(request, "For safety, sessions with your roles last a working day. Please sign in again.")
                return redirect_to_login(request.get_full_path())
            request.session.set_expiry(settings.PRIVILEGED_SESSION_IDLE_SECONDS)
        if access.requires_mfa and not request.path.startswith(EXEMPT_PREFIXES) and not is_mfa_enabled(user):
            messages.warning(
                request,
                "Your roles need two-factor sign-in. Set up an authenticator app to continue.",
            )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
