"""Django's PostgreSQL backend, failing fast while the database is down.

A request takes a connection from its process's pool (newsroom.settings) and waits up to the
pool's timeout (DATABASE_POOL_TIMEOUT) for one. Once a wait has run out, the database is
taken to be down: later requests wait only `DOWN_TIMEOUT`, so each answers the 503 at once
instead of keeping a worker busy, until a request gets a connection again (the pool keeps
reconnecting in the background; no restart is needed).
"""

from django.db.backends.postgresql import base
from psycopg_pool import PoolTimeout

#: Seconds a request waits for a connection while the last wait ran out.
DOWN_TIMEOUT = 0.1


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        pool = self.pool
        if pool is None:
            return super().get_new_connection(conn_params)
        configured = self.settings_dict["OPTIONS"]["pool"].get("timeout", pool.timeout)
        down = getattr(pool, "newsroom_down", False)
        pool.timeout = min(DOWN_TIMEOUT, configured) if down else configured
        try:
            new = super().get_new_connection(conn_params)
        except PoolTimeout:
            pool.newsroom_down = True
            raise
        pool.newsroom_down = False
        return new
