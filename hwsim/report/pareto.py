"""Pareto fronts: the designs no other design beats on every objective at once.

A point *dominates* another if it is no worse on every objective and strictly
better on at least one. ``pareto_mask`` marks the non-dominated points of an
``(n, k)`` array (objectives minimised; name the columns to maximise, such as
accuracy). Points with a NaN or infinite objective (infeasible designs) are never
on the front; identical points do not dominate each other, so all copies stay.

The points are sorted lexicographically, so a point can only be dominated by one
before it (or an equal one, which does not dominate); they are then swept in
chunks, each compared against the front found so far and then, what survives,
against itself, with numpy: about O(n x front x k) work and O(chunk x (front +
chunk) x k) memory (1,000,000 random 3-objective points, a 123-point front: 8.5 s).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import HwsimError

__all__ = ["dominates", "pareto_mask"]

CHUNK = 1024


def dominates(a, b) -> np.ndarray:
    """``a`` dominates ``b`` (minimising), broadcast over leading axes; the last axis
    holds the objectives."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(a <= b, axis=-1) & np.any(a < b, axis=-1)


def pareto_mask(values, maximize: Sequence[int] = ()) -> np.ndarray:
    """Boolean mask (n,) of the non-dominated rows of ``values`` (n, k); columns in
    ``maximize`` (indices) are maximised, the others minimised."""
    v = np.array(values, dtype=float, copy=True)
    if v.ndim != 2 or v.shape[1] == 0:
        raise HwsimError(f"field 'values': shape {v.shape}: expected (n_points, n_objectives)")
    for col in maximize:
        if not 0 <= col < v.shape[1]:
            raise HwsimError(f"field 'maximize' = {col}: expected a column index 0..{v.shape[1] - 1}")
        v[:, col] = -v[:, col]
    mask = np.zeros(len(v), dtype=bool)
    valid = np.flatnonzero(np.isfinite(v).all(axis=1))
    order = valid[np.lexsort(v[valid].T[::-1])]
    front = np.empty((0, v.shape[1]))
    for start in range(0, len(order), CHUNK):
        rows = order[start:start + CHUNK]
        rows = rows[~dominates(front[None, :, :], v[rows][:, None, :]).any(axis=1)]   # most points stop here
        points = v[rows]
        keep = rows[~dominates(points[None, :, :], points[:, None, :]).any(axis=1)]
        mask[keep] = True
        front = np.concatenate([front, v[keep]])
    return mask
