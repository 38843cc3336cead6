"""What a client has done so far: `ClientStats`, and the thread-safe counters behind it,
including the connection failures in a row that tell an unreachable endpoint.

Example:
    >>> counters = Counters()
    >>> counters.add("requests")
    >>> counters.snapshot().requests
    1
"""

from __future__ import annotations

import threading

import attrs
import httpx

from ...errors import EndpointUnreachableError, SegformerClothesError
from .settings import ClientSettings

__all__ = ["ClientStats", "Counters"]


@attrs.frozen
class ClientStats:
    """What a client has done so far (a snapshot; read ``client.stats`` again for fresh ones).

    Attributes:
        requests: HTTP requests sent, retries included.
        retries: attempts that were repeated after a transient failure.
        rate_limited: answers of 429.
        succeeded: images segmented.
        failed: images given up on (after their retries, or not retried).
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    succeeded: int = 0
    failed: int = 0


class Counters:
    """The counts of `ClientStats`, shared by every thread and task of one client, and the
    connection failures in a row across all of them (an answer of any kind resets it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(attrs.fields_dict(ClientStats), 0)
        self._connection_failures = 0

    def add(self, name: str) -> None:
        """Count one more of ``name`` (a field of `ClientStats`)."""
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> ClientStats:
        """The counts now."""
        with self._lock:
            return ClientStats(**self._counts)

    def connected(self) -> None:
        """The server answered: the endpoint is reachable."""
        with self._lock:
            self._connection_failures = 0

    def connection_failed(self) -> int:
        """One more connection failed; returns how many in a row."""
        with self._lock:
            self._connection_failures += 1
            return self._connection_failures

    def unreachable_after(
        self,
        failure: SegformerClothesError,
        cause: Exception,
        url: str,
        settings: ClientSettings,
    ) -> SegformerClothesError:
        """The failure to raise for a failed exchange: after ``max_connection_failures``
        connection failures in a row, across every photo, `EndpointUnreachableError`, which no
        retry repeats and which ends a batch; else ``failure`` itself."""
        if not isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout)):
            return failure
        failures = self.connection_failed()
        limit = settings.max_connection_failures
        if limit is None or failures < limit:
            return failure
        return EndpointUnreachableError(
            f"{url} is unreachable: {failures} connections in a row failed, the last with: "
            f"{failure.message}. Check the URL and that the server runs",
            failures=failures,
            source=failure.source,
        )
