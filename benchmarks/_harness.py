"""What every benchmark module returns, and a timer.

Each ``benchmarks/bench_<topic>.py`` defines ``run(quick: bool = False) -> list[Measurement]``.
``quick=True`` runs the same code on tiny inputs in a second or two (the test suite calls it so
the benchmarks never rot); the full run is for ``nox -s bench``, which writes RESULTS.md.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Measurement:
    """One benchmark: our samples beside each baseline's, measured in the same run.

    Attributes:
        name: what is measured, in a few words ("decode a 1080x1620 response").
        unit: the unit of every sample ("ms", "images/s", "MiB").
        higher_is_better: True for rates, False for times and memory.
        ours: our samples (several runs).
        baselines: baseline name -> its samples.
        floor: the floor's samples, where one exists (the least work that must be done).
        target: a sentence saying the goal, e.g. "<= 1.15x the floor".
        notes: anything a reader needs (429 counts, images lost, sizes).
    """

    name: str
    unit: str
    higher_is_better: bool
    ours: list[float]
    baselines: dict[str, list[float]] = field(default_factory=dict)
    floor: list[float] | None = None
    target: str = ""
    notes: str = ""

    @staticmethod
    def median(samples: list[float]) -> float:
        return statistics.median(samples)

    @staticmethod
    def spread(samples: list[float]) -> float:
        """Half the distance between the lowest and highest sample."""
        return (max(samples) - min(samples)) / 2 if samples else 0.0


def time_ms(function: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds taken by each of ``repeat`` calls of ``function`` (after one warm-up)."""
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples
