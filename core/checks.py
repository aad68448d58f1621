"""System checks for settings whose mistakes would only show later: in a browser, or on the night of a backup."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


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


@register(deploy=True)
def check_direct_database_for_backups(app_configs, **kwargs):
    """Behind PgBouncer (a pooled DATABASE_URL) backup and restore need DATABASE_DIRECT_URL
    (core.backups.direct_settings) and refuse to run without it: say so at deployment, not at the
    first night's backup."""
    if settings.DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS") and not settings.DATABASE_DIRECT:
        return [
            Warning(
                "DATABASE_URL goes through PgBouncer (?pooled=true) and DATABASE_DIRECT_URL is not set: "
                "backup and restore will refuse to run.",
                hint="Set DATABASE_DIRECT_URL to the same database and role, straight to PostgreSQL.",
                id="core.W001",
            )
        ]
    return []
