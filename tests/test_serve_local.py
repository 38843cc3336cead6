"""`segformer-clothes serve` on the real SegFormer code (`LocalSegmenter`, a random-weight tiny
model): our client and ``huggingface_hub`` against it, and the command stopped while busy.

Every server listens on a free port of 127.0.0.1 and is stopped by the test, by its handle or
by its process id.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from segformer_clothes import SegformerClothesClient
from segformer_clothes.serve import ServeSettings
from serve_support import drawn_photo, encoded, post

pytestmark = [pytest.mark.local, pytest.mark.serve, pytest.mark.integration]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segformer_clothes.testing import save_random_segformer

    return save_random_segformer(tmp_path_factory.mktemp("served_model"))


@pytest.fixture(scope="module")
def local(model: Path):  # type: ignore[no-untyped-def]
    from segformer_clothes.local import LocalSegmenter

    return LocalSegmenter(model, device="cpu", batch_size=1)


def photos(folder: Path) -> list[Path]:
    """Photos of several sizes, EXIF-rotated JPEGs and a PNG among them, on disk."""
    made = []
    for index, (size, orientation) in enumerate(
        [((64, 48), None), ((50, 70), 6), ((80, 40), 3), ((45, 45), 8), ((33, 57), 5)]
    ):
        path = folder / f"photo_{index}.jpg"
        path.write_bytes(encoded(drawn_photo(size, seed=index), orientation=orientation))
        made.append(path)
    png = folder / "photo.png"
    png.write_bytes(encoded(drawn_photo((40, 30), seed=9), "PNG"))
    return [*made, png]


@pytest.mark.parametrize("max_batch_size", [1, 4])
def test_our_client_gets_the_label_maps_of_local_segmenter(
    model: Path, local, tmp_path: Path, max_batch_size: int
) -> None:
    from segformer_clothes.local import LocalSegmenter
    from segformer_clothes.serve import SegmentationServer

    paths = photos(tmp_path)
    expected = local.segment_batch(paths)
    served = LocalSegmenter(model, device="cpu", batch_size=max_batch_size)
    settings = ServeSettings(max_batch_size=max_batch_size, max_wait_ms=100)
    with SegmentationServer(served, settings=settings, port=0) as server:
        with SegformerClothesClient(endpoint_url=server.url, max_concurrency=6) as client:
            results = list(client.segment_many(paths))
        batches = server.metrics.snapshot()["max_batch_size_seen"]
    assert [r.size for r in results] == [e.size for e in expected]
    assert [r.size for r in results][1] == (70, 50)  # the EXIF rotation was applied
    for result, reference in zip(results, expected, strict=True):
        assert np.array_equal(result.label_map, reference.label_map), result.source
    if max_batch_size > 1:
        assert batches > 1  # six photos at once: at least one batch held several


def test_huggingface_hub_inference_client_reads_the_served_model(model: Path, local, tmp_path):
    from huggingface_hub import InferenceClient

    from segformer_clothes import SegmentationResult
    from segformer_clothes.serve import SegmentationServer

    path = photos(tmp_path)[1]
    reference = local.segment(path)
    with SegmentationServer(local, port=0) as server:
        answer = InferenceClient(model=server.url).image_segmentation(path)
    assert [element.label for element in answer] == list(reference.labels_present)
    label_map = np.zeros(reference.label_map.shape, np.uint8)
    for element in answer:
        assert element.mask.size == reference.size
        label_map[np.asarray(element.mask) > 127] = reference.labels.id(element.label)
    assert np.array_equal(label_map, reference.label_map)
    assert isinstance(reference, SegmentationResult)


def started(*options: str) -> subprocess.Popen[str]:
    """`segformer-clothes serve OPTIONS` as a process (on a free port, say ``--port 0``)."""
    command = [sys.executable, "-m", "segformer_clothes.cli", "serve", *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while httpx.get(url + "health").status_code != 200:  # 503 while the model loads
        assert time.monotonic() < deadline, "the model never loaded"
        time.sleep(0.1)


@pytest.fixture
def serve_process(model: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`segformer-clothes serve` as a process on a free port; stopped by its own pid."""
    with started(
        "--model", str(model), "--port", "0", "--device", "cpu",
        "--max-batch-size", "8", "--max-wait-ms", "1500",
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield process, url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


def test_sigterm_while_busy_answers_the_requests_in_flight(serve_process) -> None:
    process, url = serve_process
    wait_until_ready(url)
    photo = encoded(drawn_photo((60, 80)))
    with ThreadPoolExecutor(4) as pool:
        in_flight = [pool.submit(post, url, photo) for _ in range(4)]
        # The batch waits up to 1.5 s to fill: the four are admitted and waiting when the
        # signal comes.
        while httpx.get(url + "metrics").json()["admitted"] < 4:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        responses = [future.result(timeout=60) for future in in_flight]
    assert [response.status_code for response in responses] == [200] * 4
    assert all(json.loads(r.content)[0]["label"] == "Background" for r in responses)
    assert process.wait(timeout=60) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "Shutting down" in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "health")


def test_left_out_the_batch_size_follows_the_device_auto_picks(model: Path) -> None:
    import torch

    with started("--model", str(model), "--port", "0") as process:  # --device auto
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            wait_until_ready(url)
            metrics = httpx.get(url + "metrics").json()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    assert metrics["max_batch_size"] == (8 if torch.cuda.is_available() else 2)
