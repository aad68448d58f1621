"""Strict readers for settings taken from the environment.

A misspelt or malformed value stops the process at start-up with a message that
names the variable, rather than silently falling back to a default (after
healthchecks' ``envbool``).
"""

import os
from urllib.parse import parse_qsl, urlencode, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


# The transaction-mode pooler in front of PostgreSQL (PgBouncer): DATABASE_URL's own query option.
POOLED_OPTION = "pooled"


def env_database(name: str, default: str | None = None, *, conn_max_age: int = 0, allow_pooled: bool = True):
    """A database URL from the environment as a Django DATABASES entry, or None if unset.

    ``?pooled=true`` says the address is a pooler in transaction mode (PgBouncer's
    ``pool_mode = transaction``): each transaction may run on a different server connection, so
    nothing may outlive one. Django's server-side cursors do (``.iterator()`` declares a WITH HOLD
    cursor in one transaction and fetches from it in the next), so they are switched off for it
    (Django's docs, "Transaction pooling and server-side cursors"). The option is the portal's,
    not libpq's: it is taken out before the rest of the URL reaches the driver.
    """
    url = env_str(name, default)
    if url is None:
        return None
    parts = urlsplit(url)
    options = parse_qsl(parts.query, keep_blank_values=True)
    given = [value for key, value in options if key == POOLED_OPTION]
    pooled = False
    if given:
        lowered = given[-1].strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ImproperlyConfigured(
                f"{name}: pooled={given[-1]!r} is not a boolean: use pooled=true or pooled=false."
            )
        pooled = lowered in _TRUE
        if pooled and not allow_pooled:
            raise ImproperlyConfigured(f"{name} must reach PostgreSQL directly: remove ?pooled=true.")
        rest = urlencode([(key, value) for key, value in options if key != POOLED_OPTION])
        url = url.partition("?")[0] + (f"?{rest}" if rest else "")
    try:
        database = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} cannot be read as a database URL: {exc}") from None
    if pooled:
        if database["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(f"{name}: pooled=true is for PostgreSQL behind PgBouncer only.")
        if "options" in database.get("OPTIONS", {}):
            # Settings for the whole session: PgBouncer refuses the connection ("unsupported startup
            # parameter: options", 1.18), as they would be a shared server connection's.
            raise ImproperlyConfigured(
                f"{name}: PgBouncer refuses options=...; set them on the role instead (ALTER ROLE ... SET)."
            )
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    return dict(database)
