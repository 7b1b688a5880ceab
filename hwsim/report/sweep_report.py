"""Reports of design-space sweeps and of single evaluations: Markdown and a standalone HTML page.

``write_sweep_report(source, out_dir)`` reads a sweep (DataFrame, Parquet file or folder of parts)
and writes ``report.md``, ``report.html`` (same content, PNGs embedded as base64 data URIs: one file
to share) and the PNGs; ``write_evaluate_report`` does it for one ``hwsim.evaluate`` result.

* **Points** are told apart by ``point`` (sweeps), else ``config`` (``evaluate_many``). Rows of
  one point (its layers, with a ``layer`` column; its networks, in a sweep of several) run one
  after another, so ``latency_*``, ``energy_*``, ``macs``, ``compute_cycles``, ``*_accesses``,
  ``*_traffic_bytes`` are summed; a point is feasible if all its rows are. Infeasible points
  are counted, their commonest ``error`` listed, and never on the front.
* **Objectives** (2 to 4; a dict column -> 'min'|'max', or a list of ``column`` or ``column:max``):
  by default whichever of ``latency_cycles``, ``energy_pj``, ``area_mm2`` (minimised) it has.
* **Parameters** (swept columns), by default every column that is neither an objective nor a
  result (in ``RESULT_COLUMNS``, ``energy_*``, ``latency_*``, ``layer_*``, ``*_accesses``) and
  is constant over a point's rows (so per-layer traffic is never one), nor, with ``<level>_accesses``
  columns, a level's ``<level>_bw_bytes_per_cycle`` (unless ``layer_<level>_bw_bytes_per_cycle``
  is there too: a sweep renamed the level's column, so this one is the swept parameter).

Plots (``hwsim.report.plots``): the Pareto set in each 2-D projection of the objectives;
sensitivity (per parameter value, the best and median objective of its feasible points); for the
point best on the first objective, per-layer energy by level and the DRAM roofline. A plot the
frame cannot support is skipped with a note. Bad input raises SpecError naming argument or file.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SpecError
from .plots import _column, _figure, _finish, _goals, axis_label, pareto_projections, pareto_rows, roofline, \
    stacked_bars

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SweepSummary", "load_results", "summarize_sweep", "write_evaluate_report", "write_sweep_report"]

DEFAULT_OBJECTIVES = {"latency_cycles": "min", "energy_pj": "min", "area_mm2": "min"}
RESULT_COLUMNS = frozenset({
    "point", "config", "design", "template", "layer_index", "layer", "op", "macs", "feasible", "error", "bound",
    "latency_cycles", "latency_s", "compute_cycles", "utilization", "energy_pj", "area_mm2", "peak_macs_per_cycle",
    "edp_pj_s", "network"})
SUMMED_PREFIXES, SUMMED_SUFFIXES = ("energy_", "latency_"), ("_accesses", "_traffic_bytes")
TOP_ROWS = 20          # rows of the Pareto table and bars of the totals-only energy plot
MAX_SCATTER = 20_000   # dominated points drawn in the projections (a seeded sample beyond)
MAX_PARAMETERS = 6     # panels per objective in the sensitivity plot
BINS = 10              # a numeric parameter with more distinct values is binned by quantiles
PLOTS = ("pareto.png", "sensitivity.png", "layer_energy.png", "roofline.png")


def load_results(source):
    """``source`` as a DataFrame: a DataFrame as is, a Parquet file or a folder of parts read."""
    import pandas as pd
    if isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SpecError(f"field 'source' = '{path}': no such file or folder; expected a Parquet file or a "
                            f"folder of Parquet parts")
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:   # pyarrow raises ArrowInvalid, OSError, ValueError...: all mean unreadable
            raise SpecError(f"{path}: cannot read as Parquet ({(str(exc) or type(exc).__name__).splitlines()[0]}); "
                            f"expected a Parquet file or a folder of Parquet parts") from None
    else:
        raise SpecError(f"field 'source' = {type(source).__name__}: expected a DataFrame, a Parquet file or a folder")
    if len(frame) == 0:
        raise SpecError(f"field 'source'{'' if frame is source else f' ({source})'}: no rows; expected results")
    return frame


def _designs(frame):
    """(one row per design point, key column, frame, per-layer?): per-layer rows summed per point."""
    import pandas as pd
    per_layer = "layer" in frame.columns
    key = next((k for k in ("point", "config") if k in frame.columns), "design")
    defaults = {"design": 0 if per_layer else np.arange(len(frame)), "feasible": True, "error": ""}
    frame = frame.assign(**{c: v for c, v in defaults.items() if c not in frame.columns})
    if not (per_layer or frame[key].duplicated().any()):     # else a point has rows per layer or network
        return frame.reset_index(drop=True), key, frame, False
    summed = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c != key and (
        c.startswith(SUMMED_PREFIXES) or c.endswith(SUMMED_SUFFIXES) or c in ("macs", "compute_cycles"))]
    first = [c for c in frame.columns if c not in summed and c not in (key, "feasible", "error")]
    grouped = frame.groupby(key, sort=False)
    designs = pd.concat([grouped[summed].sum(), grouped[first].first(), grouped["feasible"].all()], axis=1)
    bad = frame[frame["error"].astype(str) != ""]
    designs["error"] = bad.groupby(key, sort=False)["error"].first().reindex(designs.index).fillna("")
    designs.loc[~designs["feasible"], summed] = np.nan   # as evaluate_many's totals: no partial sums
    if "latency_cycles" in summed:
        designs.loc[~designs["feasible"], "latency_cycles"] = np.inf
    has = set(designs.columns).issuperset                      # a product and a ratio: recomputed from the sums
    if has({"edp_pj_s", "energy_pj", "latency_s"}):
        designs["edp_pj_s"] = designs["energy_pj"] * designs["latency_s"]
    if has({"utilization", "macs", "peak_macs_per_cycle", "latency_cycles"}):
        designs["utilization"] = designs["macs"] / (designs["peak_macs_per_cycle"] * designs["latency_cycles"])
    return designs.reset_index(), key, frame, True


def _parameters(frame, key, grouped, parameters, goals):
    """The swept parameter columns (see the module docstring for the default rule)."""
    if parameters is None:
        levels = {c[:-len("_accesses")] for c in frame.columns if c.endswith("_accesses")}
        level_bw = {f"{v}_bw_bytes_per_cycle" for v in levels if f"layer_{v}_bw_bytes_per_cycle" not in frame}
        names = [c for c in frame.columns if c != key and c not in goals and c not in RESULT_COLUMNS | level_bw
                 and not c.startswith(SUMMED_PREFIXES + ("layer_",)) and not c.endswith("_accesses")]
    elif isinstance(parameters, (str, bytes)) or not all(isinstance(p, str) for p in parameters):
        raise SpecError(f"field 'parameters' = {parameters!r}: expected a list of column names")
    elif missing := [p for p in parameters if p not in frame.columns]:
        raise SpecError(f"field 'parameters' = {missing[0]!r}: no such column; columns are {list(frame.columns)}")
    else:
        names = list(parameters)
    if grouped and names:
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
    if isinstance(objectives, (list, tuple)) and all(isinstance(o, str) for o in objectives):
        objectives = dict(o.rsplit(":", 1) if ":" in o else (o, "min") for o in objectives)   # "accuracy:max"
    goals = _goals(objectives)
    for column in goals:
        _column(designs, column, f"objectives[{column!r}]")
    return goals


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep report shows: ``frame`` (the rows read), ``designs`` (one row per point),
    ``feasible`` (those feasible, finite objectives), ``front`` (their Pareto set, best first)."""

    frame: "pd.DataFrame"
    designs: "pd.DataFrame"
    feasible: "pd.DataFrame"
    front: "pd.DataFrame"
    key: str
    per_layer: bool       # rows are layers
    grouped: bool         # a point has several rows (layers, networks), summed in ``designs``
    objectives: dict
    parameters: list


