"""Reports of design-space sweeps and of single evaluations: Markdown and a standalone HTML page.

``write_sweep_report(source, out_dir)`` reads a sweep (a DataFrame, a Parquet file or
a folder of Parquet parts) and writes ``report.md``, ``report.html`` (the same
content, its PNGs embedded as base64 data URIs, so the page is one file to share)
and the PNGs beside them. ``write_evaluate_report`` does the same for one
``hwsim.evaluate`` result. Plots come from ``hwsim.report.plots``.

How a frame is read:

* **Design points.** A row is one design point, or (frames with a ``layer`` column,
  as ``evaluate_many(per_layer=True)`` and layers-mode sweeps write) one layer of one;
  points are told apart by ``point`` (sweeps), else ``config`` (``evaluate_many``).
  Per-layer rows are summed per point (``latency_*``, ``energy_*``, ``macs``): layers
  run one after another. A point is feasible if all its rows are (``feasible``
  column; all feasible without it); infeasible points are counted, their most common
  ``error`` listed, and never on the Pareto front.
* **Objectives** (column -> 'min'|'max', 2 to 4): by default those of
  ``latency_cycles``, ``energy_pj``, ``area_mm2`` (all minimised) that the frame has.
* **Parameters** (the swept columns): by default every column that is not a result
  -- not one of ``RESULT_COLUMNS``, not ``energy_*``/``latency_*``/``*_accesses`` and,
  in per-layer frames, constant over a point's layers (so the per-layer traffic
  ``<level>_bytes`` is a result there, while in a totals frame ``l2_bytes`` is the
  swept buffer size). Pass ``parameters`` to name them exactly.

Plots: the Pareto set in every 2-D projection of the objectives; parameter
sensitivity (per parameter value, the best and the median objective over the
feasible points having it); and for one *featured* point (the best on the first
objective) its per-layer energy stacked by level and its layers on a roofline of
the outermost memory level (its ``<level>_bytes`` and ``<level>_bw_bytes_per_cycle``,
e.g. ``dram``). A plot the frame cannot support is skipped with a note saying why.
Input is checked first: bad input raises SpecError naming the argument or file.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import numpy as np

from ..errors import SpecError
from .plots import _column, _figure, _finish, _goals, axis_label, pareto_projections, pareto_rows, roofline, \
    stacked_bars

__all__ = ["RESULT_COLUMNS", "load_results", "write_evaluate_report", "write_sweep_report"]

DEFAULT_OBJECTIVES = {"latency_cycles": "min", "energy_pj": "min", "area_mm2": "min"}
KEYS = ("point", "config")
RESULT_COLUMNS = frozenset({
    "point", "config", "design", "template", "layer_index", "layer", "op", "macs", "feasible", "error", "bound",
    "latency_cycles", "latency_s", "compute_cycles", "utilization", "energy_pj", "area_mm2", "peak_macs_per_cycle",
    "edp", "edp_pj_cycles", "energy_delay_product"})
SUMMED_PREFIXES = ("energy_", "latency_")
TOP_ROWS = 20          # rows of the Pareto table and bars of the totals-only energy plot
MAX_SCATTER = 20_000   # dominated points drawn in the projections (a seeded sample beyond)
MAX_PARAMETERS = 6     # panels per objective in the sensitivity plot
BINS = 10              # a numeric parameter with more distinct values is binned by quantiles
PLOTS = ("pareto.png", "sensitivity.png", "layer_energy.png", "roofline.png")


# ---------------------------------------------------------------- input

def load_results(source):
    """``source`` as a DataFrame: a DataFrame as is, a Parquet file or a folder of parts read."""
    import pandas as pd
    if isinstance(source, pd.DataFrame):
        frame, where = source, ""
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SpecError(f"field 'source' = '{path}': no such file or folder; expected a Parquet file or a "
                            f"folder of Parquet parts")
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:   # pyarrow raises ArrowInvalid, OSError, ValueError...: all mean unreadable
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpecError(f"{path}: cannot read as Parquet ({reason}); expected a Parquet file or a folder of "
                            f"Parquet parts") from None
        where = f" ({path})"
    else:
        raise SpecError(f"field 'source' = {type(source).__name__}: expected a DataFrame, a Parquet file or a folder")
    if len(frame) == 0:
        raise SpecError(f"field 'source'{where}: no rows; expected a sweep's results")
    return frame


def _is_result(column: str) -> bool:
    return column in RESULT_COLUMNS or column.startswith(SUMMED_PREFIXES) or column.endswith("_accesses")


def _designs(frame):
    """(one row per design point, key column, per-layer?): per-layer rows summed per point."""
    per_layer = "layer" in frame.columns
    key = next((k for k in KEYS if k in frame.columns), "design")
    if key == "design":
        frame = frame.assign(design=0 if per_layer else np.arange(len(frame)))
    if "feasible" not in frame.columns:
        frame = frame.assign(feasible=True)
    if "error" not in frame.columns:
        frame = frame.assign(error="")
    if not per_layer:
        return frame.reset_index(drop=True), key, frame, per_layer
    import pandas as pd
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c != key]
    summed = [c for c in numeric if c.startswith(SUMMED_PREFIXES) or c == "macs"]
    first = [c for c in frame.columns if c not in summed and c not in (key, "feasible", "error")]
    grouped = frame.groupby(key, sort=False)
    designs = pd.concat([grouped[summed].sum(), grouped[first].first(), grouped["feasible"].all()], axis=1)
    errors = frame[frame["error"].astype(str) != ""].groupby(key, sort=False)["error"].first()
    designs["error"] = errors.reindex(designs.index).fillna("")
    designs.loc[~designs["feasible"], summed] = np.nan
    if "latency_cycles" in summed:
        designs.loc[~designs["feasible"], "latency_cycles"] = np.inf
    return designs.reset_index(), key, frame, per_layer


def _parameters(frame, designs, key, per_layer, parameters):
    """The swept parameter columns (see the module docstring for the default rule)."""
    if parameters is None:
        names = [c for c in frame.columns if c != key and not _is_result(c)]
    elif isinstance(parameters, (str, bytes)) or not all(isinstance(p, str) for p in parameters):
        raise SpecError(f"field 'parameters' = {parameters!r}: expected a list of column names")
    else:
        names = list(parameters)
        for p in names:
            if p not in frame.columns:
                raise SpecError(f"field 'parameters' = {p!r}: no such column; columns are {list(frame.columns)}")
    if per_layer and names:
        varies = frame.groupby(key, sort=False)[names].nunique(dropna=False).max() > 1
        if parameters is not None and varies.any():
            raise SpecError(f"field 'parameters' = {varies[varies].index[0]!r}: varies between the layers of a "
                            f"design point, so it is a per-layer result, not a swept parameter")
        names = [p for p in names if not varies[p]]
    return names


def _objectives(objectives, designs) -> dict:
    if objectives is None:
        objectives = {c: g for c, g in DEFAULT_OBJECTIVES.items() if c in designs.columns}
        if len(objectives) < 2:
            raise SpecError(f"field 'objectives' = None: the frame has {sorted(objectives) or 'none'} of the "
                            f"default objectives {list(DEFAULT_OBJECTIVES)}; pass objectives={{column: 'min'|'max'}}")
    goals = _goals(objectives)
    for column in goals:
        _column(designs, column, f"objectives[{column!r}]")
    return goals


# ---------------------------------------------------------------- tables

def _cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e7 else f"{value:.4g}"
    return str(value)


def _table(frame, columns):
    return ("table", [str(c) for c in columns], [[_cell(v) for v in row] for row in frame[columns].to_numpy()])


def _count_blocks(designs, frame, per_layer, n_front):
    ok = designs["feasible"].to_numpy(dtype=bool)
    rows = [["design points", _cell(len(designs))], ["feasible", _cell(int(ok.sum()))],
            ["infeasible", _cell(int((~ok).sum()))], ["Pareto-optimal", _cell(n_front)]]
    if per_layer:
        rows.insert(1, ["rows (point x layer)", _cell(len(frame))])
    blocks = [("h", 2, "Counts"), ("table", ["", "count"], rows)]
    if (~ok).any():
        errors = designs.loc[~ok, "error"].astype(str).replace("", "(no reason given)").value_counts().head(5)
        blocks += [("p", "Most common reasons a point is infeasible:"),
                   ("table", ["points", "error"], [[_cell(int(n)), e] for e, n in errors.items()])]
    return blocks


def _parameter_blocks(designs, parameters):
    if not parameters:
        return [("h", 2, "Parameters"), ("note", "no swept parameter columns found")]
    rows = []
    for p in parameters:
        values = designs[p].drop_duplicates()
        try:
            ordered = sorted(values.tolist())
        except TypeError:                     # mixed types: sort as text
            ordered = sorted(values.tolist(), key=str)
        shown = ", ".join(_cell(v) for v in ordered[:8]) + (" ..." if len(values) > 8 else "")
        rows.append([p, _cell(len(values)), shown])
    return [("h", 2, "Parameters"), ("table", ["parameter", "distinct values", "values"], rows)]


def _best_blocks(feasible, key, parameters, goals):
    rows = []
    for column, goal in goals.items():
        values = feasible[column].to_numpy(dtype=float)
        i = int(np.nanargmin(values) if goal == "min" else np.nanargmax(values))
        row = feasible.iloc[i]
        rows.append([column, goal, _cell(row[key])] + [_cell(row[c]) for c in list(goals) + parameters])
    return [("h", 2, "Best point per objective"),
            ("table", ["objective", "goal", key] + list(goals) + parameters, rows)]


# ---------------------------------------------------------------- plots

def _sensitivity(feasible, parameters, goals, out) -> Path:
    """Small multiples: one row per objective, one panel per parameter; per parameter
    value (quantile bins for a numeric parameter with many values) the best and the
    median objective over the feasible points having it."""
    import pandas as pd
    shown = parameters[:MAX_PARAMETERS]
    fig = _figure((3.0 * len(shown) + 0.5, 2.6 * len(goals) + 0.5))
    axes = fig.subplots(len(goals), len(shown), squeeze=False)
    for j, p in enumerate(shown):
        x = feasible[p]
        numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
        if numeric and x.nunique() > BINS:
            x = x.groupby(pd.qcut(x, BINS, duplicates="drop"), observed=True).transform("median")
        for i, (column, goal) in enumerate(goals.items()):
            stats = feasible[column].groupby(x if numeric else x.astype(str)).agg([goal, "median"]).sort_index()
            ax = axes[i, j]
            pos = stats.index.to_numpy(dtype=float) if numeric else np.arange(len(stats))
            ax.plot(pos, stats[goal], "o-", color="tab:red", ms=3, label=f"best ({goal})")
            ax.plot(pos, stats["median"], "s--", color="tab:blue", ms=3, label="median")
            if not numeric:
                ax.set_xticks(pos, stats.index, rotation=45, fontsize=7)
            elif pos.min() > 0 and pos.max() >= 16 * pos.min():
                ax.set_xscale("log")
                ax.minorticks_off()           # minor labels of a short log axis overlap
                if len(pos) <= 6:
                    ax.set_xticks(pos, [_cell(v) for v in pos])
            v = stats.to_numpy(dtype=float)
            if np.nanmin(v) > 0 and np.nanmax(v) >= 100 * np.nanmin(v):
                ax.set_yscale("log")
            ax.set_xlabel(axis_label(p), fontsize=8)
            ax.set_ylabel(axis_label(column) if j == 0 else "", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    more = len(parameters) - len(shown)
    return _finish(fig, "parameter sensitivity (feasible points)",
                   [f"{more} more parameter{'s' * (more != 1)} not shown" if more else ""], out)


def _featured_blocks(layers, bw, out_dir, name):
    """Per-layer energy by level and the roofline of one design's layer rows."""
    blocks, plots = [], []
    levels = [c[len("energy_"):-len("_pj")] for c in layers.columns
              if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
    if levels:
        split = [f"energy_{v}_pj" for v in levels]
        long = layers[["layer"] + split].melt(id_vars=["layer"], value_vars=split, var_name="level",
                                              value_name="energy_pj")
        long["level"] = long["level"].str[len("energy_"):-len("_pj")]
        plots.append(stacked_bars(long, "layer", "level", "energy_pj", out_dir / "layer_energy.png",
                                  title=f"per-layer energy by level: {name}"))
        blocks += [("h", 3, "Per-layer energy by level"), ("img", plots[-1].name, "per-layer energy")]
    else:
        blocks.append(("note", "per-layer energy plot skipped: no energy_<level>_pj columns"))
    levels = [c[:-len("_accesses")] for c in layers.columns if c.endswith("_accesses")]
    outer = "dram" if "dram_bytes" in layers.columns else (levels[-1] if levels else None)
    bw_col = f"{outer}_bw_bytes_per_cycle"
    if bw is None and outer and bw_col in layers.columns:
        bw = float(layers[bw_col].iloc[0])
    need = ["macs", "latency_cycles", "peak_macs_per_cycle"] + ([f"{outer}_bytes"] if outer else [])
    missing = [c for c in need if c not in layers.columns] or ([] if outer else ["<level>_bytes"])
    if missing or bw is None:
        why = f"no column {', '.join(missing)}" if missing else f"no bandwidth ({bw_col})"
        return blocks + [("note", f"roofline skipped: {why}")], plots
    with np.errstate(divide="ignore", invalid="ignore"):
        points = layers.assign(macs_per_byte=layers["macs"] / layers[f"{outer}_bytes"],
                               macs_per_cycle=layers["macs"] / layers["latency_cycles"])
    plots.append(roofline(points, out_dir / "roofline.png", peak_ops_per_cycle=float(layers["peak_macs_per_cycle"].iloc[0]),
                          bw_bytes_per_cycle=bw, intensity_col="macs_per_byte", perf_col="macs_per_cycle",
                          label_col="layer"))
    blocks += [("h", 3, f"Roofline ({outer})"), ("img", plots[-1].name, "roofline"),
               ("p", f"Intensity = MACs per {outer} byte; the roof is min(peak MACs/cycle, {outer} bandwidth x "
                     f"intensity). Layers without MACs or {outer} traffic are left out.")]
    return blocks, plots


# ---------------------------------------------------------------- output

def _markdown(blocks) -> str:
    lines = []
    for kind, *rest in blocks:
        if kind == "h":
            lines += ["#" * rest[0] + " " + rest[1], ""]
        elif kind in ("p", "note"):
            lines += [("*Note:* " if kind == "note" else "") + rest[0], ""]
        elif kind == "img":
            lines += [f"![{rest[1]}]({rest[0]})", ""]
        else:
            esc = lambda s: s.replace("|", "\\|").replace("\n", " ")
            lines += ["| " + " | ".join(map(esc, rest[0])) + " |", "|" + "---|" * len(rest[0])]
            lines += ["| " + " | ".join(map(esc, row)) + " |" for row in rest[1]] + [""]
    return "\n".join(lines)


def _html(blocks, title, out_dir) -> str:
    e = html.escape
    body = []
    for kind, *rest in blocks:
        if kind == "h":
            body.append(f"<h{rest[0]}>{e(rest[1])}</h{rest[0]}>")
        elif kind in ("p", "note"):
            body.append(('<p class="note">' if kind == "note" else "<p>") + f"{e(rest[0])}</p>")
        elif kind == "img":
            data = base64.b64encode((out_dir / rest[0]).read_bytes()).decode("ascii")
            body.append(f'<p><img src="data:image/png;base64,{data}" alt="{e(rest[1])}"></p>')
        else:
            head = "".join(f"<th>{e(c)}</th>" for c in rest[0])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rest[1])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;"
             "padding:2px 6px;text-align:right}img{max-width:100%}.note{color:#666;font-style:italic}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
            f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _write(blocks, out_dir, plots) -> dict:
    title = blocks[0][2]
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(_markdown(blocks), encoding="utf-8")
    page.write_text(_html(blocks, title, out_dir), encoding="utf-8")
    return {"markdown": md, "html": page, "plots": plots}


