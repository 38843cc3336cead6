"""Hostile answers end as typed library errors at bounded cost, over real HTTP to the fake
server's hostile modes; a batch with return_exceptions=True goes on past each of them."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from PIL import Image

from conftest import answer_for, error_response
from segformer_clothes import SegformerClothesClient, SegmentationResult
from segformer_clothes.errors import (
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    SettingError,
)
from segformer_clothes.testing import FakeInferenceServer

PHOTO = Image.new("RGB", (24, 32), "navy")

pytestmark = pytest.mark.timeout(30)

FORMAT_FAULTS = [
    ("deep_json", "nested too deep"),
    ("huge_int", "not readable JSON"),
    ("mask_bomb", "claims 100000x100000 pixels"),
    ("gzip_lie", "content encoding"),
    ("empty", "empty body"),
    ("no_content", "204 with an empty body"),
    ("no_location", "without a Location"),
]


@pytest.mark.parametrize(("fault", "words"), FORMAT_FAULTS)
def test_a_hostile_answer_is_a_format_error_and_not_retried(fault, words):
    with FakeInferenceServer(faults=[fault]) as server:
        client = SegformerClothesClient(endpoint_url=server.url)
        with client, pytest.raises(ResponseFormatError, match=words) as caught:
            client.segment(PHOTO)
        assert server.requests == 1
    assert caught.value.source == "<PIL image RGB 24x32>"


@pytest.mark.anyio
@pytest.mark.parametrize(("fault", "words"), FORMAT_FAULTS)
async def test_a_hostile_answer_is_a_format_error_async(fault, words, anyio_backend):
    with FakeInferenceServer(faults=[fault]) as server:
        async with SegformerClothesClient(endpoint_url=server.url) as client:
            with pytest.raises(ResponseFormatError, match=words):
                await client.asegment(PHOTO)
        assert server.requests == 1


def test_a_redirect_loop_is_named_and_not_retried():
    with FakeInferenceServer(redirect_loop=True) as server:
        client = SegformerClothesClient(endpoint_url=server.url)
        with client, pytest.raises(ResponseFormatError, match="redirects in a loop"):
            client.segment(PHOTO)
        assert server.requests == 1  # its Location is the URL just asked for


def test_a_batch_goes_on_past_every_hostile_answer():
    faults = [fault for fault, _ in FORMAT_FAULTS]
    with (
        FakeInferenceServer(faults=faults) as server,
        SegformerClothesClient(endpoint_url=server.url, max_concurrency=1) as client,
    ):
        outcomes = list(client.segment_many([PHOTO] * (len(faults) + 1), return_exceptions=True))
    assert all(isinstance(outcome, ResponseFormatError) for outcome in outcomes[:-1])
    assert isinstance(outcomes[-1], SegmentationResult)


@pytest.mark.anyio
async def test_an_async_batch_goes_on_past_every_hostile_answer(anyio_backend):
    faults = [fault for fault, _ in FORMAT_FAULTS]
    with FakeInferenceServer(faults=faults) as server:
        async with SegformerClothesClient(endpoint_url=server.url, max_concurrency=1) as client:
            outcomes = [
                outcome
                async for outcome in client.asegment_many(
                    [PHOTO] * (len(faults) + 1), return_exceptions=True
                )
            ]
    assert [type(outcome).__name__ for outcome in outcomes] == ["ResponseFormatError"] * len(
        faults
    ) + ["SegmentationResult"]


def peak_memory_of(call) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("fault", ["bomb", "huge"])
def test_an_answer_past_max_answer_bytes_is_refused_in_bounded_memory(fault):
    cap = 2 * 2**20
    with FakeInferenceServer(faults=[fault], bomb_bytes=64 * 2**20) as server:
        with SegformerClothesClient(endpoint_url=server.url, max_answer_bytes=cap) as client:

            def segment() -> None:
                with pytest.raises(ResponseFormatError, match="max_answer_bytes"):
                    client.segment(PHOTO)

            peak = peak_memory_of(segment)
        assert server.requests == 1
    assert peak < 16 * 2**20  # the 64 MiB answer was never held


@pytest.mark.anyio
async def test_a_gzip_bomb_is_refused_async(anyio_backend):
    with FakeInferenceServer(faults=["bomb"], bomb_bytes=64 * 2**20) as server:
        async with SegformerClothesClient(endpoint_url=server.url, max_answer_bytes=2**20) as c:
            with pytest.raises(ResponseFormatError, match="max_answer_bytes"):
                await c.asegment(PHOTO)


def test_a_compressed_answer_within_the_cap_is_read():
    with (
        FakeInferenceServer(faults=["bomb"], bomb_bytes=3 * 2**20) as server,
        SegformerClothesClient(endpoint_url=server.url) as client,
    ):
        assert client.segment(PHOTO).size == (24, 32)


def test_max_answer_bytes_is_checked():
    for value in (0, -1, 1.5, True):
        with pytest.raises(SettingError, match="max_answer_bytes"):
            SegformerClothesClient(endpoint_url="http://127.0.0.1:9/", max_answer_bytes=value)


@pytest.mark.parametrize("fault", ["trickle", "trickle_headers"])
def test_a_trickled_answer_ends_at_the_timeout(fault):
    # trickle_headers: some 15 kB of head at a byte every 0.05 s, each byte well within the
    # timeout of a single wait on the socket.
    with (
        FakeInferenceServer(faults=[fault], trickle_seconds=0.05) as server,
        SegformerClothesClient(endpoint_url=server.url, timeout=1.0, max_retries=0) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            client.segment(PHOTO)
    # Well under the tens of seconds the trickled answer would take: the timeout cut it off.
    assert 0.9 < time.monotonic() - started < 10.0


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["trickle", "trickle_headers"])
async def test_a_trickled_answer_ends_at_the_timeout_async(anyio_backend, fault):
    with FakeInferenceServer(faults=[fault], trickle_seconds=0.05) as server:
        client = SegformerClothesClient(endpoint_url=server.url, timeout=1.0, max_retries=0)
        async with client:
            started = time.monotonic()
            with pytest.raises(RequestTimeoutError):
                await client.asegment(PHOTO)
    # Well under the tens of seconds the trickled answer would take: the timeout cut it off.
    assert 0.9 < time.monotonic() - started < 10.0


def test_max_retries_zero_does_not_retry_a_paced_429():
    with FakeInferenceServer(faults=["429"] * 3, retry_after=0) as server:
        client = SegformerClothesClient(endpoint_url=server.url, max_retries=0)
        with client, pytest.raises(RateLimitError):
            client.segment(PHOTO)
        assert server.requests == 1


def test_retry_after_inf_is_capped(mock_client):
    never = error_response(429, **{"Retry-After": "inf"})
    client, _ = mock_client(never, answer_for)
    assert client.segment(PHOTO).size == (24, 32)
    assert client.waits.seconds
    assert max(client.waits.seconds) == 60.0


def test_the_rate_limiter_does_not_hold_a_photo_past_its_deadline(make_client, server):
    # One request every 1000 s: the second photo would wait past its 600 s deadline.
    client = make_client(endpoint_url=server.url, requests_per_minute=0.06)
    client.segment(PHOTO)
    with pytest.raises(RateLimitError, match="deadline"):
        client.segment(PHOTO)
    assert server.requests == 1
    assert all(wait <= 600 for wait in client.waits.seconds)


@pytest.mark.anyio
async def test_a_real_retry_after_inf_neither_overflows_nor_sleeps_forever(anyio_backend):
    # Real sleeping here: the pause is capped at max_server_wait, so shrink the cap.
    with FakeInferenceServer(faults=["429"], retry_after=float("inf")) as server:
        client = SegformerClothesClient(endpoint_url=server.url)
        client._policy = type(client._policy)(max_server_wait=0.2)
        client._limiter._max_pause = 0.2
        async with client:
            result = await client.asegment(PHOTO)
        assert result.size == (24, 32)
        with client:
            client.segment(PHOTO)


def test_trickled_heads_end_at_the_timeout_in_a_sync_batch():
    with (
        FakeInferenceServer(faults=["trickle_headers"] * 2, trickle_seconds=0.05) as server,
        SegformerClothesClient(endpoint_url=server.url, timeout=1.0, max_retries=0) as client,
    ):
        started = time.monotonic()
        outcomes = list(client.segment_many([PHOTO, PHOTO], return_exceptions=True))
    assert [type(outcome) for outcome in outcomes] == [RequestTimeoutError] * 2
    assert time.monotonic() - started < 10.0


def test_the_sync_pool_stays_usable_after_a_trickled_head():
    # The first request trickles its head, the next ones are answered at once.
    with (
        FakeInferenceServer(faults=["trickle_headers"], trickle_seconds=0.05) as server,
        SegformerClothesClient(endpoint_url=server.url, timeout=1.0, max_retries=0) as client,
    ):
        with pytest.raises(RequestTimeoutError):
            client.segment(PHOTO)
        # The same pool, its next connections bounded again and answered in full.
        assert client.segment(PHOTO).size == PHOTO.size
        assert client.segment(PHOTO).size == PHOTO.size
