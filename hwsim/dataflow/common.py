"""Math shared by the dataflow models: the cycles of a vector (non-MAC) layer on
its ALU lanes (``vector_compute_cycles``; the stage's vector policy and the GPU
roofline use it), and solving a config-dependent mapping once per distinct
config (``solve_per_unique``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from ..units import ceil_div
from .base import LayerBatch

__all__ = ["distinct_rows", "solve_per_unique", "vector_compute_cycles"]


def vector_compute_cycles(layers: LayerBatch, lanes):
    """Cycles of a vector layer on ``lanes`` ALUs, one operation per lane per cycle."""
    return ceil_div(layers.vector_ops, np.maximum(np.asarray(lanes, dtype=np.int64), 1)).astype(float)


# -- solving once per distinct config ------------------------------------------------

def solve_per_unique(columns: Mapping[str, np.ndarray], fn: Callable):
    """``fn(**columns)`` computed once per distinct row of ``columns``.

    A design-space sweep often repeats the parameters a mapping depends on (only
    the clock or the DRAM bandwidth varies, say). ``columns`` are the ``(C, 1)``
    config fields the mapping depends on; ``fn`` is called with the distinct rows
    (each column ``(U, 1)``, in its own dtype) and returns an array, a tuple
    (named or not), a dataclass or a dict of arrays whose first axis is ``U``;
    each is indexed back to ``C`` rows. Arrays with a first axis of 1 (layer-only
    results) are broadcast and returned as they are. ``fn`` must treat rows
    independently (no reductions over configs), so that the result equals
    ``fn(**columns)``; checks that report the *first* bad config belong after it.
    """
    args, inverse = distinct_rows(columns)
    return _rows(fn(**args), inverse, len(next(iter(args.values()))))


def distinct_rows(columns: Mapping[str, np.ndarray]):
    """The distinct rows of the ``(C, 1)`` config ``columns`` (each ``(U, 1)``, in its
    own dtype) and each config's index among them, ``(C,)``."""
    names = list(columns)
    arrays = [np.asarray(columns[name]).reshape(-1, 1) for name in names]
    size = max(a.shape[0] for a in arrays)
    stacked = np.concatenate([np.broadcast_to(a.astype(float), (size, 1)) for a in arrays], axis=1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    args = {name: unique[:, i:i + 1].astype(a.dtype) for i, (name, a) in enumerate(zip(names, arrays))}
    return args, inverse.reshape(-1)


def _rows(result, inverse, n_unique):
    """``result`` (as ``solve_per_unique`` describes) indexed back to one row per config."""
    if isinstance(result, np.ndarray):
        if result.ndim and result.shape[0] == n_unique:
            return result[inverse]
        return result
    if dataclasses.is_dataclass(result):
        return type(result)(**{f.name: _rows(getattr(result, f.name), inverse, n_unique)
                               for f in dataclasses.fields(result)})
    if isinstance(result, tuple):
        items = [_rows(a, inverse, n_unique) for a in result]
        return type(result)(*items) if hasattr(result, "_fields") else tuple(items)
    if isinstance(result, dict):
        return {k: _rows(v, inverse, n_unique) for k, v in result.items()}
    return result
