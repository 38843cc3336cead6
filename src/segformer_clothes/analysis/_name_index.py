"""A set of photo names that costs about 8 bytes a name, so that the garment table's writer
stays flat in memory over a catalogue of any size.

Names are kept as 64-bit hashes (BLAKE2b): two names share one with a chance of about 1 in
10^8 for a million photos. A false "seen" only makes the writer check that name's rows when it
closes, which it does exactly, by the names themselves: the table is never wrong for it.
"""

from __future__ import annotations

import hashlib

import numpy as np

_MERGE_EVERY = 4096


def _hash(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


class NameIndex:
    """Names seen: `add` one, ``name in index`` to ask (a false yes is possible, a false no is
    not)."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def add(self, name: str) -> None:
        self._recent.add(_hash(name))
        if len(self._recent) >= _MERGE_EVERY:
            recent = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            self._sorted = np.union1d(self._sorted, recent)
            self._recent.clear()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = _hash(name)
        if key in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, np.uint64(key)))
        return at < len(self._sorted) and int(self._sorted[at]) == key

    def clear(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent.clear()
