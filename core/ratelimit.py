"""A fixed-window counter in the cache, for limits allauth does not cover (the public report form).

It never raises for want of Redis: the cache backend (core.cache) counts in memory meanwhile.
"""

from django.core.cache import cache


def over_limit(key: str, *, limit: int, window: int) -> bool:
    """Count one attempt under ``key``; True once more than ``limit`` fall in ``window`` seconds.

    The window starts at the first attempt, so a burst straddling two windows may pass up to
    twice ``limit``: enough to stop a flood, and one cache round trip per attempt.
    """
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit
