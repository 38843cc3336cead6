"""The pure retry rules and their use by tenacity's Retrying."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from segformer_clothes.backends.remote.retry import (
    RetryPolicy,
    parse_retry_after,
    retry_delay,
    retrying,
    should_retry,
)
from segformer_clothes.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidImageError,
    ModelLoadingError,
    ModelNotFoundError,
    NetworkError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    ServerError,
    TruncatedResponseError,
)


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("429", status_code=429),
        ServerError("500", status_code=500),
        ServerError("502", status_code=502),
        ModelLoadingError("503", status_code=503, estimated_time=3),
        RequestTimeoutError("timeout"),
        RequestTimeoutError("408", status_code=408),
        NetworkError("reset"),
        TruncatedResponseError("cut", status_code=200),
    ],
)
def test_transient_errors_are_retried(error):
    assert should_retry(error)


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("400", status_code=400),
        AuthenticationError("401", status_code=401),
        AuthenticationError("403", status_code=403),
        ModelNotFoundError("404", status_code=404),
        ResponseFormatError("wrong format"),
        InvalidImageError("not an image"),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not_retried(error):
    assert not should_retry(error)


def test_backoff_is_exponential_capped_with_jitter():
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8)
    error = ServerError("boom", status_code=500)
    full = [retry_delay(n, error, policy, jitter=lambda: 1.0) for n in range(1, 8)]
    assert full == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    half = [retry_delay(n, error, policy, jitter=lambda: 0.0) for n in range(1, 4)]
    assert half == [0.25, 0.5, 1.0]


def test_server_waits_win_and_are_capped():
    policy = RetryPolicy(max_server_wait=30)
    assert retry_delay(1, RateLimitError("x", retry_after=0.25), policy) == 0.25
    assert retry_delay(5, RateLimitError("x", retry_after=3600), policy) == 30
    assert retry_delay(1, ModelLoadingError("x", estimated_time=12.5), policy) == 12.5
    # A 429 without Retry-After backs off like any transient fault.
    assert 0.25 <= retry_delay(1, RateLimitError("x"), policy) <= 0.5


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.25", 0.25), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), ("soon", None)],
)
def test_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(90)
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(earlier, now=now.timestamp()) == 0
    assert parse_retry_after(None) is None


def run_sync(policy: RetryPolicy, failures: list[Exception]) -> tuple[int, list[float]]:
    """Attempts made and waits asked for, failing with ``failures`` then succeeding."""
    waits: list[float] = []
    script = list(failures)
    attempts = 0
    for attempt in retrying(policy, "photo", waits.append):
        with attempt:
            attempts += 1
            if script:
                raise script.pop(0)
    return attempts, waits


def test_retrying_counts_only_charged_retries():
    policy = RetryPolicy(max_retries=1)
    paced = [RateLimitError("429", retry_after=0.1) for _ in range(5)]
    attempts, waits = run_sync(policy, [*paced, ServerError("500")])
    assert attempts == 7
    assert waits[:5] == [0.1] * 5
    with pytest.raises(ServerError):
        run_sync(policy, [ServerError("500"), ServerError("500")])


def test_retrying_reraises_the_last_error_and_stops_at_the_deadline():
    policy = RetryPolicy(max_retries=100, deadline=10)
    failures = [RateLimitError("429", retry_after=4) for _ in range(10)]
    with pytest.raises(RateLimitError):
        run_sync(policy, failures)


def test_not_retried_errors_are_raised_at_once():
    with pytest.raises(BadRequestError):
        run_sync(RetryPolicy(), [BadRequestError("400", status_code=400)])


def test_max_retries_zero_stops_a_paced_429_too():
    policy = RetryPolicy(max_retries=0)
    with pytest.raises(RateLimitError):
        run_sync(policy, [RateLimitError("429", retry_after=0.0)])  # then it would succeed


def test_retry_after_inf_is_capped_at_max_server_wait():
    assert parse_retry_after("inf") == float("inf")
    error = RateLimitError("429", retry_after=parse_retry_after("inf"))
    assert retry_delay(1, error, RetryPolicy(max_server_wait=60)) == 60.0
