"""Ids for the pieces of a cut text, found by hashing code points in numpy rather than one Python string per piece.

A corpus of a million lines cuts into millions of pieces but far fewer distinct ones. Making a string of every
piece and looking it up in a dict costs most of the extraction time, so each piece is instead hashed where it
lies in the text's code-point array, and only the pieces never seen before become strings.
"""
from __future__ import annotations

from itertools import repeat

import numpy as np

# Two polynomial hashes over the code points, with odd bases, modulo 2**64 (numpy wraps unsigned overflow). The
# first keys the per-batch grouping; the pair keys the pieces seen so far, so two different pieces would have to
# agree on 128 bits to be taken for one.
BASES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
LENGTH_MIX = np.uint64(0x165667B19E3779F9)  # keeps "a" and "a\x00" apart


def powers(base: np.uint64, count: int) -> tuple[np.ndarray, np.ndarray]:
    """base**i and base**-i modulo 2**64 for i in 0..count."""
    with np.errstate(over="ignore"):
        forward, backward = np.ones(count + 1, np.uint64), np.ones(count + 1, np.uint64)
        np.cumprod(np.full(count, base, np.uint64), out=forward[1:])
        np.cumprod(np.full(count, pow(int(base), -1, 2**64), np.uint64), out=backward[1:])
    return forward, backward


def piece_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """sum(code[i] * base**(i - start)) + length * LENGTH_MIX, modulo 2**64, of each piece codes[start:end],
    from the powers of base (at least len(codes) + 1 of them)."""
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(codes) + 1, np.uint64)
        np.cumsum(codes * forward[:len(codes)], out=prefix[1:])
        return (prefix[ends] - prefix[starts]) * backward[starts] + (ends - starts).astype(np.uint64) * LENGTH_MIX


class PieceIndex:
    """Gives each distinct piece an id, 0, 1, 2, ... in the order pieces are first seen."""

    def __init__(self, bases: tuple[np.uint64, np.uint64] = BASES) -> None:
        self._bases = bases
        self._ids: dict[tuple[int, int], int] = {}
        self._new: list[str] = []
        self._powers = [powers(base, 0) for base in bases]

    def ids(self, text: str, codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Ids of the pieces text[start:end]; `codes` holds the text's code points."""
        if len(self._powers[0][0]) <= len(codes):
            self._powers = [powers(base, 2 * len(codes)) for base in self._bases]
        first, second = (piece_hashes(codes, starts, ends, *base_powers) for base_powers in self._powers)
        _, where, inverse = np.unique(first, return_index=True, return_inverse=True)
        if not np.array_equal(second, second[where][inverse]):
            # Two different pieces share the first hash (with 100,000 distinct pieces, one batch in 10**9): group
            # them by both.
            pairs = np.stack([first, second], axis=1).view(np.dtype((np.void, 16))).ravel()
            _, where, inverse = np.unique(pairs, return_index=True, return_inverse=True)
        keys = zip(first[where].tolist(), second[where].tolist())
        distinct_ids = np.fromiter(map(self._ids.get, keys, repeat(-1)), np.int64, len(where))
        new = np.flatnonzero(distinct_ids < 0)
        new = new[np.argsort(where[new], kind="stable")]  # in the order they occur
        new_where = where[new]
        new_ids = range(len(self._ids), len(self._ids) + len(new))
        distinct_ids[new] = new_ids
        self._ids.update(zip(zip(first[new_where].tolist(), second[new_where].tolist()), new_ids))
        self._new.extend(map(text.__getitem__, map(slice, starts[new_where].tolist(), ends[new_where].tolist())))
        return distinct_ids[inverse.ravel()]

    def take_new(self) -> list[str]:
        """The pieces given ids since the last call, in id order."""
        new, self._new = self._new, []
        return new
