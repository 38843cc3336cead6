"""A sync transport whose every wait on the socket ends by the exchange's deadline, so that a
server trickling its status line and headers cannot hold a call past ``timeout``.

httpx bounds each wait on a socket, not the whole exchange. The async path bounds it from the
outside (a cancel scope); a blocked thread cannot be cancelled from outside, so here each read
and write is given at most the time left before the deadline the calling thread set.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import ssl
import time
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx

__all__ = ["bound_waits", "bounded_by"]

logger = logging.getLogger("segformer_clothes")

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "segformer_clothes_deadline", default=None
)


@contextlib.contextmanager
def bounded_by(deadline: float) -> Iterator[None]:
    """Within the block, a read or write on a connection of `deadline_transport` waits at most
    until ``deadline`` (a `time.monotonic` time), then raises a timeout."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _time_left(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the whole answer took longer than the timeout")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose waits end by the calling thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _time_left(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's own socket backend, its connections bounded by the deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _time_left(timeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, _time_left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_waits(client: httpx.Client, ssl_context: ssl.SSLContext) -> None:
    """Put `client`'s direct connections (not those through a proxy) on sockets bounded by
    `bounded_by`.

    httpx takes no network backend, so the connection pool of its default transport is swapped
    for one built the same way (httpx's default limits) on ours. Should a later httpx lay its
    transport out otherwise, the client is left as it is: each wait on the socket is then
    bounded by ``timeout`` one at a time, as before.
    """
    transport = getattr(client, "_transport", None)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        logger.debug("httpx's transport has no connection pool to bound; left as it is")
        return
    transport._pool = httpcore.ConnectionPool(  # type: ignore[union-attr]
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_Backend(),
    )
