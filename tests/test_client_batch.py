"""Batches against the fake server: order, faults, bounded concurrency and read-ahead, early
break, ``return_exceptions``, the running-event-loop case, and clients closed after use."""

from __future__ import annotations

import asyncio
import gc
import io
import itertools
import threading
import time
import warnings
from contextlib import aclosing
from typing import Any

import anyio
import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import no_sleeping, photo
from segformer_clothes import (
    InvalidImageError,
    ModelNotFoundError,
    SegformerClothesClient,
    SegmentationResult,
)
from segformer_clothes.backends.ordered import OrderedMap
from segformer_clothes.testing import FakeInferenceServer, pixel_labels

pytestmark = pytest.mark.integration

TRANSIENT = ("429", "503", "loading", "500", "502", "drop", "truncate")


def expected(index: int) -> np.ndarray:
    return pixel_labels(photo(index))


def check_in_order(results: list[SegmentationResult], count: int) -> None:
    assert len(results) == count
    for index, result in enumerate(results):
        assert isinstance(result, SegmentationResult), result
        assert np.array_equal(result.label_map, expected(index)), index


def test_batch_through_30_percent_faults_comes_back_complete_in_order():
    images = [photo(i) for i in range(60)]
    server = FakeInferenceServer(fault_rate=0.3, fault_kinds=TRANSIENT, seed=3, retry_after=0)
    with server, SegformerClothesClient(endpoint_url=server.url, max_concurrency=6) as client:
        no_sleeping(client)
        results = list(client.segment_many(images))
    check_in_order(results, 60)
    assert server.requests - 60 >= 10  # the faults really happened...
    assert client.stats.succeeded == 60  # ...and no image was lost
    assert client.stats.failed == 0
    assert client.stats.retries == server.requests - 60


@pytest.mark.anyio
async def test_async_batch_through_30_percent_faults(anyio_backend):
    images = [photo(i) for i in range(50)]
    server = FakeInferenceServer(fault_rate=0.3, fault_kinds=TRANSIENT, seed=5, retry_after=0)
    with server:
        async with SegformerClothesClient(endpoint_url=server.url, max_concurrency=5) as client:
            no_sleeping(client)
            results = [r async for r in client.asegment_many(images)]
    check_in_order(results, 50)
    assert server.requests > 60
    assert client.stats.failed == 0


def test_concurrency_is_bounded():
    with (
        FakeInferenceServer(latency=0.05) as server,
        SegformerClothesClient(endpoint_url=server.url, max_concurrency=3) as client,
    ):
        results = list(client.segment_many(photo(i) for i in range(12)))
    check_in_order(results, 12)
    assert 2 <= server.max_in_flight <= 3


@pytest.mark.anyio
async def test_async_concurrency_is_bounded(anyio_backend):
    with FakeInferenceServer(latency=0.05) as server:
        async with SegformerClothesClient(endpoint_url=server.url, max_concurrency=2) as client:
            results = [r async for r in client.asegment_many([photo(i) for i in range(8)])]
    check_in_order(results, 8)
    assert server.max_in_flight == 2


class Catalogue:
    """A lazy, endless catalogue counting how far it was read."""

    def __init__(self) -> None:
        self.read = 0

    def __iter__(self):
        for index in itertools.count():
            self.read += 1
            yield photo(index % 40)


def test_a_lazy_endless_input_is_read_only_a_little_ahead(server):
    catalogue = Catalogue()
    with SegformerClothesClient(endpoint_url=server.url, max_concurrency=4) as client:
        results = []
        for result in client.segment_many(catalogue):
            results.append(result)
            if len(results) == 20:
                break
    check_in_order(results, 20)
    assert catalogue.read <= 20 + 2 * 4
    assert server.requests <= 20 + 2 * 4


@pytest.mark.anyio
async def test_async_input_may_be_an_async_iterable(server, anyio_backend):
    async def catalogue():
        for index in range(5):
            await anyio.sleep(0)
            yield photo(index)

    async with SegformerClothesClient(endpoint_url=server.url) as client:
        results = [r async for r in client.asegment_many(catalogue())]
    check_in_order(results, 5)


def test_return_exceptions_yields_errors_in_place(server, tmp_path):
    missing = tmp_path / "missing.jpg"
    images = [photo(0), missing, photo(2), b"not an image", photo(4)]
    with SegformerClothesClient(endpoint_url=server.url) as client:
        results = list(client.segment_many(images, return_exceptions=True))
    assert [type(r).__name__ for r in results] == [
        "SegmentationResult",
        "InvalidImageError",
        "SegmentationResult",
        "InvalidImageError",
        "SegmentationResult",
    ]
    assert results[1].source == missing
    assert results[3].source == "<12 bytes>"
    assert np.array_equal(results[4].label_map, expected(4))
    assert client.stats.failed == 2


