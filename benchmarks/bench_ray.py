"""`segment --ray` on this one machine against the plain `segment`: Ray's overhead, and the
driver's memory against the number of photos.

Each figure comes from the command itself, run as a process, on the same drawn photos and
the same random-weight SegFormer (`--local --device cpu`), so that everything a user pays is
in it:

- images/s, from the command's `--json` summary (segmenting time, start-up left out): the
  plain command (one process, torch on every core) against `--ray` (a local Ray bound to
  127.0.0.1, two actors of one CPU each, photos read by Ray as bytes, files encoded on the
  actors and written by the driver);
- seconds for the whole command, start-up included (Ray's start and the actors' model load);
- the driver's peak RSS while `--ray` segments N photos and 8N photos (a tiny model and
  small photos, so that the photo count dominates): flat means the driver holds only the
  list of paths while Ray streams the photos.

Two model sizes for the rate: a tiny SegFormer on catalogue-sized photos (the overhead shows
most) and one the size of SegFormer-B3 (the clothes model's size, where the network
dominates). No GPU here: no GPU figure is measured. Quick mode: tiny photos, few of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _harness import Measurement
from segformer_clothes.testing import B3_SEGFORMER_SIZES as B3_SIZES
from segformer_clothes.testing import TINY_SEGFORMER_SIZES as TINY_SIZES
from segformer_clothes.testing import save_random_segformer

PHOTO_SIZES = [(1080, 1440), (768, 1024), (1200, 800), (1024, 1024)]
# The driver process's own peak RSS, written where the benchmark reads it.
DRIVER = (
    "import resource, sys\n"
    "from segformer_clothes.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def draw_photos(folder: Path, count: int, sizes: list[tuple[int, int]]) -> Path:
    """Smooth colour regions plus grain, as photos have, saved as JPEG as catalogues are."""
    folder.mkdir(parents=True)
    for seed in range(count):
        generator = np.random.default_rng(seed)
        small = generator.integers(0, 256, size=(12, 9, 3), dtype=np.uint8)
        size = sizes[seed % len(sizes)]
        smooth = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC))
        grain = generator.integers(-8, 9, size=smooth.shape)
        picture = np.clip(smooth + grain, 0, 255).astype(np.uint8)
        Image.fromarray(picture).save(folder / f"look_{seed:05d}.jpg", quality=90)
    return folder


def segment(
    photos: Path, out: Path, model: Path, *extra: str
) -> tuple[dict[str, float], float, float]:
    """Run the command; its summary, its wall-clock seconds and its driver's peak RSS (MiB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_HUB_OFFLINE="1",
        RAY_USAGE_STATS_ENABLED="0",
        # A modest object store on a machine shared with others (Ray's default is 30% of RAM).
        RAY_DEFAULT_OBJECT_STORE_MEMORY_PROPORTION="0.05",
    )
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as peak:
        argv = [sys.executable, "-c", DRIVER, peak.name, "segment", str(photos), "--out",
                str(out), "--local", "--model", str(model), "--device", "cpu", "--quiet",
                "--json", "-", *extra]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"segment {' '.join(extra)} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout), seconds, float(peak.read() or 0)


def compare_rates(
    name: str, model: Path, photos: Path, count: int, scratch: Path, repeat: int
) -> list[Measurement]:
    """Images/s and whole-command seconds, plain and --ray, run in turns."""
    rates: dict[str, list[float]] = {"plain": [], "ray": []}
    walls: dict[str, list[float]] = {"plain": [], "ray": []}
    for turn in range(repeat):
        for way, extra in (("ray", ["--ray", "--ray-actors", "2"]), ("plain", [])):
            summary, seconds, _ = segment(photos, scratch / f"{name}-{way}-{turn}", model, *extra)
            if summary["done"] != count:
                raise AssertionError(f"{way}: {summary['done']} of {count} photos done")
            rates[way].append(summary["images_per_second"])
            walls[way].append(seconds)
    notes = (
        f"{count} photos, one machine ({os.cpu_count()} logical CPUs), random weights; --ray: "
        "a local Ray, 2 actors of 1 CPU each (Ray gives each one torch thread), batch size 4; "
        "plain: one process, torch on every core. No GPU here: no GPU figure"
    )
    return [
        Measurement(
            name=f"{name}: images/s, --ray vs plain",
            unit="images/s",
            higher_is_better=True,
            ours=rates["ray"],
            baselines={"plain segment (one process)": rates["plain"]},
            target="report Ray's overhead on one machine (ours ÷ plain)",
            notes=notes + "; segmenting time from the --json summary, start-up left out",
        ),
        Measurement(
            name=f"{name}: whole command, --ray vs plain",
            unit="s",
            higher_is_better=False,
            ours=walls["ray"],
            baselines={"plain segment (one process)": walls["plain"]},
            target="report (Ray's start and the actors' model load included)",
            notes=notes,
        ),
    ]


def driver_memory(model: Path, scratch: Path, counts: tuple[int, int]) -> Measurement:
    """The driver's peak RSS for the smaller and the larger number of photos."""
    peaks: dict[int, list[float]] = {}
    for count in counts:
        photos = draw_photos(scratch / f"memory-{count}", count, [(48, 64)])
        summary, _, peak = segment(photos, scratch / f"memory-out-{count}", model, "--ray")
        if summary["done"] != count:
            raise AssertionError(f"{summary['done']} of {count} photos done")
        peaks[count] = [peak]
    small, large = counts
    return Measurement(
        name=f"driver peak RSS, --ray, {large} photos vs {small}",
        unit="MiB",
        higher_is_better=False,
        ours=peaks[large],
        floor=peaks[small],
        target="<= 1.15x the floor",
        notes=(
            f"the floor is the same command on {small} photos; tiny model, 48x64 photos, "
            "the command process's own ru_maxrss (Ray's processes are others)"
        ),
    )


def run(quick: bool = False) -> list[Measurement]:
    """Ray's overhead on one machine and the driver's memory against the photo count."""
    measurements = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        tiny = save_random_segformer(
            scratch / "tiny", sizes=TINY_SIZES, decoder_hidden_size=32, image_size=512
        )
        count = 4 if quick else 24
        sizes = [(120, 160)] if quick else PHOTO_SIZES
        photos = draw_photos(scratch / "photos", count, sizes)
        measurements += compare_rates(
            "tiny SegFormer, CPU", tiny, photos, count, scratch, repeat=1 if quick else 2
        )
        measurements.append(driver_memory(tiny, scratch, (5, 40) if quick else (200, 1600)))
        if not quick:
            b3 = save_random_segformer(
                scratch / "b3", sizes=B3_SIZES, decoder_hidden_size=768, image_size=512
            )
            b3_photos = draw_photos(scratch / "b3-photos", 8, PHOTO_SIZES)
            measurements += compare_rates(
                "SegFormer-B3 size, CPU", b3, b3_photos, 8, scratch, repeat=1
            )
    return measurements


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