def _out_dir(out_dir) -> Path:
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise SpecError(f"field 'out_dir' = '{path}': a file, expected a folder (created if missing)")
    path.mkdir(parents=True, exist_ok=True)
    for name in PLOTS:            # a plot skipped now must not leave an old run's PNG behind
        (path / name).unlink(missing_ok=True)
    return path


def write_sweep_report(source, out_dir, *, objectives=None, title=None, parameters=None) -> dict:
    """Write ``report.md``, ``report.html`` and PNGs of a sweep to ``out_dir``; returns
    {"markdown": path, "html": path, "plots": [paths], "pareto_points": n}."""
    frame = load_results(source)
    designs, key, frame, per_layer = _designs(frame)
    goals = _objectives(objectives, designs)
    params = _parameters(frame, designs, key, per_layer, parameters)
    out_dir = _out_dir(out_dir)
    ok = designs["feasible"].to_numpy(dtype=bool) & np.all([np.isfinite(designs[c].to_numpy(dtype=float)) for c in goals], axis=0)
    feasible = designs[ok].reset_index(drop=True)
    front = feasible[pareto_rows(feasible, goals)] if len(feasible) else feasible
    front = front.sort_values(list(goals), kind="stable")
    name = title or (f"Sweep report: {Path(source).name}" if not hasattr(source, "columns") else "Sweep report")
    blocks = [("h", 1, name), ("p", f"Objectives: {', '.join(f'{c} ({g})' for c, g in goals.items())}.")]
    blocks += _count_blocks(designs, frame, per_layer, len(front)) + _parameter_blocks(designs, params)
    plots = []
    if not len(feasible):
        return dict(_write(blocks + [("note", "no feasible design point: no front, no plots")], out_dir, plots),
                    pareto_points=0)
    shown = feasible
    if len(feasible) - len(front) > MAX_SCATTER:   # front + a seeded sample: the front is unchanged
        rest = feasible.drop(front.index).sample(MAX_SCATTER, random_state=0)
        shown = feasible.loc[sorted(front.index.tolist() + rest.index.tolist())]
    plots.append(pareto_projections(shown, goals, out_dir / "pareto.png", title=f"Pareto set of {len(feasible):,} "
                                    f"feasible points" + (f" ({MAX_SCATTER:,} dominated shown)" if shown is not
                                                          feasible else "")))
    blocks += [("h", 2, "Pareto front"), ("img", plots[-1].name, "Pareto front projections"),
               ("p", f"{len(front):,} Pareto-optimal points" + (f"; the first {TOP_ROWS} by {next(iter(goals))}:"
                                                                if len(front) > TOP_ROWS else ":")),
               _table(front.head(TOP_ROWS), [key] + list(goals) + params)]
    blocks += _best_blocks(feasible, key, params, goals)
    swept = [p for p in params if feasible[p].nunique() > 1]
    if swept:
        plots.append(_sensitivity(feasible, swept, goals, out_dir / "sensitivity.png"))
        blocks += [("h", 2, "Parameter sensitivity"), ("img", plots[-1].name, "parameter sensitivity")]
    else:
        blocks += [("h", 2, "Parameter sensitivity"), ("note", "skipped: no parameter takes two values")]
    first = next(iter(goals))
    best = feasible.iloc[int(np.argmin(feasible[first]) if goals[first] == "min" else np.argmax(feasible[first]))]
    blocks.append(("h", 2, f"Featured point: {key} {_cell(best[key])} (best {first})"))
    if per_layer:
        rows = frame[frame[key] == best[key]]
        bw = float(best["dram_bw_bytes_per_cycle"]) if "dram_bw_bytes_per_cycle" in best.index else None
        more, pngs = _featured_blocks(rows, bw, out_dir, f"{key} {_cell(best[key])}")
        blocks, plots = blocks + more, plots + pngs
    else:
        blocks, plots = _totals_energy(front, key, goals, out_dir, blocks, plots)
    return dict(_write(blocks, out_dir, plots), pareto_points=len(front))


