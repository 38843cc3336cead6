"""`segformer-clothes serve`: dynamic batching against the same server one request at a time.

Eight clients POST photos at once, each sending its next photo when its previous answer came
(so eight requests are always in flight), to two servers run side by side in this process,
on the same random-weight SegFormer the size of SegFormer-B3 (the clothes model's size), on the
CPU:

- ours: `SegmentationServer` with dynamic batching (gathered within 50 ms, up to 2 photos a
  batch on the CPU, 8 on a GPU), photos decoded and answers encoded in worker threads beside
  the model's own;
- one request at a time: the same server, batches of 1, and each request handled start to end
  before the next one starts (decode, model, encode), as the serving container of a dedicated
  Inference Endpoint does.

Both answer the same photos, catalogue-sized JPEGs; the label maps of the two are compared
first (equal, or almost: batching changes the float sums a little). The rounds alternate
between the two servers so that a busy moment on the machine falls on both alike. Reported:
images per second, and the p50 and p95 latency of a request (from sending it to its complete
answer), over every request of the rounds. Quick mode: the tiny model, small photos, one short
round. When torch sees a CUDA GPU, the B3-sized model is also measured there in float16.

The CPU batch is 2 because that is where the network is fastest per photo on a 2-core CPU:
larger batches outgrow the caches. The run measures it first, the network alone on the same
photos in batches of 1, 2, 4 and 8, so that RESULTS.md shows why.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from _harness import Measurement
from segformer_clothes import SegmentationResult
from segformer_clothes.local import LocalSegmenter
from segformer_clothes.serve import SegmentationServer, ServeSettings
from segformer_clothes.testing import (
    B3_SEGFORMER_SIZES,
    TINY_SEGFORMER_SIZES,
    save_random_segformer,
)

CLIENTS = 8
# The most photos a batch of the batching server: on a GPU as many as there are clients; on the
# CPU the batch at which the network is fastest per photo (see `network_batches`).
MAX_BATCH = {"cpu": 2, "cuda": CLIENTS}
SWEEP = (1, 2, 4, 8)
BASELINE = "one request at a time"
TARGET = f">= 1.5x {BASELINE}"
PHOTO_SIZES = [(1080, 1440), (768, 1024), (1200, 800), (1024, 1024)]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


class OneAtATime:
    """An ASGI wrapper that lets one POST through at a time, start to end: the baseline."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lock: Any = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.lock is None:
            import asyncio

            self.lock = asyncio.Lock()
        async with self.lock:
            await self.app(scope, receive, send)


