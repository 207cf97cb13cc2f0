"""core.cache.RedisCache: Django's Redis cache with one client per connection pool."""

import os
import threading

from core.cache import RedisCache
from core.testing import requires_redis


def _cache(location: str) -> RedisCache:
    return RedisCache(
        location, {"KEY_PREFIX": "cache-test", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
    )


def test_one_client_per_pool_is_reused():
    cache = _cache("redis://127.0.0.1:1/0")  # nothing is connected until a command runs
    first = cache._cache.get_client("a", write=True)
    assert cache._cache.get_client("b", write=False) is first  # one server: reads and writes share its pool
    assert _cache("redis://127.0.0.1:1/0")._cache.get_client("a") is not first  # per cache object, not global


@requires_redis
def test_reads_writes_counters_and_expiry_work_from_many_threads():
    cache = _cache(os.environ["REDIS_URL"])
    cache.clear()
    errors = []

    def work(index: int) -> None:
        try:
            for round_ in range(50):
                cache.set(f"k{index}", round_, 30)
                assert cache.get(f"k{index}") == round_
                if not cache.add("shared", 1, 30):  # SET NX, then INCR: both atomic in Redis
                    cache.incr("shared")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {cache.get(f"k{index}") for index in range(8)} == {49}
    assert cache.get("shared") == 8 * 50  # every thread's every round counted once
    cache.set("brief", 1, 0)
    assert cache.get("brief") is None
    cache.clear()


def test_an_unreachable_server_raises_as_djangos_does():
    import pytest
    import redis

    with pytest.raises(redis.exceptions.ConnectionError):
        _cache("redis://127.0.0.1:1/0").get("anything")
