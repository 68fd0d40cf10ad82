"""Django's RedisCache, with one Redis client per connection pool instead of one per call.

Django's client builds a new `redis.Redis` for every cache operation, and each builds its table
of about 170 response callbacks: a third of a millisecond per call, several calls per page. A
`redis.Redis` is safe to share between threads (it takes a connection from its pool for each
command), so one per pool does the same work.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    """`CACHES` backend for Redis (settings, with `REDIS_URL`)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
