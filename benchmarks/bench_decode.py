"""Decode: an API answer -> a label map, for a 1080x1620 photo with a dozen labels.

Three ways to do the same work on the same answer, in the same run:

- ours: `SegmentationResult.from_response` on the parsed JSON list;
- floor: base64-decode and PNG-decode every mask in one thread, nothing else (no combining):
  the least work any parser must do;
- mask by mask: decode a mask, resize it to the photo's size, write its pixels into the label
  map, one mask at a time, Background last (the straightforward parser one writes first).

The answer is built by our own `SegmentationResult.to_response` from a drawn label map (a
standing figure with hair, face, sunglasses, top, trousers, belt, shoes, arms and a bag), so
the masks are full-size mode-L PNGs of 0/255 like the service's. All three label maps are
checked to be equal before anything is timed.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from _harness import Measurement
from segformer_clothes import CLOTHES_LABELS, SegmentationResult

WIDTH, HEIGHT = 1080, 1620


def drawn_label_map(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A standing figure drawn with 12 labels (Background included), scaled to the size.

    Example:
        >>> sorted(np.unique(drawn_label_map(108, 162)).tolist())[:3]
        [0, 2, 3]
    """
    ids = {name: CLOTHES_LABELS.id(name) for name in CLOTHES_LABELS.names}
    canvas = Image.new("L", (1080, 1620), 0)
    draw = ImageDraw.Draw(canvas)
    # Drawn at 1080x1620 then scaled with nearest neighbour, so every size shows the same figure.
    draw.ellipse((400, 80, 680, 380), fill=ids["Hair"])
    draw.ellipse((430, 150, 650, 420), fill=ids["Face"])
    draw.rectangle((450, 240, 630, 290), fill=ids["Sunglasses"])
    draw.polygon([(300, 460), (780, 460), (740, 900), (340, 900)], fill=ids["Upper-clothes"])
    draw.polygon([(300, 470), (220, 900), (270, 920), (350, 560)], fill=ids["Left-arm"])
    draw.polygon([(780, 470), (860, 900), (810, 920), (730, 560)], fill=ids["Right-arm"])
    draw.rectangle((340, 900, 740, 950), fill=ids["Belt"])
    draw.polygon([(340, 950), (740, 950), (720, 1450), (560, 1450), (540, 1050)], fill=ids["Pants"])
    draw.polygon([(340, 950), (540, 1050), (520, 1450), (360, 1450)], fill=ids["Pants"])
    draw.ellipse((330, 1430, 530, 1530), fill=ids["Left-shoe"])
    draw.ellipse((550, 1430, 750, 1530), fill=ids["Right-shoe"])
    draw.rounded_rectangle((800, 820, 1000, 1080), radius=30, fill=ids["Bag"])
    draw.line([(780, 480), (900, 830)], fill=ids["Bag"], width=12)
    if (width, height) != canvas.size:
        canvas = canvas.resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(canvas)


def floor_decode(items: list[dict[str, Any]]) -> list[np.ndarray]:
    """Base64- and PNG-decode every mask, one thread, nothing else."""
    masks = []
    for item in items:
        with Image.open(io.BytesIO(base64.b64decode(item["mask"]))) as picture:
            masks.append(np.asarray(picture))
    return masks


def mask_by_mask(items: list[dict[str, Any]], width: int, height: int) -> np.ndarray:
    """The straightforward approach: per mask decode, resize to the photo, write; Background
    last, only where it is set."""

    def decoded(encoded: str) -> np.ndarray:
        pixels = np.array(Image.open(io.BytesIO(base64.b64decode(encoded))))
        if pixels.ndim == 3:
            pixels = pixels[:, :, 0]
        return np.array(Image.fromarray(pixels).resize((width, height), Image.Resampling.NEAREST))

    label_map = np.zeros((height, width), dtype=np.uint8)
    for item in items:
        class_id = CLOTHES_LABELS.id(item["label"])
        if class_id != 0:
            label_map[decoded(item["mask"]) > 0] = class_id
    for item in items:
        if item["label"] == "Background":
            label_map[decoded(item["mask"]) > 0] = 0
    return label_map


def interleaved_ms(
    functions: dict[str, Callable[[], object]], repeat: int
) -> dict[str, list[float]]:
    """Milliseconds per call of each function, taking turns round by round (after one warm-up
    round), so that a busy moment on the machine falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for round_number in range(repeat + 1):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_number:
                samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def run(quick: bool = False) -> list[Measurement]:
    """Time the three parsers on the same answer; ``quick`` uses a 108x162 photo."""
    width, height = (108, 162) if quick else (WIDTH, HEIGHT)
    repeat = 3 if quick else 25
    label_map = drawn_label_map(width, height)
    items = SegmentationResult(label_map).to_response()
    answer = json.dumps(items).encode()

    ours = SegmentationResult.from_response(items).label_map
    if not (
        np.array_equal(ours, label_map) and np.array_equal(mask_by_mask(items, width, height), ours)
    ):
        raise AssertionError("the parsers disagree on the label map: the benchmark is invalid")
    assert len(floor_decode(items)) == len(items)

    samples = interleaved_ms(
        {
            "ours": lambda: SegmentationResult.from_response(items),
            "floor": lambda: floor_decode(items),
            "mask by mask": lambda: mask_by_mask(items, width, height),
            "ours from bytes": lambda: SegmentationResult.from_response(answer),
        },
        repeat,
    )
    mask_kib = sum(len(item["mask"]) for item in items) * 3 / 4 / 1024
    return [
        Measurement(
            name=f"decode a {width}x{height} answer, {len(items)} labels",
            unit="ms",
            higher_is_better=False,
            ours=samples["ours"],
            baselines={"mask by mask (decode, resize, write each)": samples["mask by mask"]},
            floor=samples["floor"],
            target="<= 1.15x the floor",
            notes=(
                f"{len(items)} masks, {mask_kib:.0f} KiB of PNG in all; one thread. "
                f"Ours from the JSON bytes (json.loads included): "
                f"{Measurement.median(samples['ours from bytes']):.1f} ms median. Fastest "
                f"runs (least disturbed by other work on the machine): ours "
                f"{min(samples['ours']):.1f} ms, floor {min(samples['floor']):.1f} ms, ratio "
                f"{min(samples['ours']) / min(samples['floor']):.2f}."
            ),
        )
    ]


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
