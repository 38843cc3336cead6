"""Local inference: `LocalSegmenter` against the transformers image-segmentation pipeline.

Both run the same random-weight SegFormer (saved to a temporary folder, loaded the way real
weights are) on the same photo-like pictures, on the CPU, and are timed in images per second:

- ours: ``LocalSegmenter(folder, device="cpu").segment_many(photos)`` at its default batch
  size, label maps at each photo's size;
- the pipeline: ``pipeline("image-segmentation", model=folder)(photos)`` at its default batch
  size (one photo at a time), masks at each photo's size.

Two model sizes: a tiny SegFormer (where preparing photos and building the answer dominate)
and one the size of SegFormer-B3, the clothes model's size (where the network dominates);
both with the real 512x512 image processor. Quick mode: the tiny model only, small photos.
When torch sees a CUDA GPU, the B3-sized model is also timed there.

The label maps of both are compared before timing (at least 99.9% of pixels equal).

Precision: the B3-sized model on the CPU in bfloat16 and in float16, against the same
`LocalSegmenter` in float32 (the share of pixels whose class changes is in the notes). Whether
half precision is faster on a CPU depends on it: bfloat16 runs natively on CPUs with AVX-512
BF16 or AMX (the Machine table of RESULTS.md names the CPU), float16 mostly does not.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from _harness import Measurement
from segformer_clothes.local import LocalSegmenter
from segformer_clothes.testing import B3_SEGFORMER_SIZES as B3_SIZES
from segformer_clothes.testing import TINY_SEGFORMER_SIZES as TINY_SIZES
from segformer_clothes.testing import save_random_segformer

TARGET = ">= 1.5x the pipeline"
# Catalogue photos: portrait and landscape, a few sizes, as a shop's images are.
PHOTO_SIZES = [(1080, 1440), (768, 1024), (1200, 800), (1024, 1024)]


def photo_like(seed: int, size: tuple[int, int]) -> Image.Image:
    """Smooth colour regions plus a little grain: neighbouring pixels agree, as in photos."""
    generator = np.random.default_rng(seed)
    small = generator.integers(0, 256, size=(12, 9, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC))
    grain = generator.integers(-8, 9, size=smooth.shape)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def _images_per_second(
    ours: Callable[[], object], theirs: Callable[[], object], count: int, repeat: int
) -> tuple[list[float], list[float]]:
    """Images/s of each, timed in turns so that a busy machine slows both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for work, rates in zip((ours, theirs), samples, strict=True):
            start = time.perf_counter()
            work()
            rates.append(count / (time.perf_counter() - start))
    return samples


def _pipeline_label_map(answer: list[dict[str, Any]], label2id: dict[str, int]) -> np.ndarray:
    first = np.asarray(answer[0]["mask"])
    label_map = np.zeros(first.shape, dtype=np.uint8)
    for item in answer:
        label_map[np.asarray(item["mask"]) > 0] = label2id[item["label"]]
    return label_map


def _compare(
    name: str, folder: Path, photos: list[Image.Image], repeat: int, device: str
) -> Measurement:
    from transformers import pipeline

    ours = LocalSegmenter(folder, device=device)
    theirs = pipeline("image-segmentation", model=str(folder), device=device)
    # Warm both up (first-call allocations, kernel choice), and check they agree.
    warm = photos[: ours.batch_size]
    our_maps = [r.label_map for r in ours.segment_many(warm)]
    label2id = theirs.model.config.label2id
    their_maps = [_pipeline_label_map(answer, label2id) for answer in theirs(warm)]
    agreement = min(float((a == b).mean()) for a, b in zip(our_maps, their_maps, strict=True))
    if agreement < 0.999:
        raise AssertionError(f"{name}: only {agreement:.4%} of pixels equal the pipeline's")
    count = len(photos)
    our_rates, their_rates = _images_per_second(
        lambda: list(ours.segment_many(photos)), lambda: theirs(photos), count, repeat
    )
    sizes = sorted({f"{p.width}x{p.height}" for p in photos})
    return Measurement(
        name=name,
        unit="images/s",
        higher_is_better=True,
        ours=our_rates,
        baselines={"transformers pipeline": their_rates},
        target=TARGET if device == "cpu" else "report images/s",
        notes=(
            f"{count} photos ({', '.join(sizes)}), device {device}, our batch size "
            f"{ours.batch_size}, pipeline batch size 1 (its default); random weights; "
            f"label maps agree on >= {agreement:.2%} of pixels"
        ),
    )


def _precisions(name: str, folder: Path, photos: list[Image.Image]) -> Measurement:
    """Images/s of `LocalSegmenter` in bfloat16 beside float32 and float16, on the CPU."""
    segmenters = {
        dtype: LocalSegmenter(folder, device="cpu", dtype=dtype)
        for dtype in ("bfloat16", "float32", "float16")
    }
    reference = [r.label_map for r in segmenters["float32"].segment_batch(photos)]
    changed = {}
    for dtype, segmenter in segmenters.items():  # also the warm-up
        maps = [r.label_map for r in segmenter.segment_batch(photos)]
        changed[dtype] = max(float((a != b).mean()) for a, b in zip(maps, reference, strict=True))
    rates: dict[str, list[float]] = {dtype: [] for dtype in segmenters}
    for _ in range(2):
        for dtype, segmenter in segmenters.items():
            start = time.perf_counter()
            segmenter.segment_batch(photos)
            rates[dtype].append(len(photos) / (time.perf_counter() - start))
    return Measurement(
        name=name,
        unit="images/s",
        higher_is_better=True,
        ours=rates["bfloat16"],
        baselines={dtype: rates[dtype] for dtype in ("float32", "float16")},
        target="report (which precision to run on this CPU)",
        notes=(
            f"{len(photos)} photos, `LocalSegmenter(dtype=...)`, batch size "
            f"{segmenters['float32'].batch_size}, random weights; pixels whose class differs "
            f"from float32's, at most per photo: bfloat16 {changed['bfloat16']:.2%}, float16 "
            f"{changed['float16']:.2%}"
        ),
    )


def run(quick: bool = False) -> list[Measurement]:
    """Images per second, ours and the pipeline's, for a tiny and a B3-sized SegFormer."""
    import torch

    sizes = [(120, 160), (96, 72)] if quick else PHOTO_SIZES
    photos = [photo_like(seed, sizes[seed % len(sizes)]) for seed in range(4 if quick else 8)]
    measurements = []
    with tempfile.TemporaryDirectory() as scratch:
        tiny = save_random_segformer(
            Path(scratch) / "tiny", sizes=TINY_SIZES, decoder_hidden_size=32, image_size=512
        )
        measurements.append(
            _compare("tiny SegFormer, CPU", tiny, photos, repeat=2 if quick else 5, device="cpu")
        )
        if quick:
            measurements.append(_precisions("tiny SegFormer, CPU: bfloat16", tiny, photos[:2]))
            return measurements
        b3 = save_random_segformer(
            Path(scratch) / "b3", sizes=B3_SIZES, decoder_hidden_size=768, image_size=512
        )
        b3_photos = photos[:4]
        measurements.append(
            _compare("SegFormer-B3 size, CPU", b3, b3_photos, repeat=2, device="cpu")
        )
        measurements.append(_precisions("SegFormer-B3 size, CPU: bfloat16", b3, b3_photos))
        if torch.cuda.is_available():
            measurements.append(
                _compare("SegFormer-B3 size, GPU", b3, photos * 4, repeat=3, device="cuda")
            )
    return measurements


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
