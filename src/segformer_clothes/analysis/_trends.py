"""The numbers of a trend report, tallied row by row from a garment table: which photos wear
what, what goes with what, in which colours, and how much of the photo each garment covers.

A tally keeps per photo only the set of its garments and of its flags (photos with the same
set share one), so that a catalogue of many photos does not hold its rows in memory.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable

import attrs
import numpy as np

from ._reading import GarmentRow

__all__ = ["BLANK_GROUP", "Distribution", "Tally", "group_order"]

BLANK_GROUP = "(blank)"
"""The group of the photos whose ``by`` cell is empty."""


@attrs.frozen
class Distribution:
    """The values one measure takes over a garment's rows (a share of the photo, of the
    person), with the numbers a box plot shows.

    Example:
        >>> spread = Distribution((0.1, 0.2, 0.3, 0.4, 0.5))
        >>> spread.count, spread.median, spread.quartiles
        (5, 0.3, (0.2, 0.4))
    """

    values: tuple[float, ...] = attrs.field(repr=False)

    @property
    def count(self) -> int:
        """How many values there are."""
        return len(self.values)

    @property
    def median(self) -> float:
        """The middle value (NaN when there is none)."""
        return self._percentile(50)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The lower and upper quartiles (linear interpolation, as numpy's default)."""
        return self._percentile(25), self._percentile(75)

    @property
    def range(self) -> tuple[float, float]:
        """The smallest and the largest value."""
        return self._percentile(0), self._percentile(100)

    def _percentile(self, q: float) -> float:
        if not self.values:
            return float("nan")
        return round(float(np.percentile(np.array(self.values), q)), 6)


class Tally:
    """The running counts of a report's rows; `add` one row at a time, then read them."""

    def __init__(self) -> None:
        self._garments: dict[str, frozenset[str]] = {}  # photo -> its garments
        self._flags: dict[str, frozenset[str]] = {}  # photo -> its flags, if any
        self._sets: dict[frozenset[str], frozenset[str]] = {}  # one copy of each set
        self._colours: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._coloured: Counter[str] = Counter()  # garment -> rows with a named colour
        self._photo_share: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self._person_share: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self._rgb: dict[str, list[float]] = defaultdict(
            lambda: [0.0, 0.0, 0.0, 0.0]
        )  # r g b, weight

    def _with(self, sets: dict[str, frozenset[str]], photo: str, items: Iterable[str]) -> None:
        known = sets.get(photo)
        if known is not None and known.issuperset(items):
            return
        grown = (known or frozenset()).union(items)
        sets[photo] = self._sets.setdefault(grown, grown)

    def add(self, row: GarmentRow) -> None:
        """Count one row of the table."""
        self._with(self._garments, row.photo, [row.label] if row.label else [])
        if row.flags:
            self._with(self._flags, row.photo, row.flags)
        if not row.label:
            return
        self._photo_share[row.label].append(row.photo_share)
        if "no_person" not in row.flags:  # a person_share of 0 there means nobody
            self._person_share[row.label].append(row.person_share)
        named = sum(share for _, _, share in row.colours)
        if named > 0:
            # Each garment counts once, split among its named colours by their shares, so
            # that a close-up weighs no more than a full-length photo.
            self._coloured[row.label] += 1
            for hex_code, name, share in row.colours:
                self._colours[row.label][name] += share / named
                if hex_code and share > 0:
                    total = self._rgb[name]
                    for channel, start in enumerate((1, 3, 5)):
                        total[channel] += share * int(hex_code[start : start + 2], 16)
                    total[3] += share

    @property
    def photos(self) -> int:
        """How many photos were seen."""
        return len(self._garments)

    def photos_with(self) -> dict[str, int]:
        """Garment -> how many photos have it, the most frequent first (ties by name)."""
        counts: Counter[str] = Counter()
        for garments, photos in Counter(self._garments.values()).items():
            for label in garments:
                counts[label] += photos
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def co_occurrence(self, order: Iterable[str]) -> dict[str, dict[str, int]]:
        """A -> B -> how many photos have both A and B (A -> A: the photos with A)."""
        order = list(order)
        combinations = Counter(self._garments.values())
        return {
            a: {
                b: sum(n for garments, n in combinations.items() if a in garments and b in garments)
                for b in order
            }
            for a in order
        }

    def colours(self, order: Iterable[str]) -> dict[str, dict[str, float]]:
        """Garment -> colour name -> its share of the garment's rows, the largest first."""
        shares = {}
        for label in order:
            ranked = sorted(self._colours[label].items(), key=lambda item: (-item[1], item[0]))
            shares[label] = {name: round(t / self._coloured[label], 6) for name, t in ranked}
        return shares

    def colour_names(self) -> set[str]:
        """Every colour name seen."""
        return {name for names in self._colours.values() for name in names}

    def observed_hex(self) -> dict[str, str]:
        """Colour name -> the mean of the sRGB colours the rows give it (by share)."""
        return {
            name: "#" + "".join(f"{round(v / total[3]):02x}" for v in total[:3])
            for name, total in self._rgb.items()
        }

    def coverage(
        self, order: Iterable[str]
    ) -> tuple[dict[str, Distribution], dict[str, Distribution]]:
        """Garment -> the distribution of its photo_share, and of its person_share (over the
        photos with a person)."""
        order = list(order)
        return (
            {label: Distribution(tuple(self._photo_share[label])) for label in order},
            {label: Distribution(tuple(self._person_share[label])) for label in order},
        )

    def flag_counts(self) -> dict[str, int]:
        """Quality flag -> how many photos carry it (on the photo or on one of its garments)."""
        counts: Counter[str] = Counter()
        for flags, photos in Counter(self._flags.values()).items():
            for flag in flags:
                counts[flag] += photos
        return dict(sorted(counts.items()))


def group_order(values: Iterable[str]) -> list[str]:
    """The groups in order: by number when every value is a number, else as text sorted (ISO
    dates sort by time); the photos with an empty cell last, as ``(blank)``."""
    values = list(values)
    present = [value for value in values if value != BLANK_GROUP]
    ordered = sorted(present, key=float) if all(map(_is_number, present)) else sorted(present)
    return [*ordered, BLANK_GROUP] if BLANK_GROUP in values else ordered


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
