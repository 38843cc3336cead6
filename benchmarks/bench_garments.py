"""Garment analysis: `SegmentationResult.garments()` on a catalogue photo, and the memory of the
garment table over 10,000 photos.

- ours: ``result.garments()`` (3 colours, COCO RLE masks) on a drawn 1080x1620 photo with 8
  garments (and hair, face, arms and legs), each garment in a known colour under uneven light
  and noise, with a 3-pixel seam of skin or background colour inside its mask's edge, as a
  model's masks overshoot.
- baseline: the straightforward way: for each garment, every pixel of its mask converted to
  CIELAB (scikit-image), scikit-learn ``KMeans(n_clusters=3, random_state=0)`` on them, the
  largest cluster's centre as the dominant colour, and pycocotools' ``encode`` of its mask.
- accuracy: CIEDE2000 between each garment's dominant colour and the colour it was drawn in,
  for both (in the notes).
- memory: the highest resident memory seen (every 50 photos) while the table of 10,000 small
  photos (48x72, 3 garments each) is written with `TableWriter`, beside the same at 1,000 photos,
  each count in a fresh process (``tracemalloc`` would slow the run several times).

Needs the ``analysis`` extra, and scikit-learn for the baseline (the bench session installs it;
the library never depends on it).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from _harness import Measurement, time_ms
from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.analysis.colours import colour_difference, rgb_to_lab
from segformer_clothes.analysis.table import TableWriter, table_rows

ID = CLOTHES_LABELS.id
# Garment -> (box as fractions of the photo: top, bottom, left, right), drawn colour.
GARMENTS: dict[str, tuple[tuple[float, float, float, float], tuple[int, int, int]]] = {
    "Hat": ((0.02, 0.08, 0.36, 0.64), (184, 145, 114)),
    "Sunglasses": ((0.12, 0.14, 0.40, 0.60), (30, 30, 34)),
    "Upper-clothes": ((0.22, 0.50, 0.25, 0.75), (108, 15, 18)),
    "Scarf": ((0.22, 0.28, 0.38, 0.62), (172, 56, 140)),
    "Belt": ((0.50, 0.53, 0.30, 0.70), (90, 60, 40)),
    "Pants": ((0.53, 0.88, 0.30, 0.70), (50, 51, 93)),
    "Left-shoe": ((0.88, 0.94, 0.28, 0.47), (20, 20, 20)),
    "Right-shoe": ((0.88, 0.94, 0.53, 0.72), (20, 20, 20)),
    "Bag": ((0.40, 0.62, 0.76, 0.92), (114, 107, 20)),
}
BODY = {
    "Hair": (0.05, 0.12, 0.36, 0.64),
    "Face": (0.10, 0.20, 0.40, 0.60),
    "Left-arm": (0.24, 0.50, 0.15, 0.25),
    "Right-arm": (0.24, 0.50, 0.75, 0.85),
}
SEAM = 3
HERE = Path(__file__).resolve().parent


def drawn_look(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, Image.Image]:
    """A label map and its photo: garments of GARMENTS' colours, shaded, noisy, seamed."""
    label_map = np.zeros((height, width), dtype=np.uint8)
    photo = np.full((height, width, 3), 205, dtype=np.float64)

    def box(fractions: tuple[float, float, float, float]) -> tuple[slice, slice]:
        top, bottom, left, right = fractions
        return slice(int(top * height), int(bottom * height)), slice(
            int(left * width), int(right * width)
        )

    for name, fractions in BODY.items():
        label_map[box(fractions)] = ID(name)
        photo[box(fractions)] = (224, 172, 140)
    for name, (fractions, _) in GARMENTS.items():
        label_map[box(fractions)] = ID(name)
    for name, (_, colour) in GARMENTS.items():
        rows, columns = box(GARMENTS[name][0])
        inner = (
            slice(rows.start + SEAM, rows.stop - SEAM),
            slice(columns.start + SEAM, columns.stop - SEAM),
        )
        photo[inner][label_map[inner] == ID(name)] = colour
    rng = np.random.default_rng(seed)
    light = np.linspace(1.08, 0.92, height)[:, None, None]
    noisy = photo * light + rng.normal(0, 5, photo.shape)
    return label_map, Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8))


def baseline(label_map: np.ndarray, photo: Image.Image) -> list[tuple[str, np.ndarray, Any]]:
    """(label, dominant CIELAB colour, RLE) of each garment, the straightforward way."""
    from pycocotools import mask as mask_api
    from skimage.color import rgb2lab
    from sklearn.cluster import KMeans

    rgb = np.asarray(photo.convert("RGB"))
    found = []
    for class_id in CLOTHES_LABELS.ids("garments"):
        mask = label_map == class_id
        if not mask.any():
            continue
        lab = rgb2lab(rgb[mask])
        kmeans = KMeans(n_clusters=3, random_state=0).fit(lab)
        shares = np.bincount(kmeans.labels_, minlength=3)
        dominant = kmeans.cluster_centers_[int(shares.argmax())]
        rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
        found.append((CLOTHES_LABELS.names[class_id], dominant, rle))
    return found


def errors(found: list[tuple[str, Any]]) -> list[float]:
    """CIEDE2000 of each (label, CIELAB) to the colour it was drawn in."""
    return [
        float(colour_difference(np.asarray(lab), rgb_to_lab(np.array(GARMENTS[label][1], float))))
        for label, lab in found
    ]


def speed(width: int, height: int, repeat: int) -> Measurement:
    label_map, photo = drawn_look(width, height)
    result = SegmentationResult(label_map, image=photo)
    ours = result.garments()
    theirs = baseline(label_map, photo)
    assert [g.label for g in ours] == [label for label, _, _ in theirs]
    ours_errors = errors([(g.label, g.colours[0].lab) for g in ours])
    their_errors = errors([(label, lab) for label, lab, _ in theirs])
    samples: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(repeat):  # in turns, so that a busy moment falls on both alike
        samples["ours"] += time_ms(result.garments, 1)
        samples["baseline"] += time_ms(lambda: baseline(label_map, photo), 1)
    return Measurement(
        name=f"garments() on a {width}x{height} photo with {len(ours)} garments",
        unit="ms",
        higher_is_better=False,
        ours=samples["ours"],
        baselines={"scikit-learn KMeans on every garment pixel + pycocotools": samples["baseline"]},
        target="<= 0.33x scikit-learn (3 times as fast), at equal or better colour accuracy",
        notes=(
            "3 colours and the COCO RLE of each garment, from a decoded photo. Colour accuracy "
            "(CIEDE2000 of the dominant colour to the drawn one, mean / max over the garments): "
            f"ours {np.mean(ours_errors):.2f} / {max(ours_errors):.2f}, baseline "
            f"{np.mean(their_errors):.2f} / {max(their_errors):.2f}. Ours erodes each mask, "
            "samples at most 5,000 pixels and merges clusters closer than 10; the baseline "
            "clusters every pixel, edge seam included, and keeps 3 clusters."
        ),
    )


def small_look(seed: int) -> tuple[np.ndarray, Image.Image]:
    """A 48x72 photo with 3 garments (top, pants, shoes), face and arms."""
    label_map = np.zeros((72, 48), dtype=np.uint8)
    label_map[4:14, 16:32] = ID("Face")
    label_map[14:40, 10:38] = ID("Upper-clothes")
    label_map[16:40, 4:10] = ID("Left-arm")
    label_map[40:64, 14:34] = ID("Pants")
    label_map[64:70, 14:23] = ID("Left-shoe")
    label_map[64:70, 25:34] = ID("Right-shoe")
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (len(CLOTHES_LABELS), 3))
    photo = palette[label_map] + rng.normal(0, 5, (72, 48, 3))
    return label_map, Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))


def resident_mib() -> float:
    """This process's resident memory now (Linux), else its peak so far (other systems)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * resource.getpagesize() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def table_peak_mib(count: int) -> float:
    """In this process: write the table of ``count`` small photos; the highest resident memory
    seen (every 50 photos) above the resident memory before the work, in MiB."""
    looks = [small_look(seed) for seed in range(8)]
    table_rows(SegmentationResult(looks[0][0], image=looks[0][1]))  # imports, first-call caches
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "garments.csv"
        before = peak = resident_mib()
        with TableWriter(path) as table:
            for index in range(count):
                label_map, photo = looks[index % len(looks)]
                result = SegmentationResult(label_map, image=photo)
                name = f"photos/look_{index:06d}"
                table.write(name, table_rows(result, name=name, input=f"{name}.jpg"))
                if index % 50 == 0:
                    peak = max(peak, resident_mib())
        peak = max(peak, resident_mib())
    return peak - before


def memory(counts: tuple[int, ...]) -> Measurement:
    """Each count in a fresh process, so that one's peak does not hide another's."""
    peaks = {}
    for count in counts:
        code = f"import bench_garments; print(bench_garments.table_peak_mib({count}))"
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=HERE, capture_output=True, text=True, check=True, timeout=900,
        )  # fmt: skip
        peaks[count] = max(float(done.stdout.split()[-1]), 0.01)  # a peak that did not move
    many = counts[-1]
    return Measurement(
        name=f"peak memory, the garment table of {many:,} photos",
        unit="MiB",
        higher_is_better=False,
        ours=[peaks[many]],
        baselines={f"ours over {count:,} photos": [peaks[count]] for count in counts[:-1]},
        target="flat in the number of photos",
        notes=(
            "the highest resident memory seen while the table is written (every 50 photos and at "
            "the end), above the resident memory before; 48x72 photos, 3 garments and 3 colours "
            "each, CSV appended photo by photo; each count in a fresh process. From "
            f"{counts[0]:,} to {many:,} photos: "
            f"{peaks[many] - peaks[counts[0]]:+.2f} MiB. The writer keeps an 8-byte hash of each "
            "name (so that a photo written again replaces its rows)."
        ),
    )


def run(quick: bool = False) -> list[Measurement]:
    """Measure; ``quick`` runs the same code on small inputs in a second or two."""
    if quick:
        return [speed(108, 162, repeat=1), memory((4, 16))]
    return [speed(1080, 1620, repeat=7), memory((1_000, 10_000))]


if __name__ == "__main__":
    for measurement in run():
        print(measurement)
