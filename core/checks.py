"""System checks for settings whose mistakes would only show in a browser."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_host_cookies(app_configs, **kwargs):
    """A ``__Host-`` cookie is dropped by browsers unless Secure, with Path=/ and no Domain.

    Nobody could sign in, and with no error on the server, so say it at start-up.
    """
    errors = []
    for kind in ("SESSION", "CSRF"):
        name = getattr(settings, f"{kind}_COOKIE_NAME")
        if not name.startswith("__Host-"):
            continue
        wrong = []
        if not getattr(settings, f"{kind}_COOKIE_SECURE"):
            wrong.append(f"{kind}_COOKIE_SECURE is off")
        if getattr(settings, f"{kind}_COOKIE_PATH") != "/":
            wrong.append(f"{kind}_COOKIE_PATH is not '/'")
        if getattr(settings, f"{kind}_COOKIE_DOMAIN"):
            wrong.append(f"{kind}_COOKIE_DOMAIN is set")
        if wrong:
            errors.append(
                Error(
                    f"Browsers refuse the cookie {name!r}: {', '.join(wrong)}.",
                    hint="A __Host- cookie must be Secure, with Path=/ and no Domain.",
                    id="core.E001",
                )
            )
    return errors