def summarize_sweep(source, *, objectives=None, parameters=None) -> SweepSummary:
    """Read and check ``source`` (see ``write_sweep_report``) and find its Pareto set."""
    designs, key, frame, grouped = _designs(load_results(source))
    goals = _objectives(objectives, designs)
    params = _parameters(frame, key, grouped, parameters, goals)
    finite = np.all([np.isfinite(designs[c].to_numpy(dtype=float)) for c in goals], axis=0)
    feasible = designs[designs["feasible"].to_numpy(dtype=bool) & finite].reset_index(drop=True)
    first = next(iter(goals))
    front = (feasible[pareto_rows(feasible, goals)] if len(feasible) else feasible).sort_values(
        first, ascending=goals[first] == "min", kind="stable")
    return SweepSummary(frame, designs, feasible, front, key, "layer" in frame, grouped, goals, params)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e5 else f"{value:.4g}"
    return f"{int(value):,}" if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else str(value)


def _table(frame, columns):
    values = zip(*(frame[c].tolist() for c in columns))          # per column: ints stay ints
    return ("table", [str(c) for c in columns], [[_cell(v) for v in row] for row in values])


def _summary_blocks(s: SweepSummary):
    """Counts (with the commonest reasons of infeasibility) and the swept parameters."""
    ok = s.designs["feasible"].to_numpy(dtype=bool)
    rows = [["design points", len(s.designs)]] + ([["rows (per layer or network)", len(s.frame)]] if s.grouped else [])
    rows += [["feasible", int(ok.sum())], ["infeasible", int((~ok).sum())], ["Pareto-optimal", len(s.front)]]
    blocks = [("h", 2, "Counts"), ("table", ["", "count"], [[a, _cell(n)] for a, n in rows])]
    if (~ok).any():
        errors = s.designs.loc[~ok, "error"].astype(str).replace("", "(no reason given)").value_counts().head(5)
        blocks += [("p", "Most common reasons a point is infeasible:"),
                   ("table", ["points", "error"], [[_cell(int(n)), e] for e, n in errors.items()])]
    blocks.append(("h", 2, "Parameters"))
    if not s.parameters:
        return blocks + [("note", "no swept parameter columns found")]
    values = {p: sorted(s.designs[p].drop_duplicates().tolist(), key=lambda v: (isinstance(v, str), v))
              for p in s.parameters}
    rows = [[p, _cell(len(v)), ", ".join(map(_cell, v[:8])) + " ..." * (len(v) > 8)] for p, v in values.items()]
    return blocks + [("table", ["parameter", "distinct values", "values"], rows)]


