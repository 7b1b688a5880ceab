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
chunk) x k) memory. Before the sweep, every point is compared with a few *elite*
points (the best by the sum of per-objective ranks, which are on or near the front): a
point one of them dominates cannot be on the front, and in a large cloud that removes
almost all points at O(n x elite x k) cost, so the exact sweep runs on the few left.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import HwsimError

__all__ = ["dominates", "pareto_mask"]

CHUNK = 1024
ELITE = 64          # points of the cheap first pass


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
    valid = _drop_dominated_by_elite(v, valid)
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


def _drop_dominated_by_elite(v: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` without those an elite point dominates (exact: a dominated point is never on
    the front, and strict dominance keeps every copy of a front point)."""
    if len(rows) <= 4 * ELITE:
        return rows
    ranks = np.argsort(np.argsort(v[rows], axis=0), axis=0).sum(axis=1)
    elite = v[rows[np.argsort(ranks, kind="stable")[:ELITE]]]
    keep = np.ones(len(rows), dtype=bool)
    for start in range(0, len(rows), 16 * CHUNK):
        block = v[rows[start:start + 16 * CHUNK]]
        keep[start:start + len(block)] = ~dominates(elite[None, :, :], block[:, None, :]).any(axis=1)
    return rows[keep]
