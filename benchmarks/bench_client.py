"""The client against a rate-limited server, and its memory over a long stream of photos.

Rate limit: 100 small photos (under 100 px), 8 in flight, a server allowing 20
requests/s with a burst of 2 and 100 ms latency, answering 429 with a fractional
``Retry-After`` beyond. Told the limit (``requests_per_minute=1200``) the client should reach
at least 90% of it with at most 5 answers of 429; not told, at least 85% with at most 10. The
baseline is a fixed-pause client: 5 requests in flight, a fixed 2 s pause after each 429, up
to 5 tries a photo.

Memory: peak RSS of a fresh process streaming many small photos (10,000 in full mode) through
``segment_many`` against cached answers, beside the same process streaming only a few (the
floor: what importing, the server and the first answers cost). Flat memory means the two are
close.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from _harness import Measurement
from segformer_clothes import SegformerClothesClient
from segformer_clothes.testing import FakeInferenceServer

ALLOWED_RATE = 20.0
BURST = 2
LATENCY = 0.1
IN_FLIGHT = 8


def _photos(count: int, side: int = 64) -> list[bytes]:
    """Small distinct JPEG photos."""
    generator = np.random.default_rng(0)
    photos = []
    for _ in range(count):
        pixels = generator.integers(0, 255, size=(side, side * 3 // 4, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=80)
        photos.append(buffer.getvalue())
    return photos


def _limited_server() -> FakeInferenceServer:
    return FakeInferenceServer(
        requests_per_second=ALLOWED_RATE, burst=BURST, latency=LATENCY, cache=True
    )


def _ours(photos: list[bytes], requests_per_minute: float | None) -> tuple[float, int, int]:
    """(achieved rate / allowed rate, 429 answers, images lost) for our client."""
    with _limited_server() as server:
        client = SegformerClothesClient(
            endpoint_url=server.url,
            max_concurrency=IN_FLIGHT,
            requests_per_minute=requests_per_minute,
        )
        with client:
            start = time.perf_counter()
            results = list(client.segment_many(photos, return_exceptions=True))
            elapsed = time.perf_counter() - start
        lost = sum(1 for r in results if isinstance(r, Exception))
        return len(photos) / elapsed / ALLOWED_RATE, server.statuses[429], lost


def _fixed_pause(photos: list[bytes], pause: float) -> tuple[float, int, int]:
    """A fixed-pause client: 5 in flight, a fixed pause after each 429, up to 5 tries."""
    with _limited_server() as server, httpx.Client(timeout=60) as http:
        gate = threading.Semaphore(5)

        def one(photo: bytes) -> bool:
            with gate:
                for _ in range(5):
                    response = http.post(
                        server.url, content=photo, headers={"Content-Type": "image/jpeg"}
                    )
                    if response.status_code != 429:
                        return response.status_code == 200
                    time.sleep(pause)
                return False

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            outcomes = list(pool.map(one, photos))
        elapsed = time.perf_counter() - start
        return len(photos) / elapsed / ALLOWED_RATE, server.statuses[429], outcomes.count(False)


def _rate_limit(quick: bool) -> list[Measurement]:
    photos = _photos(12 if quick else 100)
    runs = 1 if quick else 3
    measurements = []
    fixed = [_fixed_pause(photos, pause=0.2 if quick else 2.0) for _ in range(runs)]
    for told, rpm, target in (
        (True, ALLOWED_RATE * 60, ">= 0.90 of the allowed rate, <= 5 answers of 429"),
        (False, None, ">= 0.85 of the allowed rate, <= 10 answers of 429"),
    ):
        ours = [_ours(photos, rpm) for _ in range(runs)]
        measurements.append(
            Measurement(
                name=f"achieved / allowed rate, {'told' if told else 'not told'} the limit",
                unit="fraction",
                higher_is_better=True,
                ours=[ratio for ratio, _, _ in ours],
                baselines={"5 in flight, fixed 2 s pause after a 429": [r for r, _, _ in fixed]},
                target=target,
                notes=(
                    f"{len(photos)} photos, {IN_FLIGHT} in flight, server {ALLOWED_RATE:g}/s "
                    f"burst {BURST}, {LATENCY * 1000:g} ms latency. 429 answers: ours "
                    f"{[n for _, n, _ in ours]}, fixed pause {[n for _, n, _ in fixed]}; images "
                    f"lost: ours {sum(lost for _, _, lost in ours)}, fixed pause "
                    f"{sum(lost for _, _, lost in fixed)}"
                ),
            )
        )
    return measurements


def _stream(count: int) -> float:
    """Peak RSS in MiB of this process after streaming ``count`` photos (run in a child)."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, photo in enumerate(_photos(10, side=96)):
            path = Path(folder) / f"photo{index}.jpg"
            path.write_bytes(photo)
            paths.append(path)
        catalogue = (paths[i % len(paths)] for i in range(count))  # lazy, like a real one
        with (
            FakeInferenceServer(cache=True, history=10) as server,
            SegformerClothesClient(endpoint_url=server.url, max_concurrency=8) as client,
        ):
            done = sum(1 for _ in client.segment_many(catalogue))
        assert done == count
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss(count: int) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--stream", str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


def _memory(quick: bool) -> list[Measurement]:
    count = 60 if quick else 10_000
    few = 10 if quick else 20
    return [
        Measurement(
            name=f"peak RSS streaming {count} photos through segment_many",
            unit="MiB",
            higher_is_better=False,
            ours=[_peak_rss(count)],
            floor=[_peak_rss(few)],
            target="<= 1.15x the floor",
            notes=f"floor: the same process streaming {few} photos; cached server answers",
        )
    ]


def run(quick: bool = False) -> list[Measurement]:
    """Every client measurement (``quick`` shrinks the inputs and the fixed pause)."""
    return _rate_limit(quick) + _memory(quick)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--stream":
        print(f"{_stream(int(sys.argv[2])):.1f}")
    else:
        for measurement in run(quick="--quick" in sys.argv):
            print(measurement)
