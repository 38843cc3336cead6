"""Folding left/right classes together (Left-shoe + Right-shoe -> Shoes) for garment scores.

`merge_sides` folds the label set; `fold_counts` folds a confusion matrix counted with it.
"""

from __future__ import annotations

import re

import numpy as np

from ..labels import LabelSet

__all__ = ["fold_counts", "merge_sides"]

_SIDE = re.compile(r"^(left|right)[-_ ](.+)$", re.IGNORECASE)


def merge_sides(labels: LabelSet) -> tuple[LabelSet, np.ndarray]:
    """Merge every Left-X / Right-X pair of classes into one class.

    The merged class takes the place of the first of the two ids, and is named after the
    label set's group holding exactly those two ids (``shoes`` -> ``Shoes``), else after the
    shared part of the names (``Left-wing`` + ``Right-wing`` -> ``Wing``).

    Returns:
        The merged label set, and ``lookup``: old class id -> new class id.

    Example:
        >>> from segformer_clothes.labels import CLOTHES_LABELS
        >>> merged, lookup = merge_sides(CLOTHES_LABELS)
        >>> merged.names[9], merged.names[11:13], len(merged)
        ('Shoes', ('Legs', 'Arms'), 15)
    """
    sides: dict[str, dict[str, int]] = {}
    for class_id, name in enumerate(labels.names):
        match = _SIDE.match(name)
        if match:
            sides.setdefault(match.group(2).lower(), {})[match.group(1).lower()] = class_id
    group_names = {tuple(sorted(ids)): group for group, ids in labels.groups.items()}
    renamed: dict[int, str] = {}  # first id of a pair -> merged name
    folded: dict[int, int] = {}  # second id of a pair -> first id
    for base, pair in sides.items():
        if len(pair) != 2:
            continue
        first, second = sorted(pair.values())
        name = group_names.get((first, second), base)
        renamed[first] = name[:1].upper() + name[1:]
        folded[second] = first
    lookup = np.zeros(len(labels), dtype=np.intp)
    names: list[str] = []
    palette = []
    new_id: dict[int, int] = {}
    for class_id, name in enumerate(labels.names):
        if class_id in folded:
            continue
        new_id[class_id] = len(names)
        names.append(renamed.get(class_id, name))
        palette.append(labels.color(class_id))
    for class_id in range(len(labels)):
        lookup[class_id] = new_id[folded.get(class_id, class_id)]
    lowered = {name.lower() for name in names}
    groups = {
        group: tuple(sorted({int(lookup[i]) for i in ids}))
        for group, ids in labels.groups.items()
        if group not in lowered
    }
    return LabelSet(names, groups=groups, palette=palette), lookup


def fold_counts(counts: np.ndarray, lookup: np.ndarray, size: int) -> np.ndarray:
    """Sum the rows and columns of a confusion matrix whose classes map to one merged class.

    Args:
        counts: an N×N matrix counted with the original label set.
        lookup: old class id -> new class id, as `merge_sides` returns it.
        size: the number of merged classes.

    Example:
        >>> import numpy as np
        >>> counts = np.array([[1, 2, 0], [0, 3, 4], [5, 0, 6]])
        >>> fold_counts(counts, np.array([0, 1, 1]), 2).tolist()
        [[1, 2], [5, 13]]
    """
    folded = np.zeros((size, counts.shape[1]), dtype=np.int64)
    np.add.at(folded, lookup, counts)
    result = np.zeros((size, size), dtype=np.int64)
    np.add.at(result.T, lookup, folded.T)
    return result
