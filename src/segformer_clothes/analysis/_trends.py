"""The numbers of a trend report, counted from checked table rows: which photos wear what,
what goes with what, in which colours, and how much of the photo each garment covers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import attrs
import numpy as np

from ._reading import GarmentRow

__all__ = [
    "BLANK_GROUP",
    "Distribution",
    "co_occurrence",
    "colour_shares",
    "coverage",
    "flag_counts",
    "garment_order",
    "group_rows",
    "observed_hex",
    "photos_wearing",
]

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


def photos_wearing(rows: Iterable[GarmentRow]) -> dict[str, set[str]]:
    """Garment label -> the photos that have it."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.label:
            found[row.label].add(row.photo)
    return dict(found)


def garment_order(wearing: Mapping[str, set[str]]) -> list[str]:
    """The garments, the most frequent first (ties by name)."""
    return sorted(wearing, key=lambda label: (-len(wearing[label]), label))


def co_occurrence(
    wearing: Mapping[str, set[str]], order: Sequence[str]
) -> dict[str, dict[str, int]]:
    """A -> B -> how many photos have both A and B (A -> A: the photos with A)."""
    return {a: {b: len(wearing[a] & wearing[b]) for b in order} for a in order}


def colour_shares(rows: Iterable[GarmentRow], order: Sequence[str]) -> dict[str, dict[str, float]]:
    """Garment -> colour name -> its share, the largest first.

    Each garment counts once, split among its named colours in proportion to their shares,
    so that a close-up photo weighs no more than a full-length one.
    """
    totals: dict[str, dict[str, float]] = {label: defaultdict(float) for label in order}
    garments: Counter[str] = Counter()
    for row in rows:
        named = sum(share for _, _, share in row.colours)
        if not row.label or named <= 0:
            continue
        garments[row.label] += 1
        for _, name, share in row.colours:
            totals[row.label][name] += share / named
    shares: dict[str, dict[str, float]] = {}
    for label in order:
        ranked = sorted(totals[label].items(), key=lambda item: (-item[1], item[0]))
        shares[label] = {name: round(total / garments[label], 6) for name, total in ranked}
    return shares


def observed_hex(rows: Iterable[GarmentRow]) -> dict[str, str]:
    """Colour name -> the mean of the sRGB colours the table gives it (each weighted by its
    share), for drawing a name the vocabulary does not know."""
    sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(3))
    weights: dict[str, float] = defaultdict(float)
    for row in rows:
        for hex_code, name, share in row.colours:
            if hex_code and share > 0:
                sums[name] += share * np.array([int(hex_code[i : i + 2], 16) for i in (1, 3, 5)])
                weights[name] += share
    return {
        name: "#" + "".join(f"{round(v):02x}" for v in (sums[name] / weights[name]).tolist())
        for name in sums
    }


def coverage(
    rows: Iterable[GarmentRow], order: Sequence[str]
) -> tuple[dict[str, Distribution], dict[str, Distribution]]:
    """Garment -> the distribution of its photo_share, and of its person_share (over the
    photos with a person: a person_share of 0 means there was none)."""
    photo: dict[str, list[float]] = {label: [] for label in order}
    person: dict[str, list[float]] = {label: [] for label in order}
    for row in rows:
        if row.label:
            photo[row.label].append(row.photo_share)
            if "no_person" not in row.flags:
                person[row.label].append(row.person_share)
    return (
        {label: Distribution(tuple(photo[label])) for label in order},
        {label: Distribution(tuple(person[label])) for label in order},
    )


def flag_counts(rows: Iterable[GarmentRow]) -> dict[str, int]:
    """Quality flag -> how many photos carry it (on the photo or on one of its garments)."""
    photos: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for flag in row.flags:
            photos[flag].add(row.photo)
    return {flag: len(photos[flag]) for flag in sorted(photos)}


def group_rows(rows: Sequence[GarmentRow], column: str, source: str) -> dict[str, list[GarmentRow]]:
    """The rows split by the value their photo has in ``column``, groups in order: by number
    when every value is a number, else as text sorted (ISO dates sort by time); the photos
    with an empty cell last, as ``(blank)``.

    Raises:
        ValueError: the photos' rows disagree on their value.
    """
    value_of: dict[str, str] = {}
    groups: dict[str, list[GarmentRow]] = defaultdict(list)
    for row in rows:
        value = row.extra[column]
        known = value_of.setdefault(row.photo, value)
        if known != value:
            raise ValueError(
                f"{source}: the rows of photo {row.photo!r} disagree on {column} "
                f"({known!r} and {value!r}); a photo has one value in the column it is split by"
            )
        groups[value or BLANK_GROUP].append(row)
    values = [value for value in groups if value != BLANK_GROUP]
    ordered = sorted(values, key=float) if all(_is_number(v) for v in values) else sorted(values)
    if BLANK_GROUP in groups:
        ordered.append(BLANK_GROUP)
    return {value: groups[value] for value in ordered}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
