"""A set of E.164 numbers held as 8-byte integers: what an import remembers to find repeats in a list of any length.

A Python set of a million numbers as text takes about 100 MB; this table takes
16 MB (24 MB for a moment while it grows). Asking the database instead which
numbers earlier rows stored costs nothing in memory, but PostgreSQL has no
statistics for rows its own transaction is writing and reads every contact so
far through the campaign's other index: each batch slower than the last.
"""

from __future__ import annotations

from array import array

_SPREAD = 0x9E3779B97F4A7C15  # Fibonacci hashing: consecutive numbers land far apart in the table
_WORD = (1 << 64) - 1


class NumberSet:
    """E.164 numbers ("+" and up to 15 digits) in an open-addressing table of 64-bit integers, linear probing."""

    def __init__(self, bits: int = 10):
        self._bits = bits
        self._slots = array("q", [0]) * (1 << bits)  # 0: empty (no E.164 number is all zeros)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _start(self, key: int) -> int:
        return ((key * _SPREAD) & _WORD) >> (64 - self._bits)

    def add(self, number: str) -> bool:
        """Remember an E.164 number; False when it was there already."""
        key = int(number[1:])  # the digits name the number: no country code starts with 0
        slots, mask = self._slots, len(self._slots) - 1
        at = self._start(key)
        while (found := slots[at]) != 0:
            if found == key:
                return False
            at = (at + 1) & mask
        slots[at] = key
        self._count += 1
        if self._count * 4 > len(slots) * 3:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._bits += 1
        self._slots = array("q", [0]) * (1 << self._bits)
        slots, mask = self._slots, len(self._slots) - 1
        for key in old:
            if key:
                at = self._start(key)
                while slots[at] != 0:
                    at = (at + 1) & mask
                slots[at] = key