def _totals_energy(front, key, goals, out_dir, blocks, plots):
    """Totals-only sweep: the energy split of the Pareto points, stacked by level."""
    split = [c for c in front.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
    if not split:
        return blocks + [("note", "energy by level skipped: no energy_<level>_pj columns")], plots
    top = front.head(TOP_ROWS)
    long = top[[key] + split].melt(id_vars=[key], value_vars=split, var_name="level", value_name="energy_pj")
    long["level"] = long["level"].str[len("energy_"):-len("_pj")]
    plots = plots + [stacked_bars(long, key, "level", "energy_pj", out_dir / "layer_energy.png",
                                  title=f"energy by level of the Pareto points (first {len(top)})")]
    return blocks + [("h", 3, "Energy by level of the Pareto points"), ("img", plots[-1].name, "energy by level"),
                     ("note", "roofline skipped: a totals-only sweep has no per-layer rows")], plots


def write_evaluate_report(report, out_dir, *, title=None) -> dict:
    """Report of one ``hwsim.evaluate`` result (a CostReport, or its ``layers`` frame):
    totals table, per-layer table, per-layer energy by level and the roofline.
    Returns {"markdown": path, "html": path, "plots": [paths]}."""
    import pandas as pd
    if isinstance(report, pd.DataFrame):
        layers, bw, name = report, None, title or "Evaluation report"
    elif hasattr(report, "layers") and hasattr(report, "accelerator"):
        layers, name = report.layers, title or f"{report.network} on {report.accelerator.name}"
        bw = report.accelerator.params.get("dram_bw_bytes_per_cycle")
    else:
        raise SpecError(f"field 'report' = {type(report).__name__}: expected a CostReport or its layers DataFrame")
    if len(layers) == 0 or "layer" not in layers.columns:
        raise SpecError(f"field 'report': {'no rows' if len(layers) == 0 else 'no layer column'}; expected the "
                        f"per-layer frame of one evaluation")
    if "config" in layers.columns and layers["config"].nunique() > 1:
        raise SpecError(f"field 'report': {layers['config'].nunique()} configs; expected one (use write_sweep_report)")
    for c in ("latency_cycles", "energy_pj"):
        _column(layers, c, "report")
    out_dir = _out_dir(out_dir)
    totals = {c: layers[c].sum() for c in layers.columns if c.startswith(SUMMED_PREFIXES) or c == "macs"}
    totals.update({c: layers[c].iloc[0] for c in ("area_mm2", "peak_macs_per_cycle") if c in layers.columns})
    blocks = [("h", 1, name), ("h", 2, "Totals"), ("table", ["quantity", "value"],
                                                  [[c, _cell(v)] for c, v in totals.items()])]
    columns = [c for c in ("layer", "op", "macs", "latency_cycles", "energy_pj", "utilization", "bound")
               if c in layers.columns]
    blocks += [("h", 2, "Layers"), _table(layers, columns)]
    more, plots = _featured_blocks(layers, None if bw is None else float(bw), out_dir, name)
    return _write(blocks + more, out_dir, plots)
