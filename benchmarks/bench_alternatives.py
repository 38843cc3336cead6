"""Throughput and reliability beside the alternatives a user has, against one fake server.

The server is `FakeInferenceServer` with 100 ms latency, a token-bucket limit of 20 requests/s
(burst 2, 429 with a fractional ``Retry-After`` beyond), small photos (64x48 JPEG files) and
cached answers, so that what is measured is the client, not the server. Every contender gets the
same 60 file paths and a fresh server (60 keeps the fixed-pause client, at one answer per 2 s
per slot, to half a minute a scenario):

- ours: `SegformerClothesClient.segment_many`, 8 in flight, told the limit
  (``requests_per_minute=1200``) and not told it (it learns from the 429s);
- a fixed-pause client, the simple batch loop many scripts use: asyncio and httpx, a semaphore
  of 5, a fixed 2 s pause after each answer, 3 attempts per photo, a 429's ``Retry-After`` used
  only when it is a whole number of seconds (else a 2 s wait);
- ``huggingface_hub.InferenceClient(model=<url>).image_segmentation(path)`` driven by a pool of
  8 threads. Given bytes instead of a path it sends no ``Content-Type``, and the server (like
  the real service) answers 400: that is checked and reported in the notes.

Then the same again with about 10% of the requests answered by a transient fault (429, 503,
503 loading, 500, a dropped connection, a truncated body): how many images each one loses.

Figures: achieved rate ÷ allowed rate (images delivered per second over the whole batch ÷
20/s), answers of 429, and the share of the batch delivered.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
FAULT_RATE = 0.1
FIXED_PAUSE = "5 in flight, fixed 2 s pause after each answer"
PAUSED_SLOTS = 5
PAUSED_ATTEMPTS = 3


@dataclass
class Batch:
    """What one contender did with one batch on one fresh server."""

    seconds: float
    delivered: int
    total: int
    answers_429: int
    faults: int

    @property
    def rate_share(self) -> float:
        """Images delivered per second over the whole batch ÷ the allowed rate."""
        return self.delivered / self.seconds / ALLOWED_RATE

    @property
    def delivered_percent(self) -> float:
        return 100.0 * self.delivered / self.total


@dataclass
class Scenario:
    """The server's settings for one scenario (shrunk in quick mode)."""

    latency: float
    fault_rate: float
    fixed_pause: float

    def server(self) -> FakeInferenceServer:
        return FakeInferenceServer(
            requests_per_second=ALLOWED_RATE,
            burst=BURST,
            latency=self.latency,
            fault_rate=self.fault_rate,
            cache=True,
        )


def write_photos(folder: Path, count: int) -> list[Path]:
    """``count`` distinct small JPEG photos (64x48) written to ``folder``."""
    generator = np.random.default_rng(8)
    paths = []
    for index in range(count):
        pixels = generator.integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
        path = folder / f"photo_{index:03d}.jpg"
        Image.fromarray(pixels).save(path, format="JPEG", quality=85)
        paths.append(path)
    return paths


def _measure(
    scenario: Scenario, paths: list[Path], send: Callable[[str, list[Path]], int]
) -> Batch:
    """Run ``send(url, paths) -> images delivered`` against a fresh server and count."""
    with scenario.server() as server:
        start = time.perf_counter()
        delivered = send(server.url, paths)
        seconds = time.perf_counter() - start
        statuses = server.statuses
        faults = sum(n for status, n in statuses.items() if status == 0 or status >= 500)
        return Batch(seconds, delivered, len(paths), statuses[429], faults)


# ---------------------------------------------------------------------- the contenders


def ours(requests_per_minute: float | None) -> Callable[[str, list[Path]], int]:
    def send(url: str, paths: list[Path]) -> int:
        with SegformerClothesClient(
            endpoint_url=url, max_concurrency=IN_FLIGHT, requests_per_minute=requests_per_minute
        ) as client:
            results = client.segment_many(paths, return_exceptions=True)
            return sum(1 for result in results if not isinstance(result, Exception))

    return send