def photo_jpeg(seed: int, size: tuple[int, int]) -> bytes:
    """A photo-like JPEG: smooth colour regions plus a little grain."""
    generator = np.random.default_rng(seed)
    small = generator.integers(0, 256, size=(12, 9, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC))
    grain = generator.integers(-8, 9, size=smooth.shape)
    pixels = np.clip(smooth + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _post(client: httpx.Client, url: str, photo: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = client.post(url, content=photo, headers={"Content-Type": "image/jpeg"})
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise AssertionError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return seconds, response.content


def _round(url: str, photos: list[bytes], per_client: int) -> tuple[float, list[float]]:
    """Eight clients, each sending ``per_client`` photos one after the other; returns the
    images per second and every request's latency in ms."""

    def one_client(index: int) -> list[float]:
        latencies = []
        with httpx.Client(timeout=600) as client:
            for k in range(per_client):
                seconds, _ = _post(client, url, photos[(index + k) % len(photos)])
                latencies.append(seconds * 1000)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = [ms for client in pool.map(one_client, range(CLIENTS)) for ms in client]
    return len(latencies) / (time.perf_counter() - started), latencies


def _p95(samples: list[float]) -> float:
    return float(np.percentile(samples, 95))


def _agreement(ours_url: str, theirs_url: str, photo: bytes) -> float:
    with httpx.Client(timeout=600) as client:
        maps = [
            SegmentationResult.from_response(_post(client, url, photo)[1]).label_map
            for url in (ours_url, theirs_url)
        ]
    return float((maps[0] == maps[1]).mean())


def network_batches(name: str, folder: Path, photos: list[bytes], device: str) -> Measurement:
    """`LocalSegmenter.segment_batch` alone (what the server calls), photos per second in
    batches of each size of SWEEP, over the same decoded photos, the sizes interleaved."""
    decoded = [Image.open(io.BytesIO(photo)).convert("RGB") for photo in photos]
    segmenters = {size: LocalSegmenter(folder, device=device, batch_size=size) for size in SWEEP}
    rates: dict[int, list[float]] = {size: [] for size in SWEEP}
    segmenters[1].segment_batch(decoded[:1])  # warm-up
    for _ in range(2):
        for size, segmenter in segmenters.items():
            started = time.perf_counter()
            segmenter.segment_batch(decoded)
            rates[size].append(len(decoded) / (time.perf_counter() - started))
    ours = MAX_BATCH[device]
    return Measurement(
        name=f"{name}: segment_batch alone, batches of {ours}",
        unit="images/s",
        higher_is_better=True,
        ours=rates[ours],
        baselines={f"batches of {size}": rates[size] for size in SWEEP if size != ours},
        target=f"report (why the batching server runs batches of {ours} here)",
        notes=f"{len(decoded)} photos a sample, device {device}, float32, random weights",
    )


def _compare(
    name: str, folder: Path, photos: list[bytes], *, rounds: int, per_client: int, device: str
) -> list[Measurement]:
    dtype = "float16" if device == "cuda" else "float32"
    max_batch = MAX_BATCH[device]
    batching = SegmentationServer(
        LocalSegmenter(folder, device=device, dtype=dtype, batch_size=max_batch),
        settings=ServeSettings(max_batch_size=max_batch, max_wait_ms=50),
        port=0,
    )
    single = SegmentationServer(
        LocalSegmenter(folder, device=device, dtype=dtype, batch_size=1),
        settings=ServeSettings(max_batch_size=1, max_wait_ms=0),
        port=0,
    )
    single.app = OneAtATime(single.app)  # type: ignore[assignment]
    rates: dict[str, list[float]] = {"ours": [], BASELINE: []}
    latencies: dict[str, list[float]] = {"ours": [], BASELINE: []}
    p95s: dict[str, list[float]] = {"ours": [], BASELINE: []}
    with batching, single:
        agreement = _agreement(batching.url, single.url, photos[0])  # also warms both up
        for _ in range(rounds):
            for who, server in (("ours", batching), (BASELINE, single)):
                rate, round_latencies = _round(server.url, photos, per_client)
                rates[who].append(rate)
                latencies[who].extend(round_latencies)
                p95s[who].append(_p95(round_latencies))
        batches = batching.metrics.snapshot()
    if agreement < 0.999:
        raise AssertionError(f"{name}: only {agreement:.4%} of pixels agree between the servers")
    requests = rounds * CLIENTS * per_client
    sizes = sorted(
        {f"{Image.open(io.BytesIO(p)).width}x{Image.open(io.BytesIO(p)).height}" for p in photos}
    )
    notes = (
        f"{CLIENTS} clients, {requests} requests per server over {rounds} round(s), JPEG photos "
        f"({', '.join(sizes)}), device {device}, {dtype}, random weights; batching server: up "
        f"to {max_batch} photos a batch within 50 ms, mean batch "
        f"{batches['mean_batch_size']:.2f}, sizes {batches['batch_sizes']}; label maps agree on "
        f"{agreement:.2%} of pixels; p50 over all requests: ours "
        f"{statistics.median(latencies['ours']):.0f} ms, {BASELINE} "
        f"{statistics.median(latencies[BASELINE]):.0f} ms"
    )
    return [
        Measurement(
            name=f"{name}: throughput, {CLIENTS} concurrent clients",
            unit="images/s",
            higher_is_better=True,
            ours=rates["ours"],
            baselines={BASELINE: rates[BASELINE]},
            target=TARGET if device == "cpu" else "report images/s",
            notes=notes,
        ),
        Measurement(
            name=f"{name}: p50 latency",
            unit="ms",
            higher_is_better=False,
            ours=latencies["ours"],
            baselines={BASELINE: latencies[BASELINE]},
            target="report (every request's latency is a sample: the median is the p50)",
            notes=f"{requests} requests per server",
        ),
        Measurement(
            name=f"{name}: p95 latency",
            unit="ms",
            higher_is_better=False,
            ours=p95s["ours"],
            baselines={BASELINE: p95s[BASELINE]},
            target="report (one sample per round: that round's p95)",
            notes=(
                f"over all requests: ours {_p95(latencies['ours']):.0f} ms, "
                f"{BASELINE} {_p95(latencies[BASELINE]):.0f} ms"
            ),
        ),
    ]


def run(quick: bool = False) -> list[Measurement]:
    """Throughput and latency of 8 concurrent clients: dynamic batching against one request at
    a time, on a B3-sized SegFormer on the CPU (the tiny one in quick mode)."""
    import torch

    sizes = [(120, 160), (96, 72)] if quick else PHOTO_SIZES
    photos = [photo_jpeg(seed, sizes[seed % len(sizes)]) for seed in range(len(sizes) * 2)]
    with tempfile.TemporaryDirectory() as scratch:
        if quick:
            tiny = save_random_segformer(
                Path(scratch) / "tiny", sizes=TINY_SEGFORMER_SIZES, image_size=512
            )
            sweep = network_batches("tiny SegFormer, CPU", tiny, photos, device="cpu")
            return [
                sweep,
                *_compare(
                    "tiny SegFormer, CPU", tiny, photos, rounds=1, per_client=1, device="cpu"
                ),
            ]
        b3 = save_random_segformer(
            Path(scratch) / "b3", sizes=B3_SEGFORMER_SIZES, decoder_hidden_size=768, image_size=512
        )
        measurements = [network_batches("SegFormer-B3 size, CPU", b3, photos, device="cpu")]
        measurements += _compare(
            "SegFormer-B3 size, CPU", b3, photos, rounds=2, per_client=4, device="cpu"
        )
        if torch.cuda.is_available():
            measurements += _compare(
                "SegFormer-B3 size, GPU", b3, photos, rounds=3, per_client=16, device="cuda"
            )
    return measurements


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
