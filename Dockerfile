# Policy Portal: one image for the web server, the Celery worker and Celery beat.
# docker-compose.yml chooses the command for each; see .env.example for settings.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=policyportal.settings.base

# An unprivileged user for every process; the code stays owned by root (read-only to it).
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin portal

# pg_dump and pg_restore for `manage.py backup` and `restore`, of the server's major version
# (docker-compose runs PostgreSQL 15; Debian bookworm's client is 15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are built into the image (not the /app/var volume, where a new
# release's files would never replace the old ones) and served by whitenoise.
ENV STATIC_ROOT=/app/staticfiles
# Settings refuse to load when DEBUG is off without a secret key, the hosts and the site's
# address, so this one command gets throwaway ones (never stored in the image's environment;
# tests/test_image.py runs this step as written) and a scratch
# VAR_DIR, so nothing from the build lands in /app/var.
RUN DEBUG=false \
    ALLOWED_HOSTS=build.invalid \
    SITE_URL=https://build.invalid \
    SECRET_KEY=build-time-only-collectstatic-key-not-used-at-runtime \
    INTAKE_SIGNING_KEY=build-time-only-collectstatic-intake-key-not-used \
    VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput \
 && rm -rf /tmp/build-var

# /app/var holds uploaded files (PRIVATE_MEDIA_ROOT) and is a named volume in
# docker-compose.yml. Docker copies this directory's ownership into a new, empty
# volume, so the unprivileged user can write there.
ENV VAR_DIR=/app/var \
    PRIVATE_MEDIA_ROOT=/app/var/private
RUN mkdir -p /app/var/private \
 && chown -R portal:portal /app/var \
 && chmod 0750 /app/var /app/var/private

USER portal
EXPOSE 8000

# The web server without migrations; docker-compose.yml migrates first.
CMD ["gunicorn", "policyportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-tmp-dir", "/dev/shm", "--no-control-socket", "--access-logfile", "-"]