def fixed_pause(pause: float) -> Callable[[str, list[Path]], int]:
    """A batch with a semaphore of 5 and a fixed pause after each answer."""

    async def one(http: httpx.AsyncClient, url: str, path: Path, gate: asyncio.Semaphore) -> bool:
        with Image.open(path) as picture:
            content_type = f"image/{(picture.format or 'jpeg').lower()}"
        data = path.read_bytes()
        async with gate:
            delay = pause
            for attempt in range(PAUSED_ATTEMPTS):
                last = attempt == PAUSED_ATTEMPTS - 1
                try:
                    response = await http.post(
                        url, content=data, headers={"Content-Type": content_type}
                    )
                except httpx.HTTPError:
                    if last:
                        return False
                    await asyncio.sleep(delay)
                    continue
                if response.status_code == 503:
                    await asyncio.sleep(pause)
                    delay *= 2
                    continue
                if response.status_code == 429:
                    retry_after = response.headers.get("Retry-After", "")
                    await asyncio.sleep(int(retry_after) if retry_after.isdigit() else delay)
                    continue
                if response.status_code >= 500:
                    if last:
                        return False
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                if response.status_code != 200:
                    return False
                try:
                    response.json()
                except ValueError:  # a cut-short body: this loop stops at it
                    return False
                await asyncio.sleep(pause)
                return True
            return False

    async def batch(url: str, paths: list[Path]) -> int:
        gate = asyncio.Semaphore(PAUSED_SLOTS)
        async with httpx.AsyncClient(timeout=30) as http:
            outcomes = await asyncio.gather(*(one(http, url, path, gate) for path in paths))
        return sum(outcomes)

    return lambda url, paths: asyncio.run(batch(url, paths))


def hub_thread_pool(url: str, paths: list[Path]) -> int:
    """``huggingface_hub.InferenceClient`` given file paths, from a pool of 8 threads."""
    from huggingface_hub import InferenceClient

    client = InferenceClient(model=url)

    def one(path: Path) -> bool:
        try:
            client.image_segmentation(str(path))
        except Exception:  # whatever it raises, the image is lost to the user
            return False
        return True

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        return sum(pool.map(one, paths))


def hub_given_bytes(path: Path) -> str:
    """What ``InferenceClient.image_segmentation`` does with the photo's bytes."""
    from huggingface_hub import InferenceClient

    with FakeInferenceServer() as server:
        try:
            InferenceClient(model=server.url).image_segmentation(path.read_bytes())
        except Exception as error:
            seen = server.headers_seen[-1] if server.headers_seen else {}
            return (
                f"given bytes, huggingface_hub sent Content-Type "
                f"{seen.get('content-type')!r} and got HTTP {dict(server.statuses)} "
                f"({type(error).__name__})"
            )
    return "given bytes, huggingface_hub got an answer"


def _hub_available() -> bool:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------- the report


def _describe(name: str, batches: list[Batch]) -> str:
    return (
        f"{name}: 429s {[b.answers_429 for b in batches]}, lost "
        f"{[b.total - b.delivered for b in batches]}, "
        f"{np.median([b.seconds for b in batches]):.1f} s"
    )


def _scenario(
    scenario: Scenario, paths: list[Path], runs: int, paused_runs: int, told_and_not: bool
) -> dict[str, list[Batch]]:
    contenders: dict[str, tuple[Callable[[str, list[Path]], int], int]] = {
        "ours, limit told": (ours(ALLOWED_RATE * 60), runs),
    }
    if told_and_not:
        contenders["ours, limit not told"] = (ours(None), runs)
    contenders[FIXED_PAUSE] = (fixed_pause(scenario.fixed_pause), paused_runs)
    if _hub_available():
        contenders["huggingface_hub, 8 threads"] = (hub_thread_pool, runs)
    batches: dict[str, list[Batch]] = {name: [] for name in contenders}
    for round_number in range(runs):  # in turns, so that a busy moment falls on all alike
        for name, (send, wanted) in contenders.items():
            if round_number < wanted:
                batches[name].append(_measure(scenario, paths, send))
    return batches