def _best_blocks(feasible, key, parameters, goals):
    rows = []
    for column, goal in goals.items():
        values = feasible[column].to_numpy(dtype=float)
        i = int(np.argmin(values) if goal == "min" else np.argmax(values))
        rows.append([column, goal] + [_cell(feasible[c].iloc[i]) for c in [key] + list(goals) + parameters])
    return [("h", 2, "Best point per objective"), ("table", ["objective", "goal", key, *goals, *parameters], rows)]


def _sensitivity(feasible, parameters, goals, out) -> Path:
    """Small multiples, a row per objective and a panel per parameter: per parameter value (quantile
    bins for a numeric parameter with many values), the best and the median objective of its points."""
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
    """Per-layer energy by level and the DRAM roofline of one design's layer rows."""
    png = _energy_bars(layers, "layer", out_dir / "layer_energy.png", f"per-layer energy by level: {name}")
    blocks = [("h", 3, "Per-layer energy by level"), ("img", png.name, "per-layer energy")] if png else \
        [("note", "per-layer energy plot skipped: no energy_<level>_pj columns")]
    traffic = next((c for c in ("dram_traffic_bytes", "dram_bytes") if c in layers), "dram_bytes")   # sweep, evaluate
    bw = next((layers[c].iloc[0] for c in ("dram_bw_bytes_per_cycle", "layer_dram_bw_bytes_per_cycle")
               if bw is None and c in layers), bw)
    missing = [c for c in ("macs", "latency_cycles", "peak_macs_per_cycle", traffic) if c not in layers]
    if missing or bw is None or not np.isfinite(bw):
        why = f"no column {', '.join(missing)}" if missing else "no bandwidth (dram_bw_bytes_per_cycle)"
        return blocks + [("note", f"roofline skipped: {why}")], [png] if png else []
    with np.errstate(divide="ignore", invalid="ignore"):
        points = layers.assign(macs_per_byte=layers["macs"] / layers[traffic],
                               macs_per_cycle=layers["macs"] / layers["latency_cycles"])
    roof_png = roofline(points, out_dir / "roofline.png", peak_ops_per_cycle=layers["peak_macs_per_cycle"].iloc[0],
                        bw_bytes_per_cycle=bw, intensity_col="macs_per_byte", perf_col="macs_per_cycle",
                        label_col="layer")
    return blocks + [("h", 3, "Roofline (DRAM)"), ("img", roof_png.name, "roofline"),
                     ("p", "Intensity = MACs per DRAM byte; the roof is min(peak MACs/cycle, DRAM bandwidth x "
                           "intensity). Layers without MACs or DRAM traffic are left out.")], \
        ([png] if png else []) + [roof_png]


