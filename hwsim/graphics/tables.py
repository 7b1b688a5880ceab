"""Where an encoding's tables live, and what a query's lookups cost in sectors.

Both the GPU (its L2) and an NGPC encoding engine (its SRAM) hold part of an
encoding's tables; the rest is fetched from the next level down. Two rules, shared
by both:

* **residency**: the coarse levels are small and every query touches them, so a
  memory keeps whole tables smallest-first; the first table that does not fit is
  held in part, and since the hash (or a fine dense level) spreads a frame's
  lookups evenly over a table, the held fraction is its hit rate;
* **sectors**: a lookup fetches a ``sector_bytes`` sector. The two corners of a cell
  that differ only in x are adjacent entries (dense index stride 1; instant-ngp's
  hash multiplies x by 1, so they differ in the low bits), so they share a sector:
  ``2^(d-1) x ceil(2 x entry_bytes / sector_bytes)`` sectors per query and level.
"""

from __future__ import annotations

import math

import numpy as np

from .encoding import HashGridEncoding

__all__ = ["resident_fractions", "sector_bytes_per_query", "table_bytes"]


def table_bytes(enc: HashGridEncoding, feature_bytes: int) -> np.ndarray:
    """Bytes of each level's table."""
    return np.array(enc.table_sizes, dtype=float) * enc.n_features_per_level * feature_bytes


def resident_fractions(level_bytes: np.ndarray, capacity_bytes: float) -> np.ndarray:
    """Fraction of each level's table a memory of ``capacity_bytes`` holds (smallest first)."""
    level_bytes = np.asarray(level_bytes, dtype=float)
    order = np.argsort(level_bytes, kind="stable")
    before = np.concatenate(([0.0], np.cumsum(level_bytes[order])[:-1]))
    held = np.clip(capacity_bytes - before, 0.0, level_bytes[order])
    out = np.empty_like(level_bytes)
    out[order] = np.divide(held, level_bytes[order], out=np.ones_like(held), where=level_bytes[order] > 0)
    return out


def sector_bytes_per_query(enc: HashGridEncoding, feature_bytes: int, sector_bytes: int) -> np.ndarray:
    """Bytes fetched per query at each level (whole sectors)."""
    entry = enc.n_features_per_level * feature_bytes
    per_level = 2 ** (enc.dims - 1) * math.ceil(2 * entry / sector_bytes) * sector_bytes
    return np.full(enc.n_levels, float(per_level))