def test_without_return_exceptions_the_first_error_is_raised_in_order(server, tmp_path):
    images = [photo(0), photo(1), tmp_path / "missing.jpg", photo(3)]
    with SegformerClothesClient(endpoint_url=server.url) as client:
        results = client.segment_many(images)
        seen = [next(results), next(results)]
        with pytest.raises(InvalidImageError) as caught:
            next(results)
    assert len(seen) == 2
    assert caught.value.source == tmp_path / "missing.jpg"


@pytest.mark.anyio
async def test_async_return_exceptions_carries_source_of_api_errors(anyio_backend):
    with FakeInferenceServer(not_found=True) as server:
        async with SegformerClothesClient(endpoint_url=server.url) as client:
            results = [
                r async for r in client.asegment_many([photo(0), b"junk"], return_exceptions=True)
            ]
    assert isinstance(results[0], ModelNotFoundError)
    assert results[0].source == "<PIL image RGB 30x20>"
    assert isinstance(results[1], InvalidImageError)


def test_progress_callback_counts_images_in_the_callers_thread(server):
    seen = []

    def progress(done: int) -> None:
        seen.append((done, threading.current_thread() is threading.main_thread()))

    with SegformerClothesClient(endpoint_url=server.url) as client:
        list(client.segment_many([photo(i) for i in range(5)], progress=progress))
    assert seen == [(1, True), (2, True), (3, True), (4, True), (5, True)]


@pytest.mark.anyio
async def test_async_progress_callback(server, anyio_backend):
    seen: list[int] = []
    async with SegformerClothesClient(endpoint_url=server.url) as client:
        async for _ in client.asegment_many([photo(0), photo(1)], progress=seen.append):
            pass
    assert seen == [1, 2]


@pytest.mark.anyio
async def test_closing_while_a_next_is_still_waiting(anyio_backend):
    # What a sync batch interrupted by Ctrl-C leaves behind: a __anext__ still running in the
    # batch's loop while the batch is closed.
    async def slow(item: int) -> int:
        await anyio.sleep(10)
        return item

    outcomes = OrderedMap(range(10), slow, window=4, concurrency=2)
    async with anyio.create_task_group() as group:
        group.start_soon(outcomes.__anext__)
        await anyio.sleep(0.05)
        with anyio.fail_after(5):
            await outcomes.aclose()


# ---------------------------------------------------------------------- early break


def batch_threads() -> list[str]:
    """Names of the threads a sync batch starts (its event loop and that loop's workers)."""
    return [
        thread.name
        for thread in threading.enumerate()
        if thread.name.startswith(("asyncio-portal", "AnyIO worker"))
    ]


def wait_for_batch_threads_to_end() -> list[str]:
    for _ in range(200):  # worker threads leave a moment after their loop closed
        if not batch_threads():
            break
        time.sleep(0.01)
    return batch_threads()


def first_fast_then_slow(image: Image.Image) -> np.ndarray:
    """Answers photo(0) at once and every other photo after 2 s: at a break after the first
    result, the others are surely still in flight."""
    if image.size != photo(0).size:
        time.sleep(2)
    return pixel_labels(image)


def test_sync_early_break_cancels_and_leaves_no_thread():
    with (
        FakeInferenceServer(answer=first_fast_then_slow) as server,
        SegformerClothesClient(endpoint_url=server.url, max_concurrency=4) as client,
    ):
        for _ in client.segment_many(photo(i) for i in range(100)):
            break
        assert client.stats.succeeded == 1
        # Three or four were in flight (the first one's slot may have gone to the next).
        assert 4 <= client.stats.requests <= 5
        assert client.stats.failed == 0  # cancelled is not failed
    assert wait_for_batch_threads_to_end() == []


async def _running_tasks() -> int:
    return len(anyio.get_running_tasks())


@pytest.mark.anyio
async def test_async_early_break_cancels_what_is_in_flight(anyio_backend):
    with FakeInferenceServer(answer=first_fast_then_slow) as server:
        async with SegformerClothesClient(endpoint_url=server.url, max_concurrency=4) as client:
            tasks_before = await _running_tasks()
            results = client.asegment_many(photo(i) for i in range(50))
            async with aclosing(results):
                async for _ in results:
                    break
            assert await _running_tasks() == tasks_before
            assert client.stats.succeeded == 1
            assert 4 <= client.stats.requests <= 5  # the others in flight were dropped
            assert client.stats.failed == 0


