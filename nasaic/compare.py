"""``nasaic compare``: every controller over several seeds at an equal episode budget.

Each (controller, seed) runs the spec's search in memory (no checkpoints); the comparison
reports per controller the best objective accuracy meeting every spec (mean, standard
deviation, min and max over seeds), how many seeds found any design meeting the specs,
the regret to the exact optimum, and the wall time, as ``comparison.md``,
``comparison.json`` and ``best_so_far.png`` (mean and min-max band over seeds, the optimum
as a line). Whatever the ranking, it is reported as measured.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.report import best_so_far

from .problem import Problem
from .report import best_so_far_curve
from .results import write_json
from .search import run_search
from .spec import Spec
from .truth import solve


def compare(spec: Spec, out, *, seeds: int = 5, controllers=("rl", "evolution", "hybrid", "random"),
            progress: bool = True, problem: Problem | None = None) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problem = problem or Problem(spec)
    truth = solve(problem)
    episodes = spec.search.episodes
    curves, rows, frames = {}, [], []
    for controller in controllers:
        curves[controller] = np.full((seeds, episodes), np.nan)
        for k in range(seeds):
            run_spec = replace(spec, seed=spec.seed + k, search=replace(spec.search, controller=controller))
            start = time.perf_counter()
            designs = run_search(run_spec, None, progress=progress, problem=problem).designs
            seconds = time.perf_counter() - start
            curve = best_so_far_curve(designs, episodes)
            curves[controller][k] = curve
            frames.append(designs)
            rows.append({"controller": controller, "seed": spec.seed + k, "best_pct": curve[-1],
                         "designs": len(designs), "seconds": seconds})
    table = pd.DataFrame(rows)
    pd.concat(frames, ignore_index=True).to_parquet(out / "designs.parquet", index=False)
    optimum = truth.objective_pct
    summary = _summary(table, optimum)
    png = best_so_far(curves, out / "best_so_far.png", optimum=optimum if np.isfinite(optimum) else None,
                      title=f"{spec.name}: best accuracy meeting the specs ({seeds} seeds)")
    data = {"spec": spec.name, "episodes": episodes, "seeds": seeds, "optimum_pct": optimum,
            "optimum_over": truth.note, "controllers": summary, "runs": rows}
    write_json(out / "comparison.json", data)
    data["report"] = str(_markdown(out, spec, summary, optimum, truth.note, episodes, seeds, png.name))
    return data


def _summary(table: pd.DataFrame, optimum: float) -> dict:
    out = {}
    for controller, g in table.groupby("controller", sort=False):
        best = g["best_pct"].to_numpy(float)
        found = np.isfinite(best)
        b = best[found]
        out[controller] = {"best_mean_pct": float(b.mean()) if found.any() else np.nan,
                           "best_std_pct": float(b.std()) if found.any() else np.nan,
                           "best_min_pct": float(b.min()) if found.any() else np.nan,
                           "best_max_pct": float(b.max()) if found.any() else np.nan,
                           "seeds_meeting_specs": int(found.sum()),
                           "regret_mean_pct": float(optimum - b.mean()) if found.any() else np.nan,
                           "seconds_mean": float(g["seconds"].mean())}
    return out


def _markdown(out: Path, spec: Spec, summary: dict, optimum: float, over: str, episodes: int, seeds: int,
              png: str) -> Path:
    lines = [f"# Controller comparison: {spec.name}", "",
             f"{episodes} episodes per run (one network per task each, up to {1 + spec.search.hardware_retries} "
             f"hardware candidates), {seeds} seeds. Exact optimum: {optimum:.3f} % ({over}).", "",
             "| controller | best (%) mean | std | min | max | seeds meeting specs | regret (pp) | s per run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in sorted(summary.items(), key=lambda kv: -np.nan_to_num(kv[1]["best_mean_pct"], nan=-1e9)):
        lines.append(f"| {name} | {s['best_mean_pct']:.3f} | {s['best_std_pct']:.3f} | {s['best_min_pct']:.3f} | "
                     f"{s['best_max_pct']:.3f} | {s['seeds_meeting_specs']}/{seeds} | {s['regret_mean_pct']:.3f} | "
                     f"{s['seconds_mean']:.1f} |")
    lines += ["", f"![best so far]({png})", ""]
    path = out / "comparison.md"
    path.write_text("\n".join(lines))
    return path
