"""Django's Redis cache, with one client object per connection pool instead of one per operation.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis`` for
every cache call, and redis-py fills a table of about 150 response callbacks in each constructor:
measured here, that was a third of a millisecond of CPU per call, and every API request makes two
(the request-rate throttle reads and writes its history). A ``redis.Redis`` is safe to share between
threads (each command takes a connection from the pool), so one per pool is enough. Behaviour,
timeouts and errors are Django's own.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