@pytest.mark.anyio
async def test_async_plain_break_leaks_nothing(anyio_backend):
    # No aclosing: dropping the iterator cancels its workers.
    with FakeInferenceServer(answer=first_fast_then_slow) as server:
        async with SegformerClothesClient(endpoint_url=server.url, max_concurrency=3) as client:
            tasks_before = await _running_tasks()
            async for _ in client.asegment_many(photo(i) for i in range(30)):
                break
            gc.collect()
            with anyio.fail_after(1.5):  # well before the slow answers would come
                while await _running_tasks() > tasks_before:
                    await anyio.sleep(0.01)
            assert client.stats.succeeded == 1
            assert 3 <= client.stats.requests <= 4


# ---------------------------------------------------------------------- running loop


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sync_methods_work_inside_a_running_event_loop(server, anyio_backend):
    asyncio.get_running_loop()  # as in a Jupyter cell, where asyncio.run() would fail
    with SegformerClothesClient(endpoint_url=server.url) as client:
        one = client.segment(photo(0))
        many = list(client.segment_many([photo(i) for i in range(4)]))
        for _ in client.segment_many([photo(i) for i in range(4)]):
            break
    assert np.array_equal(one.label_map, expected(0))
    check_in_order(many, 4)
    assert wait_for_batch_threads_to_end() == []


# ---------------------------------------------------------------------- closing


def test_clients_are_closed_after_use(server, monkeypatch):
    made: list[httpx.AsyncClient] = []
    client = SegformerClothesClient(endpoint_url=server.url)
    original = client._pools.new_async

    def tracked() -> httpx.AsyncClient:
        made.append(original())
        return made[-1]

    monkeypatch.setattr(client._pools, "new_async", tracked)
    with client:
        client.segment(photo(0))
        list(client.segment_many([photo(1), photo(2)]))
        own = client._pools.sync_pool
    assert own is not None
    assert own.is_closed
    assert made
    assert all(http.is_closed for http in made)


def test_injected_clients_are_not_closed(server):
    given = httpx.Client()
    with SegformerClothesClient(endpoint_url=server.url, http_client=given) as client:
        client.segment(photo(0))
    assert not given.is_closed
    given.close()


@pytest.mark.anyio
async def test_async_context_closes_its_async_client(server, anyio_backend):
    async with SegformerClothesClient(endpoint_url=server.url) as client:
        await client.asegment(photo(0))
        own = client._pools.async_pool
    assert own is not None
    assert own.is_closed


@pytest.mark.parametrize("runner", ["asyncio", "trio"])
def test_a_plain_with_closes_the_pool_of_an_event_loop_it_used(server, runner):
    # A sync `with` cannot await the pool of the loop the async calls ran on: the loop closes
    # it as it ends, so that none of its connections is left open.
    pools = []

    async def segment_on_the_loop(client: SegformerClothesClient) -> list[tuple[int, int]]:
        sizes = [result.size async for result in client.asegment_many([photo(0), photo(1)])]
        pools.append(client._pools.async_pool)
        return sizes

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SegformerClothesClient(endpoint_url=server.url) as client:
            sizes = anyio.run(segment_on_the_loop, client, backend=runner)
            assert pools[0] is not None
            assert pools[0].is_closed  # by the end of its loop, before the client closed
        del client
        gc.collect()
    assert len(sizes) == 2
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


# ---------------------------------------------------------------------- photos


