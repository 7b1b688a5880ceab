"""A NumPy multi-resolution hash encoder (instant-ngp; Müller et al. 2022, Sec. 3).

Level ``l`` of ``n_levels`` is a grid of resolution ``N_l = floor(N_min * b**l)``
(``N_min = base_resolution``, ``b = per_level_scale``). A point ``x`` in ``[0, 1]^d`` is
scaled to ``x * N_l``; the 2^d corners of its cell are ``floor(x * N_l)`` and
``floor(x * N_l) + 1`` along each axis. Each corner indexes the level's table of
``T = 2**log2_hashmap_size`` feature vectors:

* densely, ``sum_i c_i (N_l + 1)^i``, when the level's ``(N_l + 1)^d`` vertices fit T
  (the coarse levels: no collisions);
* otherwise by the spatial hash ``(XOR_i c_i * pi_i) mod T`` in unsigned 32-bit
  arithmetic, ``pi = (1, 2654435761, 805459861, 3674653429)``.

The corner features are interpolated d-linearly with weights from the fractional
part of ``x * N_l``; the output concatenates the levels (level-major). ``encode``
also counts what it read: ``2^d`` lookups per point and level, each of
``n_features_per_level`` values of the table's dtype -- the numbers the cost
models use (:meth:`HashGridEncoding.analytical_counts` gives them without encoding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import SpecError

__all__ = ["EncodingCounts", "HashGridEncoding", "PRIMES"]

PRIMES = (1, 2654435761, 805459861, 3674653429)
CONFIG_KEYS = ("otype", "n_levels", "n_features_per_level", "log2_hashmap_size", "base_resolution",
               "per_level_scale")
CHUNK_POINTS = 1 << 10          # points per vectorized block (bounds the (n, 2^d) temporaries)


@dataclass(frozen=True)
class EncodingCounts:
    """Lookups and bytes read per level (arrays of ``n_levels``)."""

    lookups: np.ndarray
    bytes_read: np.ndarray

    @property
    def total_lookups(self) -> int:
        return int(self.lookups.sum())

    @property
    def total_bytes(self) -> float:
        return float(self.bytes_read.sum())


def _int_field(where: str, field: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise SpecError(f"{where}: field '{field}' = {value!r}: expected an integer {bound}")
    return int(value)


def check_grid(where: str, n_levels, n_features_per_level, base_resolution, per_level_scale, dims,
               log2_hashmap_size=None) -> None:
    """Validate a multi-resolution grid's settings (shared by every grid encoding)."""
    _int_field(where, "n_levels", n_levels, 1)
    _int_field(where, "n_features_per_level", n_features_per_level, 1)
    _int_field(where, "base_resolution", base_resolution, 1)
    _int_field(where, "dims", dims, 1, len(PRIMES))
    if log2_hashmap_size is not None:
        try:
            _int_field(where, "log2_hashmap_size", log2_hashmap_size, 1, 32)
        except SpecError as exc:
            raise SpecError(f"{exc} (the table holds 2**log2_hashmap_size entries: a power of two)") from None
    b = per_level_scale
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or b < 1:
        raise SpecError(f"{where}: field 'per_level_scale' = {b!r}: expected a finite number >= 1")


def level_resolutions(base_resolution: int, per_level_scale: float, n_levels: int) -> np.ndarray:
    """N_l = floor(N_min x b^l) for l < n_levels."""
    return np.floor(base_resolution * per_level_scale ** np.arange(n_levels)).astype(np.int64)


