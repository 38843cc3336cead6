"""The `Segmenter` contract, asserted on every backend: the client on FakeInferenceServer and
LocalSegmenter on a random-weight model, sync and async (asyncio and trio).

Each test takes the ``backend`` fixture, a small object that builds the segmenter under test
and counts the work it has done (requests the server received, or photos the model read), so
that "nothing left running" is checked by watching that count stand still.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from PIL import Image

from segformer_clothes import (
    InvalidImageError,
    SegformerClothesClient,
    SegformerClothesError,
    SegmentationResult,
    Segmenter,
)
from segformer_clothes.testing import FakeInferenceServer


def photo_bytes(width: int, height: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 60, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


BAD = b"these bytes are not an image"


class Backend:
    """One backend under test, with a count of the photos that reached it."""

    def __init__(self, name: str, make: Callable[[], Segmenter], work_done: Callable[[], int]):
        self.name = name
        self.make = make
        self.work_done = work_done

    def __repr__(self) -> str:
        return self.name


@pytest.fixture(scope="module")
def server() -> Iterator[FakeInferenceServer]:
    # A little latency, so that an early break finds photos still in flight.
    with FakeInferenceServer(latency=0.05) as running:
        yield running


@pytest.fixture(scope="module")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from segformer_clothes.local import LocalSegmenter
    from segformer_clothes.testing import save_random_segformer

    folder = save_random_segformer(tmp_path_factory.mktemp("contract_model"))
    return LocalSegmenter(folder, device="cpu", batch_size=2)


class CountingLocal:
    """The module's LocalSegmenter, counting the photos its model was given."""

    def __init__(self, segmenter: Any) -> None:
        self.segmenter = segmenter
        self.seen = 0
        self.lock = threading.Lock()
        original = segmenter._read

        def counted(images: Any) -> Any:
            with self.lock:
                self.seen += len(images)
            return original(images)

        self.counted = counted