def exif_rotated_jpeg() -> tuple[bytes, Image.Image]:
    """A JPEG stored 60x30 with EXIF orientation 6: people see it 30x60."""
    stored = Image.new("RGB", (60, 30), "white")
    stored.paste(Image.new("RGB", (30, 30), "navy"), (0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    data = buffer.getvalue()
    from PIL import ImageOps

    return data, ImageOps.exif_transpose(Image.open(io.BytesIO(data)))


def test_exif_rotated_jpeg_lines_up_with_the_photo_as_seen(server, tmp_path):
    data, upright = exif_rotated_jpeg()
    path = tmp_path / "rotated.jpg"
    path.write_bytes(data)
    with SegformerClothesClient(endpoint_url=server.url) as client:
        for given in (path, data):
            result = client.segment(given)
            assert result.size == (30, 60)
            assert np.array_equal(result.label_map, pixel_labels(upright))
            assert result.overlay().size == (30, 60)
            crop = result.crop("upper-clothes")
            assert crop is not None


def test_exif_rotated_jpeg_with_max_side(server):
    data, _ = exif_rotated_jpeg()
    with SegformerClothesClient(endpoint_url=server.url, max_side=20) as client:
        result = client.segment(data)
    assert result.size == (30, 60)
    assert result.overlay().size == (30, 60)


def test_every_kind_of_input(server, tmp_path):
    pil = photo(1)
    path = tmp_path / "photo.png"
    pil.save(path)
    with SegformerClothesClient(endpoint_url=server.url) as client, path.open("rb") as file:
        inputs = [str(path), path, path.read_bytes(), file, pil, np.asarray(pil)]
        results = list(client.segment_many(inputs))
    for result in results:
        assert np.array_equal(result.label_map, expected(1))
    assert [h["content-type"] for h in server.headers_seen] == ["image/png"] * 6


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sync_batch_after_async_calls_uses_a_pool_of_its_own(server, anyio_backend):
    async with SegformerClothesClient(endpoint_url=server.url) as client:
        await client.asegment(photo(0))  # the client's async pool now lives in this loop
        results = list(client.segment_many([photo(1), photo(2)]))  # another loop, a thread
        assert [r.size for r in results] == [photo(1).size, photo(2).size]
        assert (await client.asegment(photo(3))).size == photo(3).size


def test_one_client_across_several_event_loops(server):
    # Two asyncio.run() calls and a trio.run(): each loop gets a connection pool of its own.
    import trio

    client = SegformerClothesClient(endpoint_url=server.url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the dead loops' pools, collected
        assert asyncio.run(client.asegment(photo(0))).size == photo(0).size
        assert asyncio.run(client.asegment(photo(1))).size == photo(1).size
        assert trio.run(client.asegment, photo(2)).size == photo(2).size
        trio.run(client.aclose)
        gc.collect()


@pytest.mark.anyio
async def test_answers_are_parsed_off_the_event_loop(server, anyio_backend):
    loop_thread = threading.current_thread()
    parsed_in: list[threading.Thread] = []
    async with SegformerClothesClient(endpoint_url=server.url) as client:
        finish = client._finish

        def recording_finish(*args):
            parsed_in.append(threading.current_thread())
            return finish(*args)

        client._finish = recording_finish  # type: ignore[method-assign]
        await client.asegment(photo(0))
        async for _ in client.asegment_many([photo(1), photo(2)]):
            pass
    assert len(parsed_in) == 3
    assert loop_thread not in parsed_in


def test_an_input_that_fails_midway_still_gives_what_came_before(server):
    def catalogue():
        yield photo(0)
        yield photo(1)
        raise OSError("the catalogue's disk went away")

    with SegformerClothesClient(endpoint_url=server.url) as client:
        results = client.segment_many(catalogue())
        seen = [next(results), next(results)]
        with pytest.raises(OSError, match="went away"):
            next(results)
    check_in_order(seen, 2)


def test_one_client_shared_by_threads(server):
    from concurrent.futures import ThreadPoolExecutor

    client = SegformerClothesClient(endpoint_url=server.url)
    with client, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(client.segment, [photo(i) for i in range(18)]))
    check_in_order(results, 18)
    assert client.stats.requests == 18
    assert client.stats.succeeded == 18


def test_a_batch_closed_inside_its_own_worker_thread_does_not_deadlock():
    # The garbage collector may finalise a dropped iterator in any thread, a worker of its own
    # batch included. Closing there must not wait for the batch, which waits for that worker.
    from segformer_clothes import SegmentationResult
    from segformer_clothes.backends import BaseSegmenter

    holder: dict[str, Any] = {}
    closed_inside = threading.Event()
    first_delivered = threading.Event()

    def work(images: list[Any]) -> list[Any]:
        if images == ["second"]:
            first_delivered.wait(10)  # the consumer holds the first result and stops iterating
            holder["results"].close()  # what a collection in this thread would do
            closed_inside.set()
        return [SegmentationResult(np.zeros((2, 2), np.uint8)) for _ in images]

    class InWorkerThreads(BaseSegmenter):
        _concurrency = 2

        async def _asegment_chunk(self, images):
            return await anyio.to_thread.run_sync(work, images)

    threads_before = threading.active_count()
    results = InWorkerThreads().segment_many(["first", "second", "third"])
    holder["results"] = results
    assert next(results).size == (2, 2)  # "second" is read ahead, in a worker thread
    first_delivered.set()
    assert closed_inside.wait(10), "the close inside the worker thread did not return"
    deadline = time.monotonic() + 10
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() <= threads_before
    assert next(results, None) is None  # closed: nothing more comes
