"""Django's RedisCache, with one Redis client per connection pool instead of one per call, and
a way to hear at once when a key changes (`RedisCache.watch`).

Django's client builds a new `redis.Redis` for every cache operation, and each builds its table
of about 170 response callbacks: a third of a millisecond per call, several calls per page. A
`redis.Redis` is safe to share between threads (it takes a connection from its pool for each
command), so one per pool does the same work.
"""

import os
import select

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


class KeyWatch:
    """A connection of its own to the Redis server (the one written to) on which the server
    announces every change to a key: set, deleted, expired, evicted, or the database flushed.
    This is Redis's client-side caching in broadcast mode (RESP3 `CLIENT TRACKING ON BCAST
    PREFIX`, Redis 6 or later), and the announcement is sent before the server answers the
    command that made the change. `changed()` costs a poll(2) of the connection and no round
    trip."""

    def __init__(self, pool, key):
        self._pid = os.getpid()
        self._connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3})
        try:
            self._connection.connect()
            self._connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", key)
            reply = self._connection.read_response()
            if reply not in (b"OK", "OK"):
                raise ConnectionError(f"CLIENT TRACKING answered {reply!r}")
            self._poll = select.poll()
            self._poll.register(self._connection._sock, select.POLLIN)
        except BaseException:
            self.close()
            raise

    def changed(self):
        """Whether anything arrived since the watch began: a change to the key, or the
        connection closing. Either way the watch is spent: close it and start another."""
        return bool(self._poll.poll(0))

    def close(self):
        # Only in the process that opened it: a forked child shares the socket, and closing it
        # there would end the parent's watch.
        if os.getpid() == self._pid:
            self._connection.disconnect()


class RedisCache(DjangoRedisCache):
    """`CACHES` backend for Redis (settings, with `REDIS_URL`)."""

    #: Whether newsroom.page_cache may keep pages read from this cache in each process's memory
    #: when it is the page cache (it can: `watch` says at once when they are retired).
    process_pages = True

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def watch(self, key):
        """A `KeyWatch` of `key` (a key of this cache, as given to `get` or `set`)."""
        pool = self._cache._get_connection_pool(write=True)
        return KeyWatch(pool, self.make_and_validate_key(key))
