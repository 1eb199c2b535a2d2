"""A Bloom filter of stored event ids, so idempotency costs no scan on the common path.

Checking each incoming event id against millions of stored ones with a query costs a column scan
(tens of ms at 10M events) per append. Instead the writer keeps a Bloom filter of every stored id:
an id the filter has never seen is certainly new; only the rare "maybe seen" ids (true re-sends and
~1 in 10,000 false positives) are checked exactly against the store. Hashes come from the store
(DuckDB's `hash()`), so the filter can be rebuilt from the stored column at start-up.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

HASHES = 7
BITS_PER_ID = 24  # with 7 hashes: ~1e-4 false positives at capacity
MIN_BITS = 1 << 24

U64 = npt.NDArray[np.uint64]


class SeenIds:
    """A Bloom filter over pairs of 64-bit hashes of event ids (double hashing)."""

    def __init__(self, expected: int) -> None:
        bits = max(MIN_BITS, 1 << int(max(expected, 1) * BITS_PER_ID * 2 - 1).bit_length())
        self.bits = bits
        self.capacity = bits // BITS_PER_ID
        self.count = 0
        self._words = np.zeros(bits // 64, dtype=np.uint64)

    def _positions(self, h1: U64, h2: U64) -> U64:
        steps = np.arange(HASHES, dtype=np.uint64)[:, None]
        # Unsigned array arithmetic wraps modulo 2**64, which is what double hashing wants.
        return (h1[None, :] + steps * (h2[None, :] | np.uint64(1))) % np.uint64(self.bits)

    def maybe_contains(self, h1: U64, h2: U64) -> npt.NDArray[np.bool_]:
        """For each id, False when certainly never added, True when perhaps added."""
        if len(h1) == 0:
            return np.zeros(0, dtype=bool)
        pos = self._positions(h1, h2)
        words = self._words[pos >> np.uint64(6)]
        hit = (words >> (pos & np.uint64(63))) & np.uint64(1)
        return np.asarray(hit.all(axis=0), dtype=bool)

    def add(self, h1: U64, h2: U64) -> None:
        """Remember these ids."""
        if len(h1) == 0:
            return
        pos = self._positions(h1, h2).ravel()
        np.bitwise_or.at(self._words, pos >> np.uint64(6), np.uint64(1) << (pos & np.uint64(63)))
        self.count += len(h1)

    @property
    def full(self) -> bool:
        """True when more ids were added than the filter was sized for (rebuild it larger)."""
        return self.count > self.capacity
