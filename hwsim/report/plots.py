"""Plots of design-space results: generic functions over pandas DataFrames, one PNG each.

Used by the co-search (``nasaic``) and by design-space sweeps. Every function takes
a frame (or, for ``best_so_far``, a mapping of arrays), writes one PNG to ``out`` and
returns its :class:`~pathlib.Path`. Column names carry their units
(``latency_cycles``, ``energy_pj``, ``area_mm2``, ``ops_per_byte``); ``axis_label``
turns them into axis labels ("latency [cycles]").

matplotlib is imported inside the functions, so ``import hwsim`` stays light. Each
figure is a ``matplotlib.figure.Figure`` on its own Agg canvas: no pyplot state, no
backend switch, nothing shared between calls or threads.

Inputs are validated up front: a missing or non-numeric column, an empty frame or an
unknown objective direction raises :class:`~hwsim.errors.SpecError` naming the
argument and its value. Rows with a NaN or infinite value (infeasible or failed
designs) are dropped from the plot and counted in the title, never a crash. The
pure helpers ``front_points``, ``pareto_rows``, ``curve_summary`` and ``roof`` return
exactly what is drawn, so tests check them without reading pixels.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import SpecError
from .pareto import pareto_mask

__all__ = ["axis_label", "best_so_far", "curve_summary", "front_points", "pareto_projections", "pareto_rows",
           "roof", "roofline", "scatter_vs_metric", "stacked_bars"]

UNITS = {"cycles": "cycles", "cycle": "cycle", "s": "s", "ms": "ms", "us": "µs", "ns": "ns", "pj": "pJ",
         "nj": "nJ", "uj": "µJ", "mj": "mJ", "j": "J", "mm2": "mm²", "um2": "µm²", "bytes": "bytes",
         "byte": "byte", "w": "W", "mw": "mW", "mhz": "MHz", "ghz": "GHz", "ops": "ops", "macs": "MACs",
         "pct": "%"}
GOALS = ("min", "max")


def axis_label(column: str) -> str:
    """``latency_cycles`` -> "latency [cycles]", ``bw_bytes_per_cycle`` -> "bw [bytes/cycle]",
    ``ops_per_byte`` -> "ops/byte"; a name without a known unit suffix keeps its words."""
    name, _, per = str(column).partition("_per_")
    head, _, unit = name.rpartition("_")
    if unit.lower() not in UNITS or not (head or per):
        return str(column).replace("_", " ")
    shown = UNITS[unit.lower()] + (f"/{UNITS.get(per.lower(), per)}" if per else "")
    return f"{head.replace('_', ' ')} [{shown}]" if head else shown


# ---------------------------------------------------------------- validation

def _check_frame(frame, arg: str = "frame"):
    import pandas as pd
    if not isinstance(frame, pd.DataFrame):
        raise SpecError(f"field '{arg}' = {type(frame).__name__}: expected a pandas DataFrame")
    if len(frame) == 0:
        raise SpecError(f"field '{arg}': empty DataFrame (0 rows); expected at least one row")
    return frame


def _column(frame, column, arg: str) -> np.ndarray:
    """The numeric column ``column`` of ``frame`` as floats (``arg`` names the argument)."""
    import pandas as pd
    if column not in frame.columns:
        raise SpecError(f"field '{arg}' = {column!r}: no such column; columns are {list(frame.columns)}")
    if not pd.api.types.is_numeric_dtype(frame[column]):
        raise SpecError(f"field '{arg}' = {column!r}: column has dtype {frame[column].dtype}; expected numbers")
    return frame[column].to_numpy(dtype=float)


def _number(value, arg: str, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"field '{arg}' = {value!r}: expected a number") from None
    if not np.isfinite(v) or (positive and v <= 0):
        raise SpecError(f"field '{arg}' = {value!r}: expected a finite {'positive ' if positive else ''}number")
    return v


def _goals(objectives) -> dict:
    if not isinstance(objectives, Mapping) or not 2 <= len(objectives) <= 4:
        raise SpecError(f"field 'objectives' = {objectives!r}: expected a dict of 2 to 4 column -> 'min'|'max'")
    for column, goal in objectives.items():
        if goal not in GOALS:
            raise SpecError(f"field 'objectives'[{column!r}] = {goal!r}: expected 'min' or 'max'")
    return dict(objectives)


def _out(out) -> Path:
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise SpecError(f"field 'out' = '{path}': expected a file name ending in .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _dropped(n: int, why: str = "NaN/inf") -> str:
    return f"{n} row{'s' if n != 1 else ''} with {why} dropped" if n else ""


# ---------------------------------------------------------------- figures

def _figure(figsize=(6.4, 4.8)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, title, notes, out) -> Path:
    """Title (its second line lists what was dropped), then the PNG."""
    text = "\n".join(t for t in [title or "", "; ".join(n for n in notes if n)] if t)
    if text:
        fig.suptitle(text, fontsize=10)
    path = _out(out)
    fig.savefig(path, format="png")
    return path


# ---------------------------------------------------------------- pure helpers

def front_points(frame, x: str, y: str, *, x_goal: str = "min", y_goal: str = "max") -> np.ndarray:
    """The distinct Pareto-optimal (x, y) pairs of ``frame`` (rows with NaN/inf left
    out), shape (m, 2), sorted by x ascending: the vertices of the drawn step line.
    With x minimised the line steps after each vertex (the best y within an x budget)."""
    for goal, arg in ((x_goal, "x_goal"), (y_goal, "y_goal")):
        if goal not in GOALS:
            raise SpecError(f"field '{arg}' = {goal!r}: expected 'min' or 'max'")
    _check_frame(frame)
    xy = np.column_stack([_column(frame, x, "x"), _column(frame, y, "y")])
    maximize = [i for i, goal in enumerate((x_goal, y_goal)) if goal == "max"]
    front = np.unique(xy[pareto_mask(xy, maximize=maximize)], axis=0)   # unique sorts by x, then y
    return front.reshape(-1, 2)


def pareto_rows(frame, objectives: Mapping[str, str]) -> np.ndarray:
    """Boolean mask over ``frame``'s rows: the rows no other row beats on all
    ``objectives`` (column -> 'min'|'max') at once; rows with NaN/inf are never on it."""
    objectives = _goals(objectives)
    _check_frame(frame)
    values = np.column_stack([_column(frame, c, f"objectives[{c!r}]") for c in objectives])
    return pareto_mask(values, maximize=[i for i, g in enumerate(objectives.values()) if g == "max"])


def curve_summary(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, min, max) over seeds (axis 0) of a seeds x episodes array, per episode,
    over the seeds that have a finite value there (NaN where no seed has one yet)."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    count = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(axis=0) / count
    lo = np.where(ok, v, np.inf).min(axis=0)
    hi = np.where(ok, v, -np.inf).max(axis=0)
    none = count == 0
    return np.where(none, np.nan, mean), np.where(none, np.nan, lo), np.where(none, np.nan, hi)


def roof(intensity, peak_ops_per_cycle: float, bw_bytes_per_cycle: float) -> np.ndarray:
    """Attainable ops/cycle at arithmetic intensity ``intensity`` (ops/byte): the
    memory roof bw x intensity up to the ridge point, the compute peak after it."""
    return np.minimum(peak_ops_per_cycle, bw_bytes_per_cycle * np.asarray(intensity, dtype=float))


# ---------------------------------------------------------------- plots

def scatter_vs_metric(frame, x: str, y: str, out, *, spec=None, feasible_col=None, highlight=None, pareto=True,
                      label_x=None, label_y=None, title=None, log_x=False) -> Path:
    """Scatter ``y`` (maximised, e.g. accuracy) against ``x`` (minimised, e.g.
    latency_cycles). With ``feasible_col`` (a boolean column) designs meeting the
    specs and the others get two styles, and the Pareto front is over the feasible
    ones; ``spec`` draws the bound on x as a dashed vertical line; ``highlight``
    (label -> (x, y)) marks named designs with annotated stars."""
    _check_frame(frame)
    xs, ys = _column(frame, x, "x"), _column(frame, y, "y")
    feasible = np.ones(len(frame), dtype=bool)
    if feasible_col is not None:
        flags = _column(frame, feasible_col, "feasible_col")
        if not np.isin(flags[np.isfinite(flags)], (0.0, 1.0)).all():
            raise SpecError(f"field 'feasible_col' = {feasible_col!r}: expected booleans (True/False or 1/0)")
        feasible = flags == 1.0
    spec = None if spec is None else _number(spec, "spec", positive=log_x)
    marks = {}
    for label, point in (highlight or {}).items():
        try:
            marks[label] = (_number(point[0], f"highlight[{label!r}]", positive=log_x),
                            _number(point[1], f"highlight[{label!r}]"))
        except (TypeError, IndexError, KeyError):
            raise SpecError(f"field 'highlight'[{label!r}] = {point!r}: expected an (x, y) pair") from None
    keep = np.isfinite(xs) & np.isfinite(ys) & (np.isfinite(flags) if feasible_col is not None else True)
    notes = [_dropped(int((~keep).sum()))]
    if log_x:
        notes.append(_dropped(int((keep & (xs <= 0)).sum()), f"{x} <= 0 (log scale)"))
        keep &= xs > 0
    fig = _figure()
    ax = fig.add_subplot()
    if feasible_col is None:
        ax.scatter(xs[keep], ys[keep], s=14, alpha=0.6, color="tab:blue", label="designs")
    else:
        bad = keep & ~feasible
        ax.scatter(xs[bad], ys[bad], s=12, marker="x", alpha=0.5, color="tab:gray", label="violates specs")
        ax.scatter(xs[keep & feasible], ys[keep & feasible], s=14, alpha=0.7, color="tab:blue",
                   label="meets specs")
    if pareto and (keep & feasible).any():
        front = front_points(frame[keep & feasible], x, y)
        ax.step(front[:, 0], front[:, 1], where="post", color="tab:red", lw=1.5,
                label="Pareto front" + (" (meeting specs)" if feasible_col is not None else ""))
    if spec is not None:
        ax.axvline(spec, color="black", ls="--", lw=1, label=f"spec: {axis_label(x)} ≤ {spec:g}")
    for i, (label, (hx, hy)) in enumerate(marks.items()):
        ax.scatter([hx], [hy], marker="*", s=180, zorder=5, edgecolor="black", color=f"C{(i + 1) % 10}")
        ax.annotate(label, (hx, hy), xytext=(8, 8 - 14 * (i % 3)), textcoords="offset points", fontsize=8,
                    arrowprops=dict(arrowstyle="-", lw=0.5))
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(label_x or axis_label(x))
    ax.set_ylabel(label_y or axis_label(y))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _finish(fig, title, notes, out)


def pareto_projections(frame, objectives: Mapping[str, str], out, *, title=None) -> Path:
    """Every pair of the 2 to 4 ``objectives`` (column -> 'min'|'max') in a grid of
    2-D scatters, the designs Pareto-optimal on all objectives at once highlighted
    (a point hidden inside a 2-D projection can still be optimal on the others)."""
    objectives = _goals(objectives)
    on_front = pareto_rows(frame, objectives)
    values = {c: _column(frame, c, f"objectives[{c!r}]") for c in objectives}
    keep = np.all([np.isfinite(v) for v in values.values()], axis=0)
    pairs = list(combinations(objectives, 2))
    ncols = min(3, len(pairs))
    nrows = -(-len(pairs) // ncols)
    fig = _figure((4.0 * ncols, 3.6 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (a, b) in zip(axes, pairs):
        rest = keep & ~on_front
        ax.scatter(values[a][rest], values[b][rest], s=10, alpha=0.4, color="tab:gray", label="dominated")
        ax.scatter(values[a][on_front], values[b][on_front], s=22, color="tab:red", edgecolor="black",
                   lw=0.4, label=f"Pareto set ({int(on_front.sum())})")
        ax.set_xlabel(f"{axis_label(a)} ({objectives[a]})")
        ax.set_ylabel(f"{axis_label(b)} ({objectives[b]})")
        ax.grid(alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    return _finish(fig, title, [_dropped(int((~keep).sum()))], out)


def _stack_table(frame, index, stack, value, top):
    """Pivot (index x stack, values summed) in first-appearance order; with ``top``
    the ``top`` largest index entries stay (in order) and the rest sum into 'other'."""
    import pandas as pd
    table = frame.pivot_table(index=index, columns=stack, values=value, aggfunc="sum", fill_value=0.0,
                              sort=False)
    if top is None or len(table) <= top:
        return table
    kept = set(table.sum(axis=1).sort_values(ascending=False, kind="stable").index[:top])
    big = table[[i in kept for i in table.index]]
    other = table[[i not in kept for i in table.index]].sum().to_frame("other").T
    return pd.concat([big, other])


def stacked_bars(frame, index: str, stack: str, value: str, out, *, title=None, label_value=None,
                 top=None) -> Path:
    """One bar per ``index`` entry (e.g. layer), split into ``stack`` (e.g.
    sub-accelerator or memory level), heights ``value`` (e.g. energy_pj; rows with
    the same index and stack are summed). ``top`` keeps the N largest bars plus 'other'."""
    _check_frame(frame)
    for column, arg in ((index, "index"), (stack, "stack")):
        if column not in frame.columns:
            raise SpecError(f"field '{arg}' = {column!r}: no such column; columns are {list(frame.columns)}")
    v = _column(frame, value, "value")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise SpecError(f"field 'top' = {top!r}: expected a positive integer")
    keep = np.isfinite(v) & frame[index].notna().to_numpy() & frame[stack].notna().to_numpy()
    if (v[keep] < 0).any():
        raise SpecError(f"field 'value' = {value!r}: {int((v[keep] < 0).sum())} negative entries "
                        f"(min {v[keep].min():g}); stacked bars need values >= 0")
    import pandas as pd
    table = _stack_table(frame[keep], index, stack, value, top) if keep.any() else pd.DataFrame()
    fig = _figure((max(6.4, 0.28 * len(table) + 2.5), 4.8))
    ax = fig.add_subplot()
    positions = np.arange(len(table))
    bottom = np.zeros(len(table))
    for i, level in enumerate(table.columns):
        heights = table[level].to_numpy(dtype=float)
        ax.bar(positions, heights, bottom=bottom, color=f"C{i % 10}", label=str(level), width=0.8)
        bottom += heights
    ax.set_xticks(positions, [str(i) for i in table.index], rotation=90 if len(table) > 8 else 0, fontsize=7)
    ax.set_xlabel(axis_label(index))
    ax.set_ylabel(label_value or axis_label(value))
    ax.grid(axis="y", alpha=0.3)
    if len(table.columns):
        ax.legend(title=axis_label(stack), fontsize=8)
    return _finish(fig, title, [_dropped(int((~keep).sum()), "NaN/inf or missing")], out)


def best_so_far(curves, out, *, optimum=None, label_y: str = "best accuracy meeting specs", title=None) -> Path:
    """Best-so-far curves of search controllers: ``curves`` maps a controller name to
    a seeds x episodes array (NaN before a seed's first feasible design). Each is
    drawn as the mean over seeds with a feasible design so far, inside a min-max
    band over seeds; ``optimum`` (the exact best, if known) is a horizontal line."""
    if not isinstance(curves, Mapping) or not curves:
        raise SpecError(f"field 'curves' = {curves!r}: expected a non-empty dict name -> (seeds x episodes) array")
    arrays = {}
    for name, values in curves.items():
        try:
            a = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise SpecError(f"field 'curves'[{name!r}]: not numbers; expected a (seeds x episodes) array") from None
        if a.ndim != 2 or a.size == 0:
            raise SpecError(f"field 'curves'[{name!r}]: shape {a.shape}; expected a non-empty (seeds x episodes)"
                            f" array")
        arrays[name] = a
    optimum = None if optimum is None else _number(optimum, "optimum")
    fig = _figure()
    ax = fig.add_subplot()
    for i, (name, a) in enumerate(arrays.items()):
        mean, lo, hi = curve_summary(a)
        episodes = np.arange(1, a.shape[1] + 1)
        ax.plot(episodes, mean, color=f"C{i % 10}", lw=1.5, label=f"{name} ({a.shape[0]} seeds)")
        ax.fill_between(episodes, lo, hi, color=f"C{i % 10}", alpha=0.2, lw=0)
    if optimum is not None:
        ax.axhline(optimum, color="black", ls="--", lw=1, label=f"exact optimum {optimum:g}")
    ax.set_xlabel("episode")
    ax.set_ylabel(label_y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _finish(fig, title, ["band: min-max over seeds"], out)


def roofline(frame, out, *, peak_ops_per_cycle, bw_bytes_per_cycle, intensity_col: str = "ops_per_byte",
             perf_col: str = "ops_per_cycle", label_col=None) -> Path:
    """The roofline min(peak, bw x intensity) on log-log axes, each row (a layer) a
    point at (``intensity_col``, ``perf_col``), labelled from ``label_col`` if given
    (up to 40 labels). Points above the roof mean a model bug; they are counted."""
    _check_frame(frame)
    peak = _number(peak_ops_per_cycle, "peak_ops_per_cycle", positive=True)
    bw = _number(bw_bytes_per_cycle, "bw_bytes_per_cycle", positive=True)
    intensity, perf = _column(frame, intensity_col, "intensity_col"), _column(frame, perf_col, "perf_col")
    if label_col is not None and label_col not in frame.columns:
        raise SpecError(f"field 'label_col' = {label_col!r}: no such column; columns are {list(frame.columns)}")
    finite = np.isfinite(intensity) & np.isfinite(perf)
    keep = finite & (intensity > 0) & (perf > 0)
    above = keep & (perf > roof(intensity, peak, bw) * (1 + 1e-9))
    notes = [_dropped(int((~finite).sum())), _dropped(int((finite & ~keep).sum()), "values <= 0 (log scale)"),
             f"{int(above.sum())} above the roof" if above.any() else ""]
    ridge = peak / bw
    span = np.concatenate([[ridge], intensity[keep]])
    grid = np.geomspace(span.min() / 4, span.max() * 4, 200)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(grid, roof(grid, peak, bw), color="black", lw=1.5,
            label=f"roof: peak {peak:g} ops/cycle, bw {bw:g} bytes/cycle")
    ax.axvline(ridge, color="gray", ls=":", lw=1, label=f"ridge {ridge:g} ops/byte")
    ax.scatter(intensity[keep], perf[keep], s=18, color="tab:blue", zorder=3, label="layers")
    if label_col is not None:
        for i in np.flatnonzero(keep)[:40]:
            ax.annotate(str(frame[label_col].iloc[i]), (intensity[i], perf[i]), xytext=(3, 3),
                        textcoords="offset points", fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(axis_label(intensity_col))
    ax.set_ylabel(axis_label(perf_col))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    return _finish(fig, None, notes, out)
