"""An HTTP POST whose whole exchange, up to the answer's headers, ends by one deadline (webhooks, SPEC 8).

requests' ``timeout`` bounds each wait on the socket (connect, and every read), not the exchange: a receiver that
trickles its status line or headers one byte every few seconds keeps every read under the timeout and holds the
caller for as long as it likes. ``post_within`` adds a watchdog: a timer that shuts the connection's socket down
when the deadline passes, so whatever the caller is blocked in (the TLS handshake, sending, reading the status line
or a header) fails at once. It needs no signal, so it works the same in a Celery prefork child, in the threads pool
and in a web process.

How the socket is reached: the session's adapter uses urllib3 connection classes that hand each new socket (after
``connect``, before the TLS handshake) to the try's watchdog, found in a context variable set for the call. The
watchdog keeps a ``dup()`` of it: the TLS wrapper detaches the original socket object, and a bare descriptor number
could be reused by another connection of the process after close; ``shutdown`` on the duplicate ends the
connection both share and touches nothing else. Everything else is plain requests: certificate verification,
environment proxies and CA bundles, ``allow_redirects`` as the caller passes it, no retries.

Not covered: name resolution (``getaddrinfo`` cannot be interrupted; the system resolver's own timeout bounds it),
connecting (each address tried waits at most the connect timeout; a socket that connects after the deadline is shut
down at once), and SOCKS proxies (their connection classes are urllib3's own).
"""

from __future__ import annotations

import contextvars
import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager


class DeadlineExceeded(requests.Timeout):
    """The exchange did not reach the end of the answer's headers before the deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"no complete answer within {seconds:g} s")


class _Watchdog:
    """Shuts down the sockets handed to ``watch`` once ``seconds`` have passed since ``start``."""

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._stopped = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._fired:  # the deadline passed while connecting
                _shutdown(sock)
                return
            self._sockets.append(sock.dup())

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def stop(self) -> bool:
        """Disarm and let the duplicates go; whether the deadline had passed first."""
        self._timer.cancel()
        with self._lock:
            if not self._stopped:
                self._stopped = True
                for sock in self._sockets:
                    sock.close()
                self._sockets.clear()
            return self._fired


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by the other end
        pass


_watchdog: contextvars.ContextVar[_Watchdog | None] = contextvars.ContextVar("http_deadline_watchdog", default=None)


class _WatchedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        watchdog = _watchdog.get()
        if watchdog is not None:
            watchdog.watch(sock)
        return sock


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter (no retries) whose connections, direct or through an HTTP proxy, are watched."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # not a SOCKS manager: its pools carry the SOCKS connections
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def post_within(url: str, *, deadline: float, timeout: float, **kwargs: Any) -> requests.Response:
    """``requests.post(url, stream=True, ...)`` that ends within ``deadline`` seconds with the answer's headers.

    ``timeout`` still bounds each wait (the connect wait by the deadline as well). The body is not read
    (``stream=True``): the caller closes the response. Raises DeadlineExceeded when the deadline passed before
    the headers were complete (a header cut short by the shutdown is not taken for the end of the headers),
    and any other ``requests.RequestException`` as ``requests.post`` does.
    """
    watchdog = _Watchdog(deadline)
    token = _watchdog.set(watchdog)
    try:
        with requests.Session() as session:
            adapter = _WatchedAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            watchdog.start()
            try:
                response = session.post(url, timeout=(min(timeout, deadline), timeout), stream=True, **kwargs)
            except Exception:
                if watchdog.stop():
                    raise DeadlineExceeded(deadline) from None
                raise
            if watchdog.stop():
                response.close()
                raise DeadlineExceeded(deadline)
            return response
    finally:
        watchdog.stop()
        _watchdog.reset(token)
