"""When to try a request again and how long to wait: pure functions, handed to tenacity.

`should_retry` and `retry_delay` are written once; `retrying` wraps them into tenacity's
`Retrying`. The client iterates it inside the plan of steps it writes once for its sync and
async paths, and hands the waits tenacity asks for to whichever driver carries the plan out.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from tenacity import RetryCallState, Retrying

from ...errors import (
    EndpointUnreachableError,
    ModelLoadingError,
    NetworkError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)

__all__ = [
    "RetryPolicy",
    "parse_retry_after",
    "retry_delay",
    "retrying",
    "should_retry",
    "wait_reason",
]

logger = logging.getLogger("segformer_clothes")

DEFAULT_MAX_RETRIES = 10
"""With 30% transient faults an image fails all 11 attempts with probability 0.3**11, about
one in 570,000: a catalogue gets through without losing an image."""


@attrs.frozen
class RetryPolicy:
    """How hard to try.

    Attributes:
        max_retries: retries after the first attempt (0 turns retries off, for a 429 too).
            A 429 that says how long to wait does not count against it.
        backoff_base: the first backoff in seconds, doubled at each retry...
        backoff_cap: ...up to this many seconds.
        max_server_wait: the longest ``Retry-After`` / ``estimated_time`` honoured, in seconds
            (``Retry-After: inf`` included); the rate limiter's pause after a 429 is capped the
            same.
        deadline: the most seconds spent on one image, all attempts and waits together.
    """

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    backoff_cap: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    max_server_wait: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    deadline: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))


class PastDeadline(RateLimitError):
    """The rate limit would hold a photo past its deadline (`RetryPolicy.deadline`): raised
    by the client before sending, and not retried."""


def should_retry(error: BaseException) -> bool:
    """True for the transient failures: 408, 429, 5xx, timeouts, network errors and a 200 cut
    short. Other 4xx and a complete answer in the wrong format are
    not retried.

    Example:
        >>> should_retry(RateLimitError("slow down", status_code=429))
        True
    """
    if isinstance(error, EndpointUnreachableError):
        return False  # the endpoint is down or wrong: retrying only costs time
    return isinstance(error, (RateLimitError, ServerError, RequestTimeoutError, NetworkError))


def server_wait(error: BaseException) -> float | None:
    """The seconds the server asked to wait (``Retry-After`` or ``estimated_time``), if any."""
    if isinstance(error, RateLimitError):
        return error.retry_after
    if isinstance(error, ModelLoadingError):
        return error.estimated_time
    return None


def retry_delay(
    retry_number: int,
    error: BaseException,
    policy: RetryPolicy = RetryPolicy(),
    *,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``retry_number`` (1 for the first retry).

    The server's ``Retry-After`` or ``estimated_time`` wins, capped at ``max_server_wait``;
    otherwise capped exponential backoff ``min(base * 2**(n-1), cap)``, scaled by a jitter
    factor between 0.5 and 1 so that clients that failed together do not retry together.

    Example:
        >>> retry_delay(3, ServerError("boom", status_code=500), jitter=lambda: 1.0)
        2.0
    """
    asked = server_wait(error)
    if asked is not None:
        return max(0.0, min(asked, policy.max_server_wait))
    backoff = min(policy.backoff_base * 2.0 ** max(retry_number - 1, 0), policy.backoff_cap)
    return float(backoff * (0.5 + 0.5 * jitter()))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: seconds, fractional seconds or an HTTP
    date; None when absent or unreadable. A date in the past gives 0; ``inf`` gives ``inf``,
    which every wait caps at `RetryPolicy.max_server_wait`.

    Example:
        >>> parse_retry_after("0.25")
        0.25
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """`parse_retry_after` of the ``Retry-After`` header (any case) of a mapping."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            return parse_retry_after(value)
    return None


class _Budget:
    """Counts the retries that use up ``max_retries`` for one image (one per call)."""

    def __init__(self, policy: RetryPolicy, source: object, on_retry: Callable[[], None]) -> None:
        self.policy = policy
        self.source = source
        self.on_retry = on_retry
        self.charged = 0

    def wait(self, state: RetryCallState) -> float:
        # tenacity asks for the wait before asking whether to stop: count the retry here.
        error = state.outcome.exception() if state.outcome is not None else None
        assert error is not None
        # A 429 that says how long to wait is the server pacing us, not a failure.
        if not (isinstance(error, RateLimitError) and error.retry_after is not None):
            self.charged += 1
        return retry_delay(max(self.charged, 1), error, self.policy)

    def stop(self, state: RetryCallState) -> bool:
        if self.policy.max_retries == 0 or self.charged > self.policy.max_retries:
            return True  # 0 means no retry at all, a paced 429 included
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, PastDeadline):
            return True  # the client's own pacing would hold the photo past its deadline
        # The time spent, or at least the waits asked for (the same, unless sleep is faked).
        elapsed = max(state.seconds_since_start or 0.0, state.idle_for)
        return elapsed + state.upcoming_sleep > self.policy.deadline

    def before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        self.on_retry()
        logger.info(
            "retrying %s in %.2f s after attempt %d failed: %s",
            self.source,
            wait,
            state.attempt_number,
            error,
            extra={"wait_seconds": wait, "wait_reason": wait_reason(error)},
        )


def wait_reason(error: BaseException | None) -> str:
    """Why the client waits before trying again, in a few words (for progress displays).

    Example:
        >>> wait_reason(RateLimitError("429", status_code=429))
        'rate limited'
    """
    if isinstance(error, RateLimitError):
        return "rate limited"
    if isinstance(error, ModelLoadingError):
        return "the model is loading on the server"
    if isinstance(error, (NetworkError, RequestTimeoutError)):
        return "connection problem"
    if isinstance(error, ServerError):
        return "server error"
    return "retrying"


def _retry_predicate(state: RetryCallState) -> bool:
    if state.outcome is None or not state.outcome.failed:
        return False
    error = state.outcome.exception()
    return error is not None and should_retry(error)


def _common(policy: RetryPolicy, source: object, on_retry: Callable[[], None]) -> dict[str, Any]:
    budget = _Budget(policy, source, on_retry)
    return {
        "stop": budget.stop,
        "wait": budget.wait,
        "retry": _retry_predicate,
        "before_sleep": budget.before_sleep,
        "reraise": True,
    }


def retrying(
    policy: RetryPolicy,
    source: object,
    sleep: Callable[[float], None],
    on_retry: Callable[[], None] = lambda: None,
) -> Retrying:
    """A fresh tenacity `Retrying` for one image; ``on_retry`` is called before each retry.

    ``sleep`` may just record the wait, for a driver that sleeps in its own way (the client's
    async path sleeps with anyio before the next attempt).
    """
    return Retrying(sleep=sleep, **_common(policy, source, on_retry))