STYLE = "body{font-family:sans-serif;max-width:75em;margin:auto}td,th{border:1px solid #ccc}img{max-width:100%}"


def _write(blocks, out_dir, plots) -> dict:
    """The blocks (heading, paragraph, note, image, table) as report.md and as report.html."""
    md, page, e = [], [], html.escape
    cells = lambda row: " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row)
    for kind, *rest in blocks:
        if kind == "h":
            md += ["#" * rest[0] + " " + rest[1], ""]
            page.append(f"<h{rest[0]}>{e(rest[1])}</h{rest[0]}>")
        elif kind in ("p", "note"):
            md += [("*Note:* " if kind == "note" else "") + rest[0], ""]
            page.append(('<p class="note">' if kind == "note" else "<p>") + f"{e(rest[0])}</p>")
        elif kind == "img":
            md += [f"![{rest[1]}]({rest[0]})", ""]
            data = base64.b64encode((out_dir / rest[0]).read_bytes()).decode("ascii")
            page.append(f'<p><img src="data:image/png;base64,{data}" alt="{e(rest[1])}"></p>')
        else:
            md += [f"| {cells(rest[0])} |", "|" + "---|" * len(rest[0])] + [f"| {cells(r)} |" for r in rest[1]] + [""]
            head = "".join(f"<th>{e(c)}</th>" for c in rest[0])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rest[1])
            page.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    paths = out_dir / "report.md", out_dir / "report.html"
    paths[0].write_text("\n".join(md), encoding="utf-8")
    paths[1].write_text(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(blocks[0][2])}'
                        f"</title>\n<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(page)
                        + "\n</body>\n</html>\n", encoding="utf-8")
    return {"markdown": paths[0], "html": paths[1], "plots": plots}


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
    s = summarize_sweep(source, objectives=objectives, parameters=parameters)
    out_dir = _out_dir(out_dir)
    goals, key, feasible, front, first = s.objectives, s.key, s.feasible, s.front, next(iter(s.objectives))
    name = title or ("Sweep report" if hasattr(source, "columns") else f"Sweep report: {Path(source).name}")
    networks = s.frame["network"].nunique() if "network" in s.frame else 1
    blocks = [("h", 1, name), ("p", f"Objectives: {', '.join(f'{c} ({g})' for c, g in goals.items())}" + (
        f", summed over the {networks} networks of each point." if networks > 1 else "."))]
    blocks += _summary_blocks(s)
    if not len(feasible):
        return dict(_write(blocks + [("note", "no feasible design point: no front, no plots")], out_dir, []),
                    pareto_points=0)
    shown, sample = feasible, ""
    if len(feasible) - len(front) > MAX_SCATTER:   # the front and a seeded sample: the front is unchanged
        rest = feasible.drop(front.index).sample(MAX_SCATTER, random_state=0)
        shown, sample = feasible.loc[sorted([*front.index, *rest.index])], f" ({MAX_SCATTER:,} dominated shown)"
    plots = [pareto_projections(shown, goals, out_dir / "pareto.png",
                                title=f"Pareto set of {len(feasible):,} feasible points{sample}")]
    more = f"; the first {TOP_ROWS} by {first}:" if len(front) > TOP_ROWS else ":"
    blocks += [("h", 2, "Pareto front"), ("img", plots[-1].name, "Pareto front projections"),
               ("p", f"{len(front):,} Pareto-optimal points{more}"),
               _table(front.head(TOP_ROWS), [key] + list(goals) + s.parameters)]
    blocks += _best_blocks(feasible, key, s.parameters, goals) + [("h", 2, "Parameter sensitivity")]
    swept = [p for p in s.parameters if feasible[p].nunique() > 1]
    if swept:
        plots.append(_sensitivity(feasible, swept, goals, out_dir / "sensitivity.png"))
        blocks.append(("img", plots[-1].name, "parameter sensitivity"))
    else:
        blocks.append(("note", "skipped: no parameter takes two values among the feasible points"))
    best = front.iloc[0]                           # the front is sorted best first objective first
    blocks.append(("h", 2, f"Featured point: {key} {_cell(best[key])} (best {first})"))
    if s.per_layer:
        rows = s.frame[s.frame[key] == best[key]]
        rows = rows[rows["network"] == rows["network"].iloc[0]] if "network" in rows else rows   # layers of one
        label = f"{key} {_cell(best[key])}" + (f", {rows['network'].iloc[0]}" if "network" in rows else "")
        more, pngs = _featured_blocks(rows, None, out_dir, label)
    else:
        more, pngs = _totals_energy(front, key, out_dir)
    return dict(_write(blocks + more, out_dir, plots + pngs), pareto_points=len(front))


