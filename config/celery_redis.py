"""kombu's Redis transport, with one fix that keeps a worker alive when Redis goes away (SPEC 11).

``config/celery_app.py`` calls ``use_for_redis_urls()``: every ``redis://`` and ``rediss://`` broker URL of the
process (worker, beat, and the web processes that publish) then gets this module's ``Transport``, and the URL and the
log lines (``Connected to redis://...``) stay as they were. (``CELERY_BROKER_TRANSPORT`` would select it as well, but
kombu then writes the class path as the URL's scheme in every log line.)

The failure it fixes (kombu 5.7.0, celery 5.7.0, redis-py 8.1.0; seen with the Procfile's prefork worker): Redis stops
while a task runs (unacknowledged, late ack) and a pool process is free, so the worker's task channel has a ``BRPOP``
pending. Celery's consumer then cleans up the broken connection in two steps
(``Consumer.on_connection_error_after_connected``):

1. ``connection.collect()`` closes the channels. The Redis channel's ``close()`` first reads the pending ``BRPOP``
   reply, which raises ``ConnectionError``; ``close()`` stops there, before it marks the channel closed and before the
   unacknowledged tasks are put back (``restore_unacked_once``). ``collect()`` ignores the error and then drops the
   transport's connection details (``transport.client = None``).
2. ``connection.close()`` closes the same channel again. This time the close goes on to ``restore_unacked()``, which
   needs a Redis client; the channel's connection pool was discarded, so kombu builds a new one from
   ``self.connection.client.hostname``, and ``client`` is now ``None``: ``AttributeError: 'NoneType' object has no
   attribute 'hostname'``. Celery treats only connection errors as recoverable, so the worker logged
   ``Unrecoverable error`` and exited within a second of Redis stopping, instead of reconnecting. A late ack of a
   finished task, run by the event loop after the same cleanup, fails the same way.

Upstream: the same ``_connparams`` ``hostname`` error on a channel closed after its connection was reported as
celery/kombu#582 (a fanout channel closed by the Gossip step) and celery/kombu#970 (restoring unacknowledged messages
at warm shutdown); kombu 5.7.0 still builds the pool from the cleared connection.

The fix: a channel whose connection is gone raises ``redis.exceptions.ConnectionError`` when it needs a new pool,
which every caller above already handles as the broker being unreachable: the close is ignored, the ack is logged as
not done, and the consumer reconnects (``broker_connection_retry``, without limit: ``broker_connection_max_retries``
is ``None``). The tasks that could not be put back stay in Redis's ``unacked`` hash and return after
``visibility_timeout``, or are gone with an empty Redis; either way the outbox relay queues their rows again and the
``pending`` check makes any second run send nothing (docs/operations.md, *Broker outage*).
"""

from __future__ import annotations

from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection of this channel is closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


def use_for_redis_urls() -> None:
    """Point kombu's ``redis`` and ``rediss`` URL schemes at ``Transport`` in this process."""
    for scheme in ("redis", "rediss"):
        kombu_transport.TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
        kombu_transport._transport_cache.pop(scheme, None)  # a class resolved before this call
