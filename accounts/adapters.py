"""django-allauth adapters: no public sign-up, and social sign-in only for known staff."""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.shortcuts import redirect

from accounts.models import User
from accounts.permissions import access_for
from core.emails import absolute_url
from core.middleware import client_ip


def _on_site(url: str) -> str:
    """An absolute link allauth made from the request, at the portal's own address instead."""
    parts = urlsplit(url)
    return absolute_url(parts.path + (f"?{parts.query}" if parts.query else ""))


class AccountAdapter(DefaultAccountAdapter):
    # Says what went wrong and what to do next (GOV.UK error messages); "not correct" stays, as before.
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": "The email address or password is not correct. Check both and try again, "
        "or choose “Forgotten your password?” to set a new one.",
    }

    def is_open_for_signup(self, request):
        """Staff are invited or imported by their organisation; nobody signs themselves up."""
        return False

    def _get_login_attempts_cache_key(self, request, **credentials):
        """The key allauth counts failed sign-ins for one address under: the address alone.

        allauth's own key begins with the request's host when the sites framework is not installed,
        Host header and port included, and Django accepts any port on an allowed host: each
        "portal.example.org:N" would start a fresh count of five, and a guesser could try passwords
        for one person without limit; two web nodes reached at different addresses would count
        apart. One count per address, whatever node or host name the request came by."""
        return "login:" + credentials.get("email", credentials.get("username", "")).strip().lower()

    def get_client_ip(self, request):
        """The address sign-in rate limits count by: the same one the audit trail records, trusting
        X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies (a short header falls back to the
        peer's address instead of failing)."""
        return client_ip(request) or "unknown"

    def get_reset_password_from_key_url(self, key):
        """The link in a password reset email: at ``SITE_URL``, like every other email's links."""
        return _on_site(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request, emailconfirmation):
        return _on_site(super().get_email_confirmation_url(request, emailconfirmation))

    def pre_login(self, request, user, **kwargs):
        if not user.is_superuser and not access_for(user).has_access:
            messages.error(
                request,
                "Your account has no current membership of an organisation, so you cannot sign in. "
                "If you think this is wrong, ask your organisation's administrator.",
            )
            raise ImmediateHttpResponse(redirect("account_login"))
        return super().pre_login(request, user, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        """Connect a first Microsoft or Google sign-in to the staff record with the same verified address.

        Google says whether it verified an address. Microsoft does not: its addresses
        count only because the portal accepts a single tenant, the school's own
        (MICROSOFT_TENANT), whose administrators issue them (settings, "verified_email").
        """
        if sociallogin.is_existing:
            return
        verified = [
            address.email.lower()
            for address in sociallogin.email_addresses
            if address.verified or self.is_email_verified(sociallogin.provider, address.email)
        ]
        user = User.objects.filter(email__in=verified, is_active=True).first() if verified else None
        if user is None:
            messages.error(
                request,
                "There is no staff account for that Microsoft or Google address. "
                "Ask your organisation's administrator to add you.",
            )
            raise ImmediateHttpResponse(redirect("account_login"))
        sociallogin.connect(request, user)
