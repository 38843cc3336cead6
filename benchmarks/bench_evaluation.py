"""Evaluation: counting 512x512 uint8 (prediction, annotation) pairs, and memory over 10,000.

Three ways to do the same work on the same pairs, in the same run:

- ours: `ConfusionMatrix.update` (per-image records on, as `evaluate` does), which also
  checks that every prediction and annotation id is in range and leaves ``ignore_index`` out;
- floor: ``18 * target.astype(int64) + prediction`` and one ``np.bincount`` added to a
  running total: the least work a confusion matrix needs (no range check, no ignore_index);
- HF evaluate style: the way HF evaluate's ``mean_iou`` counts an image, three histograms
  (intersection, prediction, annotation) after masking out ``ignore_index``.

The pairs are drawn label maps (a figure with a dozen classes, some pixels ignored) and a
prediction that differs from the annotation on about a tenth of the pixels. All three counts
are checked equal before anything is timed.

Memory: the peak traced by ``tracemalloc`` (numpy's buffers included) while `evaluate`
streams 10,000 pairs from a generator (the pairs themselves are preallocated and not
counted), beside the same at 1,000 pairs: the difference is what the number of images costs.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np

from _harness import Measurement
from segformer_clothes.evaluation import ConfusionMatrix, evaluate

NUM_CLASSES = 18
IGNORE = 255


def drawn_pair(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, annotation) of a drawn figure; about 10 % of the prediction is wrong."""
    rng = np.random.default_rng(seed)
    target = np.zeros((size, size), np.uint8)
    for class_id in rng.permutation(np.arange(1, NUM_CLASSES))[:11]:
        top, left = rng.integers(0, size - size // 4, 2)
        height, width = rng.integers(size // 16, size // 3, 2)
        target[top : top + height, left : left + width] = class_id
    target[: size // 32] = IGNORE  # an unannotated strip
    prediction = np.where(target == IGNORE, np.uint8(0), target)
    wrong = rng.random(target.shape) < 0.1
    prediction[wrong] = rng.integers(0, NUM_CLASSES, int(wrong.sum()), dtype=np.uint8)
    return prediction, target


def floor_counter() -> tuple[Callable[[np.ndarray, np.ndarray], None], np.ndarray]:
    total = np.zeros(NUM_CLASSES * NUM_CLASSES, np.int64)

    def count(prediction: np.ndarray, target: np.ndarray) -> None:
        keys = NUM_CLASSES * target.astype(np.int64) + prediction
        # Annotated 255 makes longer histograms: the floor keeps the first 18 x 18 entries.
        counts = np.bincount(keys.ravel(), minlength=NUM_CLASSES * NUM_CLASSES)
        total.__iadd__(counts[: NUM_CLASSES * NUM_CLASSES])

    return count, total


def hf_style_counter() -> tuple[Callable[[np.ndarray, np.ndarray], None], np.ndarray]:
    """Per image: intersection, prediction and annotation areas by np.histogram."""
    areas = np.zeros((3, NUM_CLASSES), np.int64)

    def count(prediction: np.ndarray, target: np.ndarray) -> None:
        scored = target != IGNORE
        predicted = prediction[scored]
        annotated = target[scored]
        intersection = predicted[predicted == annotated]
        span = (0, NUM_CLASSES - 1)  # HF's bins: N bins over 0..N-1, one per integer id
        areas[0] += np.histogram(intersection, bins=NUM_CLASSES, range=span)[0]
        areas[1] += np.histogram(predicted, bins=NUM_CLASSES, range=span)[0]
        areas[2] += np.histogram(annotated, bins=NUM_CLASSES, range=span)[0]

    return count, areas


def check_agreement(pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    ours = ConfusionMatrix(num_classes=NUM_CLASSES, ignore_index=IGNORE)
    hf, areas = hf_style_counter()
    for prediction, target in pairs:
        ours.update(prediction, target)
        hf(prediction, target)
    matrix = ours.matrix
    assert (np.diagonal(matrix) == areas[0]).all(), "intersections differ"
    assert (matrix.sum(axis=0) == areas[1]).all(), "predicted areas differ"
    assert (matrix.sum(axis=1) == areas[2]).all(), "annotated areas differ"
    # The floor knows no ignore_index: it agrees on the pixels that are scored.
    floor, total = floor_counter()
    for prediction, target in pairs:
        floor(prediction[target != IGNORE], target[target != IGNORE])
    assert (total.reshape(NUM_CLASSES, NUM_CLASSES) == matrix).all(), "floor differs"


def pairs_per_second(
    count: Callable[[np.ndarray, np.ndarray], object],
    pairs: list[tuple[np.ndarray, np.ndarray]],
    batch: int,
) -> float:
    start = time.perf_counter()
    for index in range(batch):
        prediction, target = pairs[index % len(pairs)]
        count(prediction, target)
    return batch / (time.perf_counter() - start)


def speed(size: int, repeat: int, batch: int) -> Measurement:
    pairs = [drawn_pair(size, seed) for seed in range(8)]
    check_agreement(pairs)
    series: dict[str, list[float]] = {"ours": [], "floor": [], "hf": []}
    for _ in range(repeat):  # interleaved, so that a busy moment touches all three alike
        ours = ConfusionMatrix(num_classes=NUM_CLASSES, ignore_index=IGNORE)
        series["ours"].append(pairs_per_second(ours.update, pairs, batch))
        series["floor"].append(pairs_per_second(floor_counter()[0], pairs, batch))
        series["hf"].append(pairs_per_second(hf_style_counter()[0], pairs, batch))
    return Measurement(
        name=f"accumulate a {size}x{size} uint8 pair",
        unit="pairs/s",
        higher_is_better=True,
        ours=series["ours"],
        baselines={"HF evaluate style (3 histograms per image)": series["hf"]},
        floor=series["floor"],
        target=">= 0.8x the floor",
        notes=(
            f"{batch} pairs per sample, {repeat} samples, one thread; ours checks every id's "
            "range, leaves ignore_index out and keeps a per-image record; the floor does none "
            "of that."
        ),
    )


def streamed(pairs: list[tuple[np.ndarray, np.ndarray]], count: int) -> Iterator[np.ndarray]:
    for index in range(count):
        yield pairs[index % len(pairs)][0]


def streamed_targets(
    pairs: list[tuple[np.ndarray, np.ndarray]], count: int
) -> Iterator[np.ndarray]:
    for index in range(count):
        yield pairs[index % len(pairs)][1]


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


def memory(size: int, many: int, few: int) -> Measurement:
    pairs = [drawn_pair(size, seed) for seed in range(4)]

    def ours(count: int) -> Callable[[], object]:
        return lambda: evaluate(streamed(pairs, count), streamed_targets(pairs, count))

    def hf(count: int) -> Callable[[], object]:
        def work() -> None:
            counter, _ = hf_style_counter()
            for prediction, target in zip(
                streamed(pairs, count), streamed_targets(pairs, count), strict=True
            ):
                counter(prediction, target)

        return work

    ours_many, ours_few, hf_few = peak_mib(ours(many)), peak_mib(ours(few)), peak_mib(hf(few))
    held = many * 2 * size * size / 2**20
    return Measurement(
        name=f"peak memory, evaluate() streaming {many:,} {size}x{size} pairs",
        unit="MiB",
        higher_is_better=False,
        ours=[ours_many],
        baselines={
            f"ours over {few:,} pairs": [ours_few],
            f"HF evaluate style over {few:,} pairs, streamed": [hf_few],
        },
        target="flat in the number of images",
        notes=(
            f"tracemalloc peak above the start, numpy buffers included; the {many:,} pairs "
            f"would take {held:,.0f} MiB if held in lists (as HF evaluate's compute() takes "
            f"them). Growth from {few:,} to {many:,} pairs: {ours_many - ours_few:+.2f} MiB, "
            "the per-image records (name, pixel accuracy, mean IoU)."
        ),
    )


def run(quick: bool = False) -> list[Measurement]:
    """Measure; ``quick`` runs the same code on small images in a second or two."""
    if quick:
        return [speed(64, repeat=2, batch=4), memory(64, many=40, few=4)]
    return [speed(512, repeat=9, batch=100), memory(512, many=10_000, few=1_000)]


if __name__ == "__main__":
    for measurement in run(quick="--quick" in sys.argv):
        print(measurement)