def _energy_bars(frame, index, out, title):
    """Bars of ``index`` stacked by the energy_<level>_pj columns, or None without them."""
    split = [c for c in frame.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
    if not split:
        return None
    long = frame[[index] + split].melt(id_vars=[index], value_vars=split, var_name="level", value_name="energy_pj")
    long["level"] = long["level"].str[len("energy_"):-len("_pj")]
    return stacked_bars(long, index, "level", "energy_pj", out, title=title)


def _totals_energy(front, key, out_dir):
    """Totals-only sweep: the energy split of the (first) Pareto points, stacked by level."""
    top = front.head(TOP_ROWS)
    png = _energy_bars(top, key, out_dir / "layer_energy.png", f"energy by level: first {len(top)} Pareto points")
    note = ("note", "roofline skipped: a totals-only sweep has no per-layer rows")
    if png is None:
        return [("note", "energy by level skipped: no energy_<level>_pj columns"), note], []
    return [("h", 3, "Energy by level of the Pareto points"), ("img", png.name, "energy by level"), note], [png]


def write_evaluate_report(report, out_dir, *, title=None) -> dict:
    """Report of one ``hwsim.evaluate`` result (a CostReport, or its ``layers`` frame): totals, layers, per-layer
    energy by level, DRAM roofline. Returns {"markdown": path, "html": path, "plots": [paths]}."""
    if hasattr(report, "layers") and hasattr(report, "accelerator"):
        layers, name = report.layers, title or f"{report.network} on {report.accelerator.name}"
        bw, totals = report.accelerator.params.get("dram_bw_bytes_per_cycle"), report.total.as_dict()
    elif hasattr(report, "columns") and len(report) and "layer" in report and report.get("config", report[
            "layer"].iloc[:1]).nunique() == 1:                 # a per-layer DataFrame of one config
        layers, bw, name = report, None, title or "Evaluation report"
        for column in ("latency_cycles", "energy_pj"):
            _column(layers, column, "report")      # raises SpecError if missing or not numbers
        totals = {c: layers[c].sum() for c in layers if c.startswith(SUMMED_PREFIXES) or c == "macs"}
    else:
        raise SpecError(f"field 'report' = {type(report).__name__}: expected a CostReport or the per-layer "
                        f"DataFrame (a 'layer' column, rows of one config) of one evaluation")
    out_dir = _out_dir(out_dir)
    columns = [c for c in ("layer", "op", "macs", "latency_cycles", "energy_pj", "utilization", "bound") if c in layers]
    blocks = [("h", 1, name), ("h", 2, "Totals"), ("table", ["quantity", "value"],
                                                  [[c, _cell(v)] for c, v in totals.items()]),
              ("h", 2, "Layers"), _table(layers, columns)]
    more, plots = _featured_blocks(layers, bw, out_dir, name)
    return _write(blocks + more, out_dir, plots)
