"""core.cache.ResilientRedisCache against a redis-server of the test's own, in this process."""

import logging
import time

import pytest

import core.cache
from core.cache import ResilientRedisCache

TIMEOUT = 0.2  # seconds: socket_connect_timeout and socket_timeout
RETRY_AFTER = 10


@pytest.fixture
def cache(redis_server):
    location = redis_server.url.rsplit("/", 1)[0] + "/1"
    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    return ResilientRedisCache(location, {"RETRY_AFTER": RETRY_AFTER, "OPTIONS": options})


@pytest.fixture
def clock(monkeypatch):
    """Moves core.cache's monotonic clock on, so a backoff passes without waiting for it."""
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(core.cache, "monotonic", lambda: real() + offset[0])

    def move_on(seconds: float) -> None:
        offset[0] += seconds

    return move_on


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_it_uses_redis_while_redis_answers(cache, redis_server):
    cache.set("greeting", "hello", timeout=60)
    assert cache.get("greeting") == "hello"
    assert redis_server.client(db=1).exists(":1:greeting")


def test_with_redis_stopped_it_counts_in_memory_and_never_raises(cache, redis_server, caplog):
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.add("attempts", 0, timeout=60) is True
        assert [cache.incr("attempts") for _ in range(3)] == [1, 2, 3]
        assert cache.get("attempts") == 3 and cache.get("missing", "default") == "default"
        with pytest.raises(ValueError):  # the cache API's own error for a missing key still comes through
            cache.incr("missing")
        cache.set_many({"a": 1, "b": 2})
        assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
        cache.delete_many(["a", "b"])
        assert not cache.has_key("a")
    assert len(caplog.records) == 1, "one warning for the outage, not one per call"
    assert "Redis cache 127.0.0.1" in caplog.text and "counting in this process's memory" in caplog.text


def test_with_redis_frozen_only_the_first_call_waits_and_only_for_the_timeout(cache, redis_server):
    cache.get("warm-up")  # an open connection, as in a running server
    redis_server.freeze()
    _, first = timed(lambda: cache.set("key", "value"))
    _, next_calls = timed(lambda: [cache.get("key") for _ in range(50)])
    assert TIMEOUT <= first < 5 * TIMEOUT
    assert next_calls < TIMEOUT, "calls during the backoff must not wait for Redis"
    assert cache.get("key") == "value"


def test_it_tries_redis_again_after_the_backoff_and_warns_once_a_minute(cache, redis_server, clock, caplog):
    redis_server.stop()
    with caplog.at_level(logging.INFO, logger="core.cache"):
        cache.set("in-memory", 1)
        clock(RETRY_AFTER + 1)
        cache.get("in-memory")  # tries Redis again, fails again: no second warning yet
        assert len(caplog.records) == 1
        clock(core.cache.WARN_EVERY_SECONDS)
        cache.get("in-memory")
        assert len(caplog.records) == 2 and "down for" in caplog.records[1].getMessage()

        redis_server.start()
        cache.set("after", "written while Redis was back, but within the backoff")
        assert not redis_server.client(db=1).exists(":1:after")
        clock(RETRY_AFTER + 1)
        cache.set("after", "back in Redis")
    assert redis_server.client(db=1).exists(":1:after")
    assert "answers again" in caplog.records[-1].getMessage()
    assert cache.get("in-memory") is None, "counts made during the outage are not carried over"


def test_a_rate_limit_still_limits_with_redis_stopped(cache, redis_server, monkeypatch):
    from core import ratelimit

    monkeypatch.setattr(ratelimit, "cache", cache)
    redis_server.stop()
    assert [ratelimit.over_limit("report:203.0.113.9", limit=2, window=3600) for _ in range(3)] == [False, False, True]
    assert ratelimit.over_limit("report:203.0.113.10", limit=2, window=3600) is False
