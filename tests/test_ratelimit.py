"""The token bucket, on a fake clock: pacing, bursts, pauses after a 429, learning the limit."""

from __future__ import annotations

import threading

import pytest

from segformer_clothes.backends.remote.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_limit_never_waits():
    limiter = RateLimiter(clock=Clock())
    assert [limiter.reserve() for _ in range(5)] == [0.0] * 5
    assert limiter.rate is None


def test_told_limit_paces_requests():
    limiter = RateLimiter(requests_per_minute=600, clock=Clock())  # 10 per second
    waits = [limiter.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_burst_goes_at_once_then_paced():
    limiter = RateLimiter(requests_per_minute=60, burst=3, clock=Clock())
    assert [limiter.reserve() for _ in range(5)] == pytest.approx([0, 0, 0, 1, 2])


def test_slots_free_up_as_time_passes():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=60, clock=clock)
    assert limiter.reserve() == 0
    clock.now += 5
    assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(1)


def test_a_429_pauses_every_caller():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=6000, clock=clock)
    sent = limiter.sent_at()
    limiter.reserve()
    limiter.on_rate_limited(2.0, sent)
    assert limiter.reserve() == pytest.approx(2.0, abs=0.02)
    assert limiter.reserve() >= 2.0


def test_learns_the_limit_from_retry_after():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    sent = limiter.sent_at()
    for _ in range(8):
        limiter.reserve()
    clock.now += 0.01
    limiter.on_rate_limited(0.05, sent)  # a token-bucket server: next slot in 50 ms
    assert limiter.rate == pytest.approx(20 * 0.95)
    # The other 429s of the same burst were sent before: they do not slow it down again.
    for _ in range(5):
        limiter.on_rate_limited(0.05, sent)
    assert limiter.rate == pytest.approx(20 * 0.95)
    # A 429 for a request sent after the slow-down lowers the rate.
    clock.now += 1
    limiter.on_rate_limited(0.05, limiter.sent_at())
    assert limiter.rate == pytest.approx(20 * 0.95 * 0.9)


def test_learned_rate_creeps_up_and_a_told_one_stays_under_its_limit():
    clock = Clock()
    learned = RateLimiter(clock=clock)
    learned.on_rate_limited(0.1, clock())
    start = learned.rate
    assert start is not None
    for _ in range(100):
        learned.on_success()
    assert learned.rate is not None
    assert learned.rate > start
    told = RateLimiter(requests_per_minute=600, clock=clock)
    told.on_rate_limited(0.1, clock())
    assert told.rate == pytest.approx(9)
    for _ in range(1000):
        told.on_success()
    assert told.rate == pytest.approx(10)


def test_bad_settings():
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(requests_per_minute=-1)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(requests_per_minute=60, burst=0)


def test_threads_get_distinct_slots():
    limiter = RateLimiter(requests_per_minute=60_000, clock=lambda: 0.0)  # 1 ms apart
    waits: list[float] = []
    lock = threading.Lock()

    def book() -> None:
        for _ in range(100):
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=book) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(w * 1000) for w in waits) == list(range(400))


def test_sync_and_async_calls_share_one_bucket(mock_client):
    from PIL import Image

    from conftest import answer_for, error_response

    client, _ = mock_client(
        error_response(429, **{"Retry-After": "5"}), answer_for, requests_per_minute=60
    )
    client.segment(Image.new("RGB", (8, 8)))
    # The 429 met by the sync call pushed the shared schedule: the next caller waits too.
    assert client._limiter.reserve() > 4


def test_learns_a_fixed_window_limit_from_the_answers_so_far():
    # 60 requests a minute, spent in the first 3 s; the 429 says the window ends in 57 s.
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    for _ in range(60):
        limiter.reserve()
        limiter.on_success()
        clock.now += 0.05
    limiter.on_rate_limited(57.0, clock())
    assert limiter.rate == pytest.approx(60 / 60 * 0.95)


def test_a_pause_after_a_429_is_capped_even_at_inf():
    clock = Clock()
    limiter = RateLimiter(clock=clock, max_pause=60)
    limiter.reserve()
    limiter.on_rate_limited(float("inf"), sent_at=clock.now)
    wait = limiter.reserve()
    assert wait is not None
    assert wait == pytest.approx(60.0)


def test_reserve_within_books_nothing_past_its_limit():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=60, clock=clock)
    assert limiter.reserve() == 0
    assert limiter.reserve(within=0.5) is None  # the next slot is 1 s away
    assert limiter.reserve(within=5) == pytest.approx(1.0)  # the refused one took no slot


def test_max_pause_must_not_be_negative():
    with pytest.raises(ValueError, match="max_pause"):
        RateLimiter(max_pause=-1)
