"""The connection pools of one client: one sync pool shared by threads, one async pool for each
event loop, and the ones the caller gave (used as given, never closed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import AsyncGenerator

import httpx

from ._deadline import bound_waits

__all__ = ["Pools"]

logger = logging.getLogger("segformer_clothes")


def _current_loop() -> object:
    """The running event loop (asyncio), or trio's token for the running trio run."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


async def _closing_at_loop_end(pool: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await pool.aclose()


def _close_at_loop_end(pool: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Have the running event loop close ``pool`` when it ends, unless it was closed before.

    asyncio.run() and trio.run() finalise, on their own loop, every async generator still
    suspended when their main task returns: a generator suspended here closes the pool then,
    so that a client closed with a plain ``with`` (which cannot await) leaks no connection of a
    loop it used. The caller keeps the generator: dropped, it would close the pool at once.
    """
    closer = _closing_at_loop_end(pool)
    first = closer.asend(None)  # the loop's first-iteration hook takes note of the generator
    with contextlib.suppress(StopIteration):
        first.send(None)  # runs the generator to its yield, without awaiting anything
    return closer


class Pools:
    """Opens pools when first needed and closes the ones it opened."""

    def __init__(
        self,
        timeout: float,
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
    ) -> None:
        self._timeout = timeout
        self.sync_pool = http_client
        self._owns_sync = http_client is None
        self.async_pool = async_http_client
        self._owns_async = async_http_client is None
        self._async_loop: object = None
        self._closer: AsyncGenerator[None, None] | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def _tls(self) -> ssl.SSLContext:
        # Loading the CA bundle takes a noticeable fraction of a second: once per client, not
        # once per batch.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def new_async(self) -> httpx.AsyncClient:
        """A pool of its own, for a batch run on a short-lived event loop."""
        return httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, verify=self._tls())

    def given_async(self) -> httpx.AsyncClient | None:
        """The async pool the caller gave, if any."""
        return None if self._owns_async else self.async_pool

    def sync(self) -> httpx.Client:
        """The sync pool (threads may share one client: only one pool is made)."""
        with self._lock:
            if self.sync_pool is None:
                self.sync_pool = httpx.Client(
                    timeout=self._timeout, follow_redirects=False, verify=self._tls()
                )
                bound_waits(self.sync_pool, self._tls())
            return self.sync_pool

    def for_running_loop(self) -> httpx.AsyncClient:
        """The async pool of the running event loop."""
        loop = _current_loop()
        with self._lock:
            if self._owns_async and self._async_loop is not loop:
                # A pool's connections belong to the event loop that opened them; a second
                # `asyncio.run(...)` gets a pool of its own (the old loop is gone, and its
                # sockets close when the old pool is collected).
                if self.async_pool is not None:
                    logger.debug("a new event loop: opening a new connection pool")
                self.async_pool = None
                self._async_loop = loop
            if self.async_pool is None:
                self.async_pool = self.new_async()
                if self._owns_async:
                    self._closer = _close_at_loop_end(self.async_pool)
            return self.async_pool

    def close(self) -> None:
        """Close the sync pool, if this client opened it."""
        if self._owns_sync and self.sync_pool is not None:
            self.sync_pool.close()
            self.sync_pool = None

    async def aclose(self) -> None:
        """Close every pool this client opened, sync and async."""
        if self._owns_async and self.async_pool is not None:
            await self.async_pool.aclose()
            self.async_pool = None
        self.close()
