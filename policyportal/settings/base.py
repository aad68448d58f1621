"""Settings for every environment, read from the environment.

Nothing here exists only in production: the same file runs the first look
(SQLite and an embedded broker under ``var/``), the test suite and a deployment
(PostgreSQL, Redis, gunicorn), with the differences coming from environment
variables parsed strictly by ``policyportal.env``.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from policyportal.env import env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)


def _key(name: str, value: str | None, min_length: int = 1) -> str:
    """A secret a deployment must set (``value``, read from ``name``); a development machine
    gets one kept in var/."""
    if value:
        if len(value) < min_length:
            raise ImproperlyConfigured(f"{name} must be at least {min_length} characters long.")
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    key_file = VAR_DIR / name.lower()
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _key("SECRET_KEY", env_str("SECRET_KEY"))
# A deployment names its hosts and its address (used in email links); development has defaults.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else None)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (e.g. portal.example.org).")
SITE_URL = env_str("SITE_URL", "http://localhost:8000" if DEBUG else None, required=not DEBUG).rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_ID = 1

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

ROOT_URLCONF = "policyportal.urls"
WSGI_APPLICATION = "policyportal.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
# DATABASE_URL may end in ?pooled=true: PgBouncer in transaction mode, with Django's server-side
# cursors off (policyportal.env.env_database; README, "Behind PgBouncer").
DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
# What needs a session of its own, never a pooled one: backup and restore (pg_dump and pg_restore
# set session settings, and the backup shares an exported snapshot with pg_dump), core.backups.
# Used only while DATABASE_URL is pooled; unset then, backup and restore refuse to run.
DATABASE_DIRECT = env_database("DATABASE_DIRECT_URL", allow_pooled=False)
if DATABASE_DIRECT and DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]:
    if DATABASE_DIRECT["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_DIRECT_URL must be the same database as DATABASE_URL, without the pooler.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file in the first look.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# PostgreSQL: the web server, worker and beat connect as DATABASE_URL's role, which owns no
# table; migrations run as the owner (docker-compose.yml: DATABASE_URL=$DATABASE_OWNER_URL).
# After each migrate, core.db grants the role named here rows but never tables (README, Deploy).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE")

# APPS
# ------------------------------------------------------------------------------
SOCIAL_PROVIDERS = {
    "microsoft": {
        "client_id": env_str("MICROSOFT_CLIENT_ID"),
        "secret": env_str("MICROSOFT_CLIENT_SECRET"),
        # One tenant only, the organisation's own: its addresses are trusted as verified.
        "settings": {"tenant": env_str("MICROSOFT_TENANT", ""), "verified_email": True},
    },
    "google": {
        "client_id": env_str("GOOGLE_CLIENT_ID"),
        "secret": env_str("GOOGLE_CLIENT_SECRET"),
        "settings": {},
    },
}
for _name, _app in SOCIAL_PROVIDERS.items():
    if bool(_app["client_id"]) != bool(_app["secret"]):
        raise ImproperlyConfigured(f"Set both {_name.upper()}_CLIENT_ID and {_name.upper()}_CLIENT_SECRET, or neither.")
ENABLED_SOCIAL_PROVIDERS = [name for name, app in SOCIAL_PROVIDERS.items() if app["client_id"]]
if "microsoft" in ENABLED_SOCIAL_PROVIDERS and SOCIAL_PROVIDERS["microsoft"]["settings"]["tenant"].lower() in (
    "",
    "common",
    "organizations",
    "consumers",
):
    raise ImproperlyConfigured(
        "Set MICROSOFT_TENANT to your organisation's tenant ID: any other tenant could issue a staff member's address."
    )

INSTALLED_APPS = [
    "core.apps.PortalAdminConfig",  # django.contrib.admin, on a site that audits every change
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    *[f"allauth.socialaccount.providers.{name}" for name in ENABLED_SOCIAL_PROVIDERS],
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "health_check",
    "pgtrigger",  # triggers declared on the models' Meta.triggers; their SQL is frozen in migrations
    "core",
    "accounts",
    "policies",
    "approvals",
    "incidents",
    "portal",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# An address is a person's identity only once verified (DESIGN.md "Who uses it"): nobody signs in
# on, or changes to, an address they have not confirmed; a new address replaces the old one only
# once confirmed (ACCOUNT_CHANGE_EMAIL), and accounts.adapters refuses addresses already in use.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_FORMS = {
    "add_email": "accounts.forms.AddEmailForm",
    "login": "accounts.forms.LoginForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
}
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
}
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS = {
    name: {"APPS": [{"client_id": app["client_id"], "secret": app["secret"], "settings": app["settings"]}]}
    for name, app in SOCIAL_PROVIDERS.items()
    if app["client_id"]
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Policy Portal"

# Idle expiry: privileged roles get PRIVILEGED_SESSION_IDLE_SECONDS (accounts.middleware).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60, minimum=300)
PRIVILEGED_SESSION_IDLE_SECONDS = env_int("PRIVILEGED_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# However active, a privileged session ends this long after sign-in (a school's working day).
PRIVILEGED_SESSION_MAX_SECONDS = env_int("PRIVILEGED_SESSION_MAX_SECONDS", 8 * 60 * 60, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise: static files stay cacheable; everything personal is no-store.
    "core.middleware.PrivatePagesMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.BadInputMiddleware",  # before CsrfViewMiddleware: its view hook reads the form first
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Knows who is asking, and runs before CsrfViewMiddleware's view hook reads a form.
    "core.middleware.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.AuditContextMiddleware",
    "accounts.middleware.AccessPolicyMiddleware",
]

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.access",
            ],
        },
    }
]
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# STATIC AND UPLOADED FILES
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Collected files (STATIC_MANIFEST; scripts/run turns it on too): names with a hash of their
# content, gzip copies beside them, whitenoise serving them compressed with a ten-year
# Cache-Control. Off (DEBUG alone), files come from their folders, uncompressed, re-read per request.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "core.staticfiles.ManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded files (evidence, policy documents, training certificates) are private: never served
# as /media/, only streamed through the views that check who may see them.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
# PRIVATE_STORAGE=s3 keeps them in an S3-compatible bucket instead (django-storages), so that
# every web node serves what any other stored. The bucket stays private: no ACL is sent (the
# bucket's own, private, applies), a URL would be a signed one (the views never give one out),
# names are never reused (file_overwrite off) and stay as unguessable as on disk.
PRIVATE_STORAGE = env_str("PRIVATE_STORAGE", "local").strip().lower()
if PRIVATE_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET", required=True),
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,  # unset: AWS itself
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID", required=True),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", required=True),
            "location": env_str("S3_PREFIX", "").strip("/"),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "file_overwrite": False,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
        },
    }
elif PRIVATE_STORAGE != "local":
    raise ImproperlyConfigured(f"PRIVATE_STORAGE={PRIVATE_STORAGE!r} must be local or s3.")
# With the manifest, whitenoise serves only what collectstatic put in STATIC_ROOT, read once at start.
WHITENOISE_USE_FINDERS = DEBUG and not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG and not STATIC_MANIFEST
# The largest request body (core.middleware.RequestBodyLimitMiddleware; set the proxy's limit,
# e.g. nginx client_max_body_size, to match). Anonymous senders (the public report form, at
# most about 50 KB of text; sign-in; the intake) get 1 MB: below FILE_UPLOAD_MAX_MEMORY_SIZE,
# so nothing they send reaches the disk. Signed-in people get room for the largest upload:
# a report's evidence, up to 10 files of 10 MB each.
ANONYMOUS_MAX_BODY_BYTES = env_int("ANONYMOUS_MAX_BODY_BYTES", 1024 * 1024, minimum=64 * 1024)
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 110 * 1024 * 1024, minimum=ANONYMOUS_MAX_BODY_BYTES)
# Views marked ``core.middleware.takes_anonymous_uploads`` (the public report form, with up to three
# screenshots) take a larger anonymous body: 10 MB of files and the form. Such bodies, larger than
# ANONYMOUS_MAX_BODY_BYTES, are counted per address before any is read: past
# ANONYMOUS_UPLOADS_PER_HOUR in an hour the rest are refused unread.
ANONYMOUS_UPLOAD_MAX_BODY_BYTES = env_int(
    "ANONYMOUS_UPLOAD_MAX_BODY_BYTES", 11 * 1024 * 1024, minimum=ANONYMOUS_MAX_BODY_BYTES
)
ANONYMOUS_UPLOADS_PER_HOUR = env_int("ANONYMOUS_UPLOADS_PER_HOUR", 10, minimum=1)
# Form fields other than files: a 200,000-character policy text, percent-encoded, fits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440
# Uploaded files up to this size stay in memory; larger ones go to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2621440

# CACHE, BROKER AND CELERY
# ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Redis is a helper, never a condition of a page working (README, "When Redis is down"). Each
# cache or broker call waits at most REDIS_TIMEOUT_MS to connect and as long for each reply;
# then the cache counts in each process's memory for REDIS_RETRY_SECONDS before trying Redis
# again (core.cache), and a task that cannot be published fails at once for its caller to handle.
REDIS_TIMEOUT_MS = env_int("REDIS_TIMEOUT_MS", 500, minimum=50)
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 10, minimum=1)
# A publish tries once more, straight away (a dropped connection), then raises: after two or three
# REDIS_TIMEOUT_MS with Redis frozen, a few milliseconds with it stopped (by default Celery tries
# four times, and kombu a process's first connection for over 4 s).
_PUBLISH_RETRIES = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis:// or rediss://.")
    # The cache gets the next database number: clearing the cache must never drop queued tasks.
    _redis = urlsplit(REDIS_URL)
    _broker_db = int(_redis.path.strip("/") or 0)
    if _broker_db >= 15:  # Redis has databases 0-15 unless configured otherwise; the cache needs the next one
        raise ImproperlyConfigured(f"REDIS_URL names database {_broker_db}: use 0-14, the cache takes the next number.")
    _redis_timeouts = {"socket_connect_timeout": REDIS_TIMEOUT_MS / 1000, "socket_timeout": REDIS_TIMEOUT_MS / 1000}
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": urlunsplit(_redis._replace(path=f"/{_broker_db + 1}")),
            "RETRY_AFTER": REDIS_RETRY_SECONDS,
            "OPTIONS": _redis_timeouts,
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # The timeouts bound publishing and acknowledging, not idling: the worker's long waits for
    # tasks (BRPOP) run in its event loop, where socket_timeout does not apply. The retry keys
    # bound a process's first connection (a web worker's first publish; kombu's default retries
    # for 4 s and more); a worker that lost its connection reconnects by
    # CELERY_BROKER_CONNECTION_MAX_RETRIES instead.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, **_redis_timeouts, **_PUBLISH_RETRIES}
else:
    # The first look runs without Redis: a cache and a broker kept in folders under var/.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    }
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 10 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 9 * 60, minimum=5)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = _PUBLISH_RETRIES
# The worker and beat wait out an outage of any length and carry on by themselves (Celery's
# default gives up after 100 attempts, about 45 minutes).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# EMAIL
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Policy Portal <no-reply@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# SECURITY
# ------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Browsers accept a __Host- cookie only from HTTPS, with Path=/ and no Domain, so no other site
# under the same domain can set or overwrite it (core.checks holds the paths and domains to
# that). A development machine over plain HTTP keeps the plain names.
SESSION_COOKIE_NAME = "__Host-sessionid" if SESSION_COOKIE_SECURE else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if CSRF_COOKIE_SECURE else "csrftoken"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies in front of the app add to X-Forwarded-For (for the audit trail's IP).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# allauth counts failed sign-ins per client address: the same proxies, or every client behind
# the proxy would share one count and one lockout.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Features the portal never uses, denied to every page (core.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "script-src": [SELF],
        "style-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, *(["https:"] if ENABLED_SOCIAL_PROVIDERS else [])],
        "frame-ancestors": [NONE],
    }
}

# HEALTH CHECKS
# ------------------------------------------------------------------------------
# /health/live/ (docker's healthcheck of the web server), /health/ (everything, for monitoring)
# and /health/beat/ answer anyone with their status alone; the report of each check needs
# "Authorization: Bearer HEALTH_CHECK_TOKEN" (core.health; README, "Operate: health and errors").
HEALTH_CHECK_TOKEN = env_str("HEALTH_CHECK_TOKEN")
if HEALTH_CHECK_TOKEN and len(HEALTH_CHECK_TOKEN) < 32:
    raise ImproperlyConfigured("HEALTH_CHECK_TOKEN must be at least 32 characters long.")
# /health/ fails once the oldest email not yet sent has waited this long.
OUTBOX_MAX_AGE_SECONDS = env_int("OUTBOX_MAX_AGE_SECONDS", 15 * 60, minimum=60)
# A sent email's bodies (names, policy titles, links) are kept this many days for anyone looking
# into a complaint, then cleared by a nightly duty; the row stays (who was told what, when, and
# the key that stops the same message going twice).
OUTBOX_KEEP_BODIES_DAYS = env_int("OUTBOX_KEEP_BODIES_DAYS", 30, minimum=1)
# Docker's healthcheck asks over plain HTTP inside the container; the liveness page, which shows
# nothing but its status, answers it without the redirect to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/live/$"]

# ERROR REPORTS
# ------------------------------------------------------------------------------
# Sent to Sentry only when SENTRY_DSN is set, and without personal data: no cookies, bodies,
# query strings or local variables, and no tracing; core.health.scrub_event (before_send) cuts
# the user to their id, drops client addresses and the rest, and hides email addresses.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from core.health import SAFE_HEADERS, scrub_event

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # What integrations collect, each category off or cut to the safe few (sentry-sdk 2.x's
        # replacement for send_default_pii, which it deprecates: this is stricter than its False).
        data_collection={
            "user_info": True,  # the signed-in person: scrub_event keeps their id alone
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(SAFE_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
            "graphql": {"document": False, "variables": False},
            "gen_ai": {"inputs": False, "outputs": False},
        },
        include_local_variables=False,
        max_request_body_size="never",
        # Also runs Sentry's own denylist scrubber, which the SDK leaves out with data_collection.
        before_send=scrub_event,
        traces_sample_rate=None,
    )

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# PORTAL
# ------------------------------------------------------------------------------
# Encrypts official accounts' sign-in details kept in the portal (a Fernet key:
# python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").
# Without it the portal refuses to store sign-in details. Kept out of the database by design.
# To rotate, put a new key first in CREDENTIALS_ENCRYPTION_KEYS (comma-separated, newest
# first; the older keys still decrypt), run `manage.py rotate_credentials_key`, then drop the
# old keys. CREDENTIALS_ENCRYPTION_KEY, a single key, still works and counts as the oldest.
CREDENTIALS_ENCRYPTION_KEYS = env_list("CREDENTIALS_ENCRYPTION_KEYS")
CREDENTIALS_ENCRYPTION_KEY = env_str("CREDENTIALS_ENCRYPTION_KEY")


def _check_fernet_keys(name: str, keys: list[str]) -> None:
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            which = f" (key {position} of {len(keys)})" if len(keys) > 1 else ""
            raise ImproperlyConfigured(f"{name}{which} is not a valid Fernet key (32 url-safe base64 bytes).") from None


_check_fernet_keys("CREDENTIALS_ENCRYPTION_KEYS", CREDENTIALS_ENCRYPTION_KEYS)
_check_fernet_keys("CREDENTIALS_ENCRYPTION_KEY", [CREDENTIALS_ENCRYPTION_KEY] if CREDENTIALS_ENCRYPTION_KEY else [])
if DEBUG and not CREDENTIALS_ENCRYPTION_KEYS and not CREDENTIALS_ENCRYPTION_KEY:
    # The first look gets a development key kept in var/, as SECRET_KEY is; a deployment (DEBUG
    # off) sets its own or keeps no sign-in details in the portal.
    from cryptography.fernet import Fernet

    _dev_key_file = VAR_DIR / "credentials_encryption_key"
    if not _dev_key_file.exists():
        _dev_key_file.write_text(Fernet.generate_key().decode())
        _dev_key_file.chmod(0o600)
    CREDENTIALS_ENCRYPTION_KEYS = [_dev_key_file.read_text().strip()]
    _check_fernet_keys(str(_dev_key_file), CREDENTIALS_ENCRYPTION_KEYS)


# Signs each official account's intake secret; separate from SECRET_KEY, so rotating one never
# breaks the other.
INTAKE_SIGNING_KEY = _key("INTAKE_SIGNING_KEY", env_str("INTAKE_SIGNING_KEY"), min_length=32)
ADMIN_URL = env_str("ADMIN_URL", "django-admin/")
# The public "report a concern" page: reports accepted per address per hour.
INCIDENT_PUBLIC_REPORTS_PER_HOUR = env_int("INCIDENT_PUBLIC_REPORTS_PER_HOUR", 5, minimum=1)
# Status-link lookups that match no report, per address per hour; then every lookup from it waits an hour.
INCIDENT_STATUS_LINK_MISSES_PER_HOUR = env_int("INCIDENT_STATUS_LINK_MISSES_PER_HOUR", 20, minimum=1)
# The benchmark's bare pages under /bench/ (bench/README.md): for bench/run.py only.
PORTAL_BENCH = env_bool("PORTAL_BENCH", False)