@pytest.fixture(
    params=["client", pytest.param("local", marks=pytest.mark.local)],
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "client":
        server: FakeInferenceServer = request.getfixturevalue("server")
        server.reset()
        made: list[SegformerClothesClient] = []

        def make_client() -> Segmenter:
            client = SegformerClothesClient(endpoint_url=server.url, max_concurrency=2)
            made.append(client)
            return client

        yield Backend("client", make_client, lambda: server.requests)
        for client in made:
            client.close()
        return
    segmenter = request.getfixturevalue("local_model")
    counting = CountingLocal(segmenter)
    segmenter._read = counting.counted  # count what each model pass is given
    try:
        yield Backend("local", lambda: segmenter, lambda: counting.seen)
    finally:
        del segmenter._read


def settles(count: Callable[[], int], *, quiet: float = 0.3, timeout: float = 10.0) -> int:
    """Wait until ``count()`` stops changing for ``quiet`` seconds; return its value."""
    deadline = time.monotonic() + timeout
    last = count()
    calm_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = count()
        if now != last:
            last, calm_since = now, time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            return now
    raise AssertionError(f"the work never stopped (count still moving: {last})")


# --------------------------------------------------------------------------- sync


def test_both_backends_are_segmenters(backend):
    assert isinstance(backend.make(), Segmenter)


def test_segment_many_keeps_input_order(backend):
    widths = [40, 16, 72, 8, 33, 50, 21]
    with backend.make() as segmenter:
        sizes = [r.size for r in segmenter.segment_many(photo_bytes(w) for w in widths)]
    assert sizes == [(w, 24) for w in widths]


def test_progress_counts_each_photo_once(backend):
    seen: list[int] = []
    with backend.make() as segmenter:
        results = list(
            segmenter.segment_many([photo_bytes(w) for w in (9, 10, 11)], progress=seen.append)
        )
    assert len(results) == 3
    assert seen == [1, 2, 3]


def test_progress_counts_the_photo_that_raises(backend):
    # (photo, bad bytes, photo) without return_exceptions: the bad photo is done (failed),
    # so it is counted, then raised; the third is never handed out.
    seen: list[int] = []
    with backend.make() as segmenter, pytest.raises(InvalidImageError) as raised:
        for _ in segmenter.segment_many(
            [photo_bytes(10), BAD, photo_bytes(12)], progress=seen.append
        ):
            pass
    assert seen == [1, 2]
    assert raised.value.source == f"<{len(BAD)} bytes>"


def test_return_exceptions_gives_the_error_in_its_place(backend):
    seen: list[int] = []
    inputs = [photo_bytes(10), BAD, photo_bytes(12)]
    with backend.make() as segmenter:
        outcomes = list(
            segmenter.segment_many(inputs, return_exceptions=True, progress=seen.append)
        )
    assert [type(o) for o in outcomes] == [
        SegmentationResult,
        InvalidImageError,
        SegmentationResult,
    ]
    assert seen == [1, 2, 3]


def test_every_result_and_error_carries_its_source(backend, tmp_path: Path):
    good = tmp_path / "look.png"
    good.write_bytes(photo_bytes(20))
    missing = tmp_path / "missing.jpg"
    array = np.zeros((5, 7, 3), dtype=np.uint8)
    with backend.make() as segmenter:
        outcomes = list(segmenter.segment_many([good, missing, array, BAD], return_exceptions=True))
        single = segmenter.segment(good)
    assert [o.source for o in outcomes] == [
        good,
        missing,
        "<array uint8 5x7x3>",
        f"<{len(BAD)} bytes>",
    ]
    assert isinstance(outcomes[1], InvalidImageError)
    assert single.source == good


def test_breaking_out_early_stops_the_work(backend):
    before = threading.active_count()
    with backend.make() as segmenter:
        start = backend.work_done()
        for _ in segmenter.segment_many(photo_bytes(8 + i) for i in range(40)):
            break
        done = settles(backend.work_done) - start
    # Only what was in flight or read ahead when the loop stopped, never the whole input.
    assert done <= 6, f"{done} photos were worked on after an early break"
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before, "a thread of the batch is still running"


def test_segment_raises_the_photos_error(backend):
    with backend.make() as segmenter, pytest.raises(InvalidImageError) as raised:
        segmenter.segment(BAD)
    assert raised.value.source == f"<{len(BAD)} bytes>"


def test_segment_batch_puts_each_error_in_its_place(backend):
    inputs = [photo_bytes(10), BAD, b"", photo_bytes(30), photo_bytes(5)]
    with backend.make() as segmenter:
        outcomes = segmenter.segment_batch(inputs)
        assert segmenter.segment_batch([]) == []
    assert [type(o).__name__ for o in outcomes] == [
        "SegmentationResult",
        "InvalidImageError",
        "InvalidImageError",
        "SegmentationResult",
        "SegmentationResult",
    ]
    assert [o.size for o in outcomes if isinstance(o, SegmentationResult)] == [
        (10, 24),
        (30, 24),
        (5, 24),
    ]
    assert all(o.source is not None for o in outcomes)


def test_segment_batch_equals_segment_many(backend):
    inputs = [photo_bytes(w) for w in (12, 31, 7)]
    with backend.make() as segmenter:
        batch = segmenter.segment_batch(inputs)
        many = list(segmenter.segment_many(inputs))
    assert batch == many


# --------------------------------------------------------------------------- async


@pytest.mark.anyio
async def test_async_order_progress_and_source(backend, anyio_backend):
    widths = [40, 16, 72, 8, 33]
    seen: list[int] = []
    async with backend.make() as segmenter:
        sizes = [
            r.size
            async for r in segmenter.asegment_many(
                [photo_bytes(w) for w in widths], progress=seen.append
            )
        ]
        single = await segmenter.asegment(photo_bytes(11))
    assert sizes == [(w, 24) for w in widths]
    assert seen == [1, 2, 3, 4, 5]
    assert single.size == (11, 24)


@pytest.mark.anyio
async def test_async_progress_counts_the_photo_that_raises(backend, anyio_backend):
    # The sync and async paths agree (before they shared one implementation, the sync path
    # reported [1] and the async one [1, 2]).
    seen: list[int] = []
    async with backend.make() as segmenter:
        with pytest.raises(InvalidImageError) as raised:
            async for _ in segmenter.asegment_many(
                [photo_bytes(10), BAD, photo_bytes(12)], progress=seen.append
            ):
                pass
    assert seen == [1, 2]
    assert raised.value.source == f"<{len(BAD)} bytes>"


@pytest.mark.anyio
async def test_async_return_exceptions(backend, anyio_backend):
    async with backend.make() as segmenter:
        outcomes = [
            o
            async for o in segmenter.asegment_many(
                [photo_bytes(10), BAD, photo_bytes(12)], return_exceptions=True
            )
        ]
        with pytest.raises(InvalidImageError):
            await segmenter.asegment(BAD)
    assert [type(o) for o in outcomes] == [
        SegmentationResult,
        InvalidImageError,
        SegmentationResult,
    ]
    assert isinstance(outcomes[1], SegformerClothesError)
    assert outcomes[1].source == f"<{len(BAD)} bytes>"


@pytest.mark.anyio
async def test_async_early_break_cancels_and_leaks_nothing(backend, anyio_backend):
    tasks_before = _asyncio_tasks(anyio_backend)
    async with backend.make() as segmenter:
        start = backend.work_done()
        async with segmenter.asegment_many(photo_bytes(8 + i) for i in range(40)) as results:
            async for _ in results:
                break
        # After aclose (the `async with`), nothing of the batch runs: once the requests already
        # sent have reached the server (it counts them as they arrive), the count stands still.
        done_at_close = settles(backend.work_done, quiet=0.2) - start
        await anyio.sleep(0.4)
        assert backend.work_done() - start == done_at_close
    assert done_at_close <= 6, f"{done_at_close} photos were worked on after an early break"
    assert _asyncio_tasks(anyio_backend) <= tasks_before, "a task of the batch is still running"


def _asyncio_tasks(anyio_backend: str) -> set[Any]:
    """The asyncio tasks alive now (under trio, the server count above is the check)."""
    if anyio_backend != "asyncio":
        return set()
    import asyncio

    return set(asyncio.all_tasks())


@pytest.mark.anyio
async def test_async_input_may_be_an_async_iterable(backend, anyio_backend):
    async def photos():
        for width in (14, 15, 16):
            await anyio.sleep(0)
            yield photo_bytes(width)

    async with backend.make() as segmenter:
        sizes = [r.size async for r in segmenter.asegment_many(photos())]
    assert sizes == [(14, 24), (15, 24), (16, 24)]
