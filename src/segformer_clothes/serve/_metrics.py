"""The server's counters: queue length, batch sizes, images served, answers by status."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

__all__ = ["ServeMetrics"]

# How much the latest batch moves the running estimate of a batch's duration.
_SMOOTHING = 0.3


class ServeMetrics:
    """What a server has done, safe to read from any thread while it runs.

    `snapshot` is what ``GET /metrics`` answers; the server keeps the counters.

    Attributes:
        admitted: requests admitted now (being decoded, waiting for the model, in it, or
            being encoded).
        queued: photos decoded and waiting for a batch.
        in_model: photos in the batch the model is running now.
        images_served: photos answered 200.
        batch_sizes: a `collections.Counter` of the batches run, by their number of photos.
        statuses: a `collections.Counter` of the answers sent by the inference routes, by status.
        batch_seconds: a running estimate of how long one batch takes (None before the first).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.admitted = 0
        self.queued = 0
        self.in_model = 0
        self.images_served = 0
        self.batch_sizes: collections.Counter[int] = collections.Counter()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.batch_seconds: float | None = None

    def _admit(self, limit: int) -> bool:
        """Take a place for one request, unless ``limit`` are admitted already."""
        with self._lock:
            if self.admitted >= limit:
                return False
            self.admitted += 1
            return True

    def _release(self) -> None:
        """Give back the place of a request that is answered."""
        with self._lock:
            self.admitted -= 1

    def _enqueued(self) -> None:
        """One decoded photo now waits for a batch."""
        with self._lock:
            self.queued += 1

    def _answered(self, status: int) -> None:
        """Count one answer of the inference routes."""
        with self._lock:
            self.statuses[status] += 1
            if status == 200:
                self.images_served += 1

    def _batch_started(self, size: int) -> None:
        """A batch of ``size`` photos left the queue for the model."""
        with self._lock:
            self.queued -= size
            self.in_model = size
            self.batch_sizes[size] += 1

    def _batch_finished(self, seconds: float) -> None:
        """The batch in the model is done after ``seconds``."""
        with self._lock:
            self.in_model = 0
            previous = self.batch_seconds
            self.batch_seconds = (
                seconds if previous is None else previous + _SMOOTHING * (seconds - previous)
            )

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict.

        Example:
            >>> snapshot = ServeMetrics().snapshot()
            >>> snapshot["images_served"], snapshot["queue_length"], snapshot["batch_sizes"]
            (0, 0, {})
        """
        with self._lock:
            batches = sum(self.batch_sizes.values())
            photos = sum(size * count for size, count in self.batch_sizes.items())
            return {
                "queue_length": self.queued,
                "in_model": self.in_model,
                "admitted": self.admitted,
                "images_served": self.images_served,
                "batches": batches,
                "batch_sizes": {str(size): n for size, n in sorted(self.batch_sizes.items())},
                "mean_batch_size": photos / batches if batches else None,
                "max_batch_size_seen": max(self.batch_sizes, default=0),
                "batch_seconds": self.batch_seconds,
                "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
                "uptime_seconds": round(time.monotonic() - self.started, 3),
            }
