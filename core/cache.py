"""The cache: Redis while it answers, this process's memory for a short while when it does not.

Rate limits count in the cache (allauth's sign-in limits, the public report form's), so a
Redis that raised would turn every sign-in into a 500, and one whose errors were ignored
(django-redis's IGNORE_EXCEPTIONS) would read every count as zero and limit nothing. Here a
call that Redis fails goes to a per-process LocMemCache instead: the limits still count (in
each process, so a little looser across several web workers), nothing raises, and Redis is
tried again RETRY_AFTER seconds later, so an outage costs each process one timeout per
interval, not one per call. Settings: CACHES in policyportal/settings/base.py.
"""

import logging
from time import monotonic
from urllib.parse import urlsplit

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60
FALLBACK_MAX_ENTRIES = 10_000  # one per client address and limit: room for a busy school's day


def _falls_back(name):
    def method(self, *args, **kwargs):
        if monotonic() >= self._redis_retry_at:
            try:
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except RedisError as exc:
                self._redis_failed(exc)
            else:
                if self._down_since is not None:
                    self._redis_back()
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on Redis, or on this process's memory while Redis fails."
    return method


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, falling back to this process's memory while Redis fails.

    ``RETRY_AFTER`` (seconds, beside ``LOCATION``): how long to use memory after a failure.
    Keep ``socket_connect_timeout`` and ``socket_timeout`` short in ``OPTIONS``: they are
    what a call waits before it falls back.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self.retry_after = float(params.get("RETRY_AFTER", 10))
        fallback = {key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION") if key in params}
        fallback["OPTIONS"] = {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}
        self._fallback = LocMemCache(f"{__name__}.{id(self)}", fallback)
        where = urlsplit(self._servers[0])
        self._where = f"{where.hostname}:{where.port or 6379}{where.path}"  # never the password
        # Read and written by every thread of the process without a lock: the worst a race does
        # is let two threads try Redis at once, or log twice.
        self._redis_retry_at = 0.0
        self._down_since = None
        self._warned_at = None

    def _redis_failed(self, exc):
        now = monotonic()
        self._redis_retry_at = now + self.retry_after
        if self._down_since is None:
            self._down_since = now
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning(
                "Redis cache %s failed (%s): counting in this process's memory for %d s, then trying again "
                "(down for %d s so far)",
                self._where,
                exc,
                self.retry_after,
                now - self._down_since,
            )

    def _redis_back(self):
        logger.info("Redis cache %s answers again after %d s", self._where, monotonic() - self._down_since)
        self._down_since = self._warned_at = None
        # Counts made meanwhile belong to the outage; the next one must not start from them.
        self._fallback.clear()

    add = _falls_back("add")
    get = _falls_back("get")
    set = _falls_back("set")
    touch = _falls_back("touch")
    delete = _falls_back("delete")
    get_many = _falls_back("get_many")
    has_key = _falls_back("has_key")
    incr = _falls_back("incr")
    set_many = _falls_back("set_many")
    delete_many = _falls_back("delete_many")
    clear = _falls_back("clear")
