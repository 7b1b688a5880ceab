"""A NumPy multi-resolution hash encoder (instant-ngp; Müller et al. 2022, Sec. 3).

The model. Level ``l`` (0-based) is a regular grid of resolution
``N_l = floor(N_min * b**l)`` over ``[0, 1]^d`` with ``(N_l + 1)^d`` vertices, each holding
``n_features_per_level`` trainable features. A point ``x`` is scaled to ``x * N_l``; the 2^d
corners of its cell are ``floor(x * N_l)`` and ``floor(x * N_l) + 1`` per axis (on the far
face ``x_i = 1`` the cell ``[N_l - 1, N_l]`` is taken, with fraction 1: the same value).

* Dense level: all ``(N_l + 1)^d`` vertices fit the table ``T = 2**log2_hashmap_size``;
  vertex ``c`` is stored at ``sum_i c_i * (N_l + 1)^i``.
* Hashed level: otherwise vertex ``c`` goes to ``(XOR_i c_i * pi_i mod 2^32) mod T`` with
  ``pi = (1, 2654435761, 805459861, 3674653429)`` (the 4th as tiny-cuda-nn), computed in
  wrapping uint32 arithmetic. Colliding vertices share an entry.

The level's output is the d-linear interpolation of the corners' features, weights from
the fractional part of ``x * N_l``; the encoding concatenates levels, level 0 first.

Counts (:class:`EncodingCounts`): every point reads ``2^d`` table entries per level
(``lookups``), ``lookups * n_features * bytes_per_feature`` bytes. FLOPs per level (as
``hwsim.graphics.apps.GridEncoding``): ``2d`` for the fractions and their complements,
``2^d (d - 1)`` multiplies for the corner weights, ``2 * 2^d * F`` for the weighted sum (a
multiply-add per corner and feature). Integer ops (counted apart): per corner ``d``
multiplies, ``d - 1`` XORs and a modulo on a hashed level; ``d - 1`` multiplies and
``d - 1`` adds on a dense one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

__all__ = ["PRIMES", "EncodingCounts", "HashGridEncoding"]

PRIMES = (1, 2654435761, 805459861, 3674653429)
CHUNK_POINTS = 1 << 16          # points per chunk: the per-level (8, chunk) arrays stay in cache
_CONFIG_DEFAULTS = {"n_levels": 16, "n_features_per_level": 2, "log2_hashmap_size": 19,
                    "base_resolution": 16, "per_level_scale": 2.0}   # tiny-cuda-nn's defaults


def _int_field(field: str, value, low: int, high: int | None = None) -> int:
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < low or (high is not None and value > high):
        valid = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
        raise SpecError(f"HashGridEncoding: field '{field}' = {value!r}: expected {valid}")
    return int(value)


@dataclass(frozen=True)
class EncodingCounts:
    """Table traffic and arithmetic of encoding ``n_points`` points (tuples: one per level)."""

    n_points: int
    lookups_per_level: tuple[int, ...]
    bytes_read_per_level: tuple[int, ...]
    flops_per_level: tuple[int, ...]
    int_ops_per_level: tuple[int, ...]

    @property
    def total_lookups(self) -> int:
        return sum(self.lookups_per_level)

    @property
    def total_bytes_read(self) -> int:
        return sum(self.bytes_read_per_level)

    @property
    def total_flops(self) -> int:
        return sum(self.flops_per_level)

    @property
    def total_int_ops(self) -> int:
        return sum(self.int_ops_per_level)


@dataclass(frozen=True)
class HashGridEncoding:
    """instant-ngp's multi-resolution hash encoding (see the module docstring)."""

    n_levels: int
    n_features_per_level: int
    log2_hashmap_size: int
    base_resolution: int
    per_level_scale: float
    dims: int = 3

    def __post_init__(self):
        _int_field("n_levels", self.n_levels, 1)
        _int_field("n_features_per_level", self.n_features_per_level, 1)
        _int_field("log2_hashmap_size", self.log2_hashmap_size, 1, 32)
        _int_field("base_resolution", self.base_resolution, 1)
        _int_field("dims", self.dims, 1, len(PRIMES))
        b = self.per_level_scale
        if isinstance(b, bool) or not isinstance(b, (int, float, np.floating)) or not math.isfinite(b) or b < 1:
            raise SpecError(f"HashGridEncoding: field 'per_level_scale' = {b!r}: expected a finite number >= 1")
        finest = self.base_resolution * float(b) ** (self.n_levels - 1)
        if finest >= 2 ** 31:   # cell coordinates are uint32 (as tiny-cuda-nn's)
            raise SpecError(f"HashGridEncoding: finest resolution {finest:.4g} (field 'per_level_scale' = {b!r}, "
                            f"'n_levels' = {self.n_levels}): expected < 2**31")

    @classmethod
    def from_config(cls, config: dict, dims: int = 3) -> "HashGridEncoding":
        """From tiny-cuda-nn's encoding config (``otype: "HashGrid"``; missing keys take
        tiny-cuda-nn's defaults). An unknown key or another otype is a SpecError."""
        if not isinstance(config, dict):
            raise SpecError(f"encoding config = {config!r}: expected a mapping")
        unknown = sorted(set(config) - set(_CONFIG_DEFAULTS) - {"otype"})
        if unknown:
            raise SpecError(f"encoding config: unknown key '{unknown[0]}'; valid: "
                            f"{['otype', *_CONFIG_DEFAULTS]}")
        otype = config.get("otype", "HashGrid")
        if otype != "HashGrid":
            raise SpecError(f"encoding config: field 'otype' = {otype!r}: expected 'HashGrid'")
        return cls(**{**_CONFIG_DEFAULTS, **{k: v for k, v in config.items() if k != "otype"}}, dims=dims)

    # --- geometry of the levels ---------------------------------------------------------
    @property
    def table_size(self) -> int:
        """T = 2**log2_hashmap_size entries (a power of two by construction)."""
        return 1 << self.log2_hashmap_size

    @property
    def resolutions(self) -> np.ndarray:
        """N_l = floor(N_min * b**l), one per level."""
        return np.floor(self.base_resolution * float(self.per_level_scale) ** np.arange(self.n_levels)).astype(np.int64)

    @property
    def dense_levels(self) -> np.ndarray:
        """True where the level's (N_l + 1)^d vertices fit T (Python ints: no overflow)."""
        return np.array([(int(n) + 1) ** self.dims <= self.table_size for n in self.resolutions])

    @property
    def table_sizes(self) -> list[int]:
        """Entries of each level's table: min(T, (N_l + 1)^d)."""
        return [min(self.table_size, (int(n) + 1) ** self.dims) for n in self.resolutions]

    @property
    def output_dims(self) -> int:
        return self.n_levels * self.n_features_per_level

    @property
    def lookups_per_query(self) -> int:
        return self.n_levels * 2 ** self.dims

    def bytes_per_query(self, bytes_per_feature: int = 2) -> int:
        return self.lookups_per_query * self.n_features_per_level * bytes_per_feature

    def _level_flops(self) -> int:
        corners, d = 2 ** self.dims, self.dims
        return 2 * d + corners * (d - 1) + 2 * corners * self.n_features_per_level

    def _level_int_ops(self, dense: bool) -> int:
        d = self.dims
        return 2 ** d * (2 * (d - 1) if dense else 2 * d)

    def flops_per_query(self) -> int:
        """Floating-point ops of one query (module docstring): weights and weighted sum."""
        return self.n_levels * self._level_flops()

    def int_ops_per_query(self) -> int:
        """Integer index ops of one query (hash or dense index), counted apart from FLOPs."""
        return sum(self._level_int_ops(bool(dense)) for dense in self.dense_levels)

    def analytical_counts(self, n_points: int, bytes_per_feature: int = 2) -> EncodingCounts:
        """The counts of encoding ``n_points`` points, from the formulas alone."""
        n = _int_field("n_points", n_points, 0)
        bpf = [_int_field("bytes_per_feature", bytes_per_feature, 1)] * self.n_levels
        return self._counts(n, bpf)

    def _counts(self, n: int, bytes_per_feature: list[int]) -> EncodingCounts:
        lookups = n * 2 ** self.dims
        return EncodingCounts(
            n, (lookups,) * self.n_levels,
            tuple(lookups * self.n_features_per_level * b for b in bytes_per_feature),
            (n * self._level_flops(),) * self.n_levels,
            tuple(n * self._level_int_ops(bool(dense)) for dense in self.dense_levels))

    # --- tables and encoding ------------------------------------------------------------
    def init_tables(self, seed: int = 0, dtype=np.float16) -> list[np.ndarray]:
        """Tables ~ uniform(-1e-4, 1e-4) as instant-ngp, one (table_sizes[l], F) per level."""
        rng = np.random.default_rng(seed)
        return [rng.uniform(-1e-4, 1e-4, (size, self.n_features_per_level)).astype(dtype)
                for size in self.table_sizes]

    def _check_tables(self, tables) -> None:
        if len(tables) != self.n_levels:
            raise SpecError(f"tables: {len(tables)} given, expected one per level ({self.n_levels})")
        for level, (table, size) in enumerate(zip(tables, self.table_sizes)):
            expected = (size, self.n_features_per_level)
            shape = getattr(table, "shape", None)
            if shape != expected:
                raise SpecError(f"tables[{level}]: shape {shape}, expected {expected} (level {level})")

    def _check_points(self, points) -> np.ndarray:
        x = np.asarray(points, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dims:
            raise SpecError(f"points: shape {x.shape}, expected (n, {self.dims})")
        bad = ~(np.isfinite(x) & (x >= 0) & (x <= 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise SpecError(f"points[{i}, {j}] = {float(x[i, j])!r}: expected a finite coordinate in [0, 1]")
        return x

    def encode(self, points, tables, return_counts: bool = False):
        """Features of ``points`` (n, d) in [0,1]: (n, n_levels * F) float32, level-major.
        ``return_counts=True`` also returns the :class:`EncodingCounts` of this call."""
        self._check_tables(tables)
        x = self._check_points(points)
        n, F = x.shape[0], self.n_features_per_level
        out = np.empty((n, self.output_dims), np.float32)
        flat = [np.ascontiguousarray(t, dtype=np.float32) for t in tables]
        if F == 2:   # both features in one gather; the weighted sum as a complex64 scale
            flat = [t.view(np.complex64).ravel() for t in flat]
        # float32 positions are exact enough (and faster) while N_l < 2^22; finer grids need float64
        pos_dtype = np.float32 if self.resolutions[-1] < 1 << 22 else np.float64
        levels = list(zip(self.resolutions.tolist(), self.dense_levels.tolist(), flat))
        for start in range(0, n, CHUNK_POINTS):
            xt = x[start:start + CHUNK_POINTS].T.astype(pos_dtype)   # (d, m): long contiguous rows
            for level, (res, dense, table) in enumerate(levels):
                out[start:start + xt.shape[1], level * F:(level + 1) * F] = self._level(xt, res, dense, table)
        if not return_counts:
            return out
        return out, self._counts(n, [np.dtype(t.dtype).itemsize for t in tables])

    def _level(self, xt: np.ndarray, res: int, dense: bool, table: np.ndarray) -> np.ndarray:
        """One level for a chunk: (m, F) interpolated features."""
        d, m = xt.shape
        p = xt * xt.dtype.type(res)
        cell = np.minimum(np.floor(p), res - 1)      # x = 1 lies in the last cell, fraction 1
        frac = (p - cell).astype(np.float32, copy=False)
        cell = cell.astype(np.uint32)
        idx = self._dense_index(cell, res) if dense else self._hash_index(cell)
        gathered = table.take(idx.reshape(2 ** d, m), axis=0)     # (2^d, m) or (2^d, m, F)
        weights = self._weights(frac)                             # (2^d, m)
        if gathered.dtype == np.complex64:
            return (weights * gathered).sum(0).view(np.float32).reshape(m, 2)
        return np.einsum("cm,cmf->mf", weights, gathered)

    @staticmethod
    def _corner_grid(per_axis: list[np.ndarray], op) -> np.ndarray:
        """Combine per-axis (2, m) corner terms into (2, ..., 2, m), axis 0 slowest."""
        d = len(per_axis)
        acc = per_axis[0].reshape((2,) + (1,) * (d - 1) + per_axis[0].shape[1:])
        for i in range(1, d):
            shape = (1,) * i + (2,) + (1,) * (d - 1 - i) + per_axis[i].shape[1:]
            acc = op(acc, per_axis[i].reshape(shape))
        return acc

    def _hash_index(self, cell: np.ndarray) -> np.ndarray:
        """XOR_i c_i * pi_i in wrapping uint32, mod T (T = 2^k: a mask; k = 32: no-op)."""
        terms = []
        for i in range(cell.shape[0]):
            prime = np.uint32(PRIMES[i])
            low = cell[i] * prime if PRIMES[i] != 1 else cell[i]
            terms.append(np.stack([low, low + prime]))   # (c+1)*pi = c*pi + pi  (mod 2^32)
        idx = self._corner_grid(terms, np.bitwise_xor)
        if self.log2_hashmap_size < 32:
            idx &= np.uint32(self.table_size - 1)
        return idx

    def _dense_index(self, cell: np.ndarray, res: int) -> np.ndarray:
        """sum_i c_i * (N_l + 1)^i in int64."""
        terms = []
        for i in range(cell.shape[0]):
            stride = (res + 1) ** i
            low = cell[i].astype(np.int64) * stride
            terms.append(np.stack([low, low + stride]))
        return self._corner_grid(terms, np.add)

    def _weights(self, frac: np.ndarray) -> np.ndarray:
        """(2^d, m) d-linear weights: products of (1 - f_i) or f_i, corner order as the index."""
        terms = [np.stack([1 - f, f]) for f in frac]
        return self._corner_grid(terms, np.multiply).reshape(2 ** frac.shape[0], frac.shape[1])