RATE = ("fraction", lambda batch: batch.rate_share)
DELIVERED = ("% of the batch", lambda batch: batch.delivered_percent)


def _figure(
    name: str,
    batches: dict[str, list[Batch]],
    ours_name: str,
    kind: tuple[str, Callable[[Batch], float]],
    target: str = "",
    notes: str = "",
) -> Measurement:
    """One figure of one scenario: ``ours_name``'s runs beside every contender not ours."""
    unit, pick = kind
    return Measurement(
        name=name,
        unit=unit,
        higher_is_better=True,
        ours=[pick(b) for b in batches[ours_name]],
        baselines={
            other: [pick(b) for b in found]
            for other, found in batches.items()
            if not other.startswith("ours")
        },
        target=target,
        notes=notes,
    )


def _notes(batches: dict[str, list[Batch]]) -> str:
    return "; ".join(_describe(name, found) for name, found in batches.items())


def run(quick: bool = False) -> list[Measurement]:
    """Both scenarios; ``quick`` uses 6 photos, 5 ms latency and a 20 ms fixed pause."""
    count, runs, paused_runs = (6, 1, 1) if quick else (60, 3, 1)
    latency, pause = (0.005, 0.02) if quick else (LATENCY, 2.0)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(Path(folder), count)
        clean = _scenario(Scenario(latency, 0.0, pause), paths, runs, paused_runs, True)
        faulty = _scenario(Scenario(latency, FAULT_RATE, pause), paths, runs, paused_runs, False)
        bytes_note = hub_given_bytes(paths[0]) if _hub_available() else ""
    setting = (
        f"{count} photos of 64x48, {ALLOWED_RATE:g} req/s allowed (burst {BURST}), "
        f"{latency * 1000:g} ms latency, cached answers; ours and huggingface_hub "
        f"{IN_FLIGHT} in flight, the fixed-pause client {PAUSED_SLOTS} with a {pause:g} s pause; "
        f"{runs} run(s) each, the fixed-pause client {paused_runs} (its pauses make it slow and "
        "steady)."
    )
    if not _hub_available():
        setting += " huggingface_hub is not installed: its figures are missing."
    clean_notes = f"{setting} {_notes(clean)}." + (f" {bytes_note}." if bytes_note else "")
    faulty_notes = (
        f"About {FAULT_RATE:.0%} of requests answered by a transient fault (429, 503, "
        "loading, 500, dropped, truncated); server errors and dropped connections per run: "
        + ", ".join(f"{name} {[b.faults for b in found]}" for name, found in faulty.items())
        + f". {_notes(faulty)}."
    )
    no_loss = ">= 100% of the batch (no image lost)"
    return [
        _figure(
            "rate-limited throughput, limit told (achieved / allowed rate)",
            clean,
            "ours, limit told",
            RATE,
            ">= 0.90 of the allowed rate",
            clean_notes,
        ),
        _figure(
            "rate-limited throughput, limit not told (achieved / allowed rate)",
            clean,
            "ours, limit not told",
            RATE,
            ">= 0.85 of the allowed rate",
            clean_notes,
        ),
        _figure(
            "images delivered under the rate limit, no faults",
            clean,
            "ours, limit told",
            DELIVERED,
            no_loss,
            "A rate counts only the images delivered: a client that gives up on a 429 "
            "(huggingface_hub raises it to the caller) finishes early with few results.",
        ),
        _figure(
            f"images delivered through ~{FAULT_RATE:.0%} transient faults",
            faulty,
            "ours, limit told",
            DELIVERED,
            no_loss,
            faulty_notes,
        ),
        _figure(
            f"throughput through ~{FAULT_RATE:.0%} transient faults (achieved / allowed)",
            faulty,
            "ours, limit told",
            RATE,
            notes="Same runs as the line above; a lost image does not count as delivered.",
        ),
    ]


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