@dataclass(frozen=True)
class HashGridEncoding:
    n_levels: int
    n_features_per_level: int
    log2_hashmap_size: int
    base_resolution: int
    per_level_scale: float
    dims: int = 3

    def __post_init__(self):
        check_grid("hash grid", self.n_levels, self.n_features_per_level, self.base_resolution,
                   self.per_level_scale, self.dims, self.log2_hashmap_size)

    @classmethod
    def from_config(cls, config: dict, dims: int = 3) -> "HashGridEncoding":
        """From tiny-cuda-nn's encoding config (``otype: HashGrid`` and its fields)."""
        for key in config:
            if key not in CONFIG_KEYS:
                raise SpecError(f"hash grid config: field {key!r}: unknown key; valid: {list(CONFIG_KEYS)}")
        if config.get("otype", "HashGrid") != "HashGrid":
            raise SpecError(f"hash grid config: field 'otype' = {config['otype']!r}: expected 'HashGrid'")
        missing = [k for k in CONFIG_KEYS[1:] if k not in config]
        if missing:
            raise SpecError(f"hash grid config: missing field(s) {missing}")
        return cls(*(config[k] for k in CONFIG_KEYS[1:]), dims=dims)

    @cached_property
    def resolutions(self) -> np.ndarray:
        return level_resolutions(self.base_resolution, self.per_level_scale, self.n_levels)

    @cached_property
    def dense_levels(self) -> np.ndarray:
        return (self.resolutions.astype(float) + 1) ** self.dims <= 2.0 ** self.log2_hashmap_size

    @cached_property
    def table_sizes(self) -> np.ndarray:
        vertices = (self.resolutions + 1) ** self.dims
        return np.where(self.dense_levels, vertices, 2 ** self.log2_hashmap_size).astype(np.int64)

    @property
    def output_dims(self) -> int:
        return self.n_levels * self.n_features_per_level

    @property
    def lookups_per_query(self) -> int:
        return self.n_levels * 2 ** self.dims

    def init_tables(self, seed: int = 0, dtype=np.float32) -> list[np.ndarray]:
        """instant-ngp's initialisation: uniform in [-1e-4, 1e-4], seeded."""
        rng = np.random.default_rng(seed)
        return [rng.uniform(-1e-4, 1e-4, (int(size), self.n_features_per_level)).astype(dtype)
                for size in self.table_sizes]

    def analytical_counts(self, n_points: int, bytes_per_feature: float = 2.0) -> EncodingCounts:
        lookups = np.full(self.n_levels, n_points * 2 ** self.dims, dtype=np.int64)
        return EncodingCounts(lookups, lookups * self.n_features_per_level * float(bytes_per_feature))

    def _check(self, points, tables) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != self.dims:
            raise SpecError(f"hash grid: field 'points' has shape {pts.shape}: expected (n, {self.dims})")
        bad = ~np.isfinite(pts) | (pts < 0) | (pts > 1)
        if bad.any():
            raise SpecError(f"hash grid: field 'points' = {pts[bad][0]!r}: expected finite values in [0, 1]")
        if len(tables) != self.n_levels:
            raise SpecError(f"hash grid: field 'tables': {len(tables)} tables for {self.n_levels} levels")
        for level, (table, size) in enumerate(zip(tables, self.table_sizes)):
            expected = (int(size), self.n_features_per_level)
            if np.shape(table) != expected:
                raise SpecError(f"hash grid: field 'tables[{level}]' has shape {np.shape(table)}: expected {expected}")
        return pts

    @cached_property
    def _layout(self):
        """Per-level constants of the batched encoder: resolutions, dense mask, dense
        strides (L, d) and each level's offset in the concatenated table."""
        res = self.resolutions
        strides = (res[:, None] + 1) ** np.arange(self.dims, dtype=np.int64)[None, :]
        offsets = np.concatenate([[0], np.cumsum(self.table_sizes)[:-1]]).astype(np.int64)
        return res.astype(np.float64), self.dense_levels, strides, offsets

    def _pairs(self, values: np.ndarray, axis: int) -> np.ndarray:
        """(n, L, 2) per-axis corner terms reshaped to broadcast over the 2^d corners
        (axis 0 fastest in the flattened corner order)."""
        n, levels = values.shape[:2]
        d = self.dims
        return values.reshape((n, levels) + (1,) * (d - 1 - axis) + (2,) + (1,) * axis)

    def _corner_indices(self, cells: np.ndarray) -> np.ndarray:
        """(n, L, 2^d) indices into the concatenated table of every level's corners:
        dense levels by their vertex strides, the others by the spatial hash."""
        _, dense, strides, offsets = self._layout
        n, levels, d = cells.shape
        index = np.empty((n, levels, 2 ** d), dtype=np.intp)
        if dense.any():
            c, st = cells[:, dense], strides[dense]
            linear = np.zeros((n, int(dense.sum())) + (1,) * d, dtype=np.intp)
            for axis in range(d):
                lo = c[:, :, axis] * st[None, :, axis]
                linear = linear + self._pairs(np.stack([lo, lo + st[None, :, axis]], axis=2), axis)
            index[:, dense] = linear.reshape(n, -1, 2 ** d)
        if not dense.all():
            u = cells[:, ~dense].astype(np.uint32)
            hashed = np.zeros((n, int((~dense).sum())) + (1,) * d, dtype=np.uint32)
            for axis in range(d):
                ua = u[:, :, axis]
                hashed = hashed ^ self._pairs(np.stack([ua, ua + np.uint32(1)], axis=2) * np.uint32(PRIMES[axis]), axis)
            index[:, ~dense] = (hashed & np.uint32(2 ** self.log2_hashmap_size - 1)).reshape(n, -1, 2 ** d)
        return index + offsets[None, :, None]

    def _weights(self, frac: np.ndarray) -> np.ndarray:
        """(n, L, 2^d) d-linear weights: per axis frac for the +1 corner, 1 - frac for the other."""
        n, levels, d = frac.shape
        w = np.ones((n, levels) + (1,) * d, dtype=np.float32)
        for axis in range(d):
            f = frac[:, :, axis]
            w = w * self._pairs(np.stack([1.0 - f, f], axis=2), axis)
        return w.reshape(n, levels, -1)

    @staticmethod
    def _gather(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Rows of ``table`` at ``idx`` as float32 (idx.shape + (F,)): one gather of
        whole rows (a row of 2, 4 or 8 bytes viewed as one integer)."""
        row_bytes = table.shape[1] * table.dtype.itemsize
        as_int = {2: np.uint16, 4: np.uint32, 8: np.uint64}.get(row_bytes)
        if as_int is None:
            return table[idx].astype(np.float32, copy=False)
        rows = np.take(np.ascontiguousarray(table).view(as_int).reshape(-1), idx)
        return rows.view(table.dtype).reshape(idx.shape + (table.shape[1],)).astype(np.float32, copy=False)

    def encode(self, points, tables, *, return_counts: bool = False):
        """Features of ``points`` (n, dims) in [0, 1]: an (n, n_levels x F) float32
        array, level-major; with ``return_counts`` also the :class:`EncodingCounts`.
        All levels of a block of points are computed at once (one gather per block)."""
        pts = self._check(points, tables)
        n, f, levels = len(pts), self.n_features_per_level, self.n_levels
        table = np.concatenate([np.asarray(t) for t in tables], axis=0)
        res = self._layout[0]
        out = np.empty((n, levels, f), dtype=np.float32)
        lookups = np.zeros(levels, dtype=np.int64)
        for start in range(0, n, CHUNK_POINTS):
            scaled = pts[start:start + CHUNK_POINTS, None, :] * res[None, :, None]      # (m, L, d)
            cells = np.minimum(np.floor(scaled), res[None, :, None] - 1)               # x = 1: the last cell
            weights = self._weights((scaled - cells).astype(np.float32))
            index = self._corner_indices(cells.astype(np.intp))
            feats = self._gather(table, index)                                          # (m, L, 2^d, F)
            lookups += index.shape[0] * index.shape[2]
            out[start:start + len(scaled)] = np.einsum("nlc,nlcf->nlf", weights, feats)
        counts = EncodingCounts(lookups, lookups * f * float(table.dtype.itemsize))
        out = out.reshape(n, levels * f)
        return (out, counts) if return_counts else out
