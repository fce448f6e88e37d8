"""Seeded, stable hashing: the same numbers on every machine, Python version and run."""
from __future__ import annotations

import hashlib


def unit_hash(*parts: str) -> float:
    """A stable number in [0, 1) from strings."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
