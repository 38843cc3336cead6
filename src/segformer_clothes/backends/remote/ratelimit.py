"""One thread-safe token bucket per client, consulted by sync and async calls alike.

`RateLimiter.reserve` books the next free slot under a lock and returns how long the caller must
wait for it; a sync caller sleeps with ``time.sleep`` and an async one with ``anyio.sleep``, so
one limiter serves threads and event loops together (anyio primitives belong to one loop).

A 429 slows the whole client: every caller waits out the server's ``Retry-After``. When the
limit was not given, the limiter learns it: the first 429 sets the rate from ``Retry-After``
and the answers so far (see `RateLimiter._first_guess`), a later 429 lowers it, and a stretch of
answers without 429 raises it slowly, so that it settles just under the server's limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]

logger = logging.getLogger("segformer_clothes")

_DECREASE = 0.9  # a fresh 429 at a learned rate lowers it by this factor
_INCREASE = 0.03  # each `rate` answers without 429 raise a learned rate by this fraction
_LEARNED_MARGIN = 0.95  # the first estimate stays a little under the server's pace
_MIN_RATE = 0.05  # requests per second: never slower than one every 20 s


class RateLimiter:
    """A token bucket (rate + burst) shared by every request of a client.

    Args:
        requests_per_minute: the limit, or None to learn it from 429 answers.
        burst: requests that may go at once before the pace applies.
        clock: a monotonic clock in seconds (tests pass a fake one).
        max_pause: the longest pause a 429 imposes, in seconds, whatever its ``Retry-After``
            says (``inf`` included).

    Example:
        >>> clock = iter([0.0, 0.0, 0.0]).__next__
        >>> limiter = RateLimiter(requests_per_minute=60, burst=1, clock=clock)
        >>> limiter.reserve(), limiter.reserve()
        (0.0, 1.0)
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        max_pause: float = 60.0,
    ) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError(
                f"requests_per_minute must be positive, got {requests_per_minute}; "
                "use None to learn the limit from the server's 429 answers"
            )
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        if not max_pause >= 0:
            raise ValueError(f"max_pause must be 0 or more seconds, got {max_pause}")
        self._lock = threading.Lock()
        self._clock = clock
        self._max_pause = max_pause
        self._burst = burst
        self._told = None if requests_per_minute is None else requests_per_minute / 60.0
        self._rate: float | None = self._told  # requests per second; None: no limit yet
        self._next_slot = 0.0  # the theoretical arrival time of GCRA
        self._paused_until = 0.0
        self._last_change = float("-inf")
        self._answers_since_change = 0
        self._first_reserved: float | None = None
        self._answered = 0  # answers that were not a 429, since the first request

    def _first_guess(self, now: float, retry_after: float | None) -> float:
        """The pace to start from at the first 429, in requests per second.

        A token-bucket server names the time to its next free slot: one request per
        ``Retry-After``. A fixed-window server names the time to the next window: the answers
        so far, spread over the time until then. Each is at most the server's limit, so the
        larger of the two is the better guess.
        """
        wait = retry_after or 0.0
        per_slot = 1.0 / wait if wait > 0 else 0.0
        since = now - (self._first_reserved if self._first_reserved is not None else now)
        per_window = self._answered / (since + wait) if since + wait > 0 else 0.0
        return max(per_slot, per_window) or 1.0

    @property
    def rate(self) -> float | None:
        """The pace in requests per second, told or learned; None while unknown."""
        with self._lock:
            return self._rate

    def reserve(self, within: float = math.inf) -> float | None:
        """Book the next slot; returns the seconds to wait before sending (0 for now), or
        None, booking nothing, when that wait would be longer than ``within`` seconds."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            if self._first_reserved is None:
                self._first_reserved = now
            if self._rate is None:
                return start - now if start - now <= within else None
            interval = 1.0 / self._rate
            slot = max(self._next_slot, start)
            send_at = max(start, slot - (self._burst - 1) * interval)
            if send_at - now > within:
                return None
            self._next_slot = slot + interval
            return send_at - now

    def sent_at(self) -> float:
        """The clock now: callers keep it to tell `on_rate_limited` when their request left."""
        return self._clock()

    def on_success(self) -> None:
        """An answer that was not a 429: a learned rate creeps back up."""
        with self._lock:
            self._answered += 1
            if self._rate is None:
                return
            self._answers_since_change += 1
            if self._answers_since_change >= max(self._rate, 1.0):
                raised = self._rate * (1 + _INCREASE)
                self._rate = raised if self._told is None else min(raised, self._told)
                self._answers_since_change = 0

    def on_rate_limited(self, retry_after: float | None, sent_at: float) -> None:
        """A 429 answered a request sent at ``sent_at``: pause everyone, and slow down."""
        with self._lock:
            now = self._clock()
            wait = retry_after if retry_after is not None else 1.0 / (self._rate or 1.0)
            wait = min(wait, self._max_pause)  # a Retry-After of a year (or inf) is a fault
            self._paused_until = max(self._paused_until, now + wait)
            self._next_slot = max(self._next_slot, self._paused_until)
            if sent_at < self._last_change:
                return  # sent before the last slow-down: already accounted for
            if self._rate is None:
                self._rate = max(
                    _MIN_RATE, self._first_guess(now, retry_after and wait) * _LEARNED_MARGIN
                )
            else:
                self._rate = max(_MIN_RATE, self._rate * _DECREASE)
            self._last_change = now
            self._answers_since_change = 0
            logger.info(
                "rate limited by the server: pausing %.2f s, then %.1f requests/minute",
                wait,
                self._rate * 60,
            )
