"""Design points of a sweep, generated chunk by chunk from their indices.

A sweep's points are the product of an optional **grid** (every combination of
the listed values) and an optional **sample** block (N seeded random points, or
a seeded Latin hypercube of N points): point ``i`` is grid point ``i // N``
combined with sample ``i % N``. Nothing is materialised for the whole sweep:

* grid point ``g`` is decoded arithmetically (mixed radix, the last parameter
  varying fastest), so any index range costs only its own size;
* random samples come in fixed blocks of :data:`RANDOM_BLOCK`, each drawn from
  its own generator seeded ``(seed, block)``: a point's value does not depend on
  how the sweep is chunked or which process draws it;
* a Latin hypercube needs one permutation of its N strata per dimension, drawn
  once per process from ``seed`` and cached (N x dimensions floats).

Derived parameters are then evaluated on the chunk's arrays, in the order the
spec gives them (a derived parameter may use an earlier one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from .expr import Expression

RANDOM_BLOCK = 4096


@dataclass(frozen=True)
class Grid:
    """Every combination of ``values[i]`` for ``names[i]`` (last name fastest)."""

    names: tuple[str, ...]
    values: tuple[np.ndarray, ...]      # int64, float64 or object (strings), one array per name

    @property
    def size(self) -> int:
        return int(np.prod([len(v) for v in self.values], dtype=object))

    def take(self, index: np.ndarray) -> dict[str, np.ndarray]:
        out, rest = {}, np.asarray(index, dtype=np.int64)
        for name, values in zip(reversed(self.names), reversed(self.values)):
            out[name] = values[rest % len(values)]
            rest = rest // len(values)
        return {name: out[name] for name in self.names}


@dataclass(frozen=True)
class Range:
    """How a unit value u in [0, 1) becomes a parameter value: one of
    ``choices``, or a uniform (``log``: log-uniform) value in [low, high]; an
    ``integer`` range covers [low, high + 1) and is floored, so every integer
    in [low, high] is equally likely (per unit of log if ``log``)."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def map(self, u: np.ndarray) -> np.ndarray:
        if self.choices:
            picks = np.minimum((u * len(self.choices)).astype(np.int64), len(self.choices) - 1)
            return values_array(self.choices)[picks]
        top = self.high + 1 if self.integer else self.high
        if self.log:
            value = np.exp(np.log(self.low) + u * (np.log(top) - np.log(self.low)))
        else:
            value = self.low + u * (top - self.low)
        if self.integer:
            return np.clip(np.floor(value), self.low, self.high).astype(np.int64)
        return np.clip(value, self.low, self.high)     # exp/log round-off only: u < 1 keeps it inside


@dataclass(frozen=True)
class Samples:
    """``samples`` seeded points: ``kind`` "random" (independent uniform) or
    "lhs" (Latin hypercube: each of the N strata of every dimension hit once)."""

    kind: str
    samples: int
    seed: int
    names: tuple[str, ...]
    ranges: tuple[Range, ...]

    def unit(self, index: np.ndarray) -> np.ndarray:
        """(len(index), dimensions) unit values of samples ``index``."""
        index = np.asarray(index, dtype=np.int64)
        if self.kind == "lhs":
            return lhs_unit(self.samples, len(self.names), self.seed)[index]
        out = np.empty((len(index), len(self.names)))
        blocks = index // RANDOM_BLOCK
        for block in np.unique(blocks):
            rows = blocks == block
            out[rows] = random_block(self.seed, int(block), len(self.names))[index[rows] % RANDOM_BLOCK]
        return out

    def take(self, index: np.ndarray) -> dict[str, np.ndarray]:
        u = self.unit(index)
        return {name: rng.map(u[:, j]) for j, (name, rng) in enumerate(zip(self.names, self.ranges))}


def random_block(seed: int, block: int, dimensions: int) -> np.ndarray:
    """The unit values of random block ``block``: (RANDOM_BLOCK, dimensions)."""
    return np.random.default_rng([seed, block]).random((RANDOM_BLOCK, dimensions))


@lru_cache(maxsize=4)
def lhs_unit(samples: int, dimensions: int, seed: int) -> np.ndarray:
    """A Latin hypercube in the unit cube, (samples, dimensions): column j is
    (a permutation of 0..N-1 + a uniform jitter) / N, so each stratum
    [k/N, (k+1)/N) of every dimension holds exactly one sample."""
    rng = np.random.default_rng(seed)
    out = np.empty((samples, dimensions))
    for j in range(dimensions):
        out[:, j] = (rng.permutation(samples) + rng.random(samples)) / samples
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class PointSpace:
    """The sweep's points: grid x samples, then the derived parameters.
    ``constants`` are the template's numeric defaults, which derived
    expressions may read for parameters the sweep does not vary."""

    grid: Grid | None = None
    sampler: Samples | None = None
    derived: tuple[tuple[str, Expression], ...] = ()
    constants: Mapping[str, float] = None

    @property
    def size(self) -> int:
        return (self.grid.size if self.grid else 1) * (self.sampler.samples if self.sampler else 1)

    @property
    def swept(self) -> tuple[str, ...]:
        return (self.grid.names if self.grid else ()) + (self.sampler.names if self.sampler else ())

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter a point sets: the swept ones, then the derived ones."""
        return self.swept + tuple(name for name, _ in self.derived)

    def take(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The values of points ``start .. stop - 1``: swept parameters as given,
        derived ones as float64 (their template type is checked by the caller)."""
        index = np.arange(start, stop, dtype=np.int64)
        per_sample = self.sampler.samples if self.sampler else 1
        values: dict[str, np.ndarray] = {}
        if self.grid:
            values.update(self.grid.take(index // per_sample))
        if self.sampler:
            values.update(self.sampler.take(index % per_sample))
        return self.derive(values)

    def derive(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        scope = dict(self.constants or {})
        scope.update(values)
        for name, expression in self.derived:
            values[name] = scope[name] = np.broadcast_to(expression.evaluate(scope),
                                                         (_length(values),)).copy()
        return values


def _length(values: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(values.values()))) if values else 1


def values_array(items) -> np.ndarray:
    """Grid values or choices as a numpy array of their type: int64, float64, or
    object (strings, or a mix)."""
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        return np.asarray(items, dtype=np.int64)
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items):
        return np.asarray(items, dtype=float)
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


__all__ = ["Grid", "PointSpace", "RANDOM_BLOCK", "Range", "Samples", "lhs_unit", "random_block", "values_array"]
