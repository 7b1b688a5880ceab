"""Reading a sweep's results: the best point per objective and the Pareto front.

Both work per network (a sweep of several networks has one front each), over
feasible rows only; objectives are ``(column, "min" | "max")`` pairs, as in a
sweep spec.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import SpecError
from ..report.pareto import pareto_mask


def _check(frame, objectives) -> None:
    missing = [c for c, _ in objectives if c not in frame.columns]
    if missing:
        raise SpecError(f"field 'objectives' = {missing[0]!r}: not a column of the results; valid: "
                        f"{sorted(c for c in frame.columns if frame[c].dtype.kind in 'fiu')}")


def pareto_front(frame, objectives: Sequence[tuple[str, str]]):
    """The rows of ``frame`` no other feasible row of the same network dominates
    on ``objectives`` (``hwsim.report.pareto_mask``), in their original order."""
    _check(frame, objectives)
    keep = np.zeros(len(frame), dtype=bool)
    feasible = frame["feasible"].to_numpy(bool) if "feasible" in frame else np.ones(len(frame), bool)
    networks = frame["network"].to_numpy() if "network" in frame else np.zeros(len(frame))
    maximize = [i for i, (_, sense) in enumerate(objectives) if sense == "max"]
    for network in dict.fromkeys(networks):
        rows = np.flatnonzero((networks == network) & feasible)
        if len(rows):
            values = frame[[c for c, _ in objectives]].to_numpy(float)[rows]
            keep[rows[pareto_mask(values, maximize=maximize)]] = True
    return frame[keep]


def best_rows(frame, objectives: Sequence[tuple[str, str]], parameters: Sequence[str] = ()) -> list[dict]:
    """One record per (network, objective): the feasible point with the best
    value, its parameters and its value (first such point on ties)."""
    _check(frame, objectives)
    out = []
    feasible = frame["feasible"].to_numpy(bool)
    networks = frame["network"].to_numpy() if "network" in frame else np.full(len(frame), "")
    for network in dict.fromkeys(networks):
        rows = np.flatnonzero((networks == network) & feasible)
        for column, sense in objectives:
            if not len(rows):
                continue
            values = frame[column].to_numpy(float)[rows]
            pick = rows[int(np.nanargmax(values) if sense == "max" else np.nanargmin(values))]
            row = frame.iloc[pick]
            out.append({"network": network, "objective": column, "sense": sense, "value": row[column],
                        "point": int(row["point"]), "parameters": {p: row[p] for p in parameters}})
    return out


__all__ = ["best_rows", "pareto_front"]
