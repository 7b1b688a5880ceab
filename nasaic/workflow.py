"""What the ``nasaic`` commands do, as Python functions (the CLI only parses arguments).

* :func:`search` — run (or resume) a spec's search into an output folder, then write
  ``designs.parquet``, ``pareto.parquet``, ``best.json``, ``baseline.parquet`` (the
  successive baseline), ``optimum.json`` (the exact optimum) and ``report.md`` with PNGs;
* :func:`optimum` — the exact optimum of a spec;
* :func:`report` — rewrite the report of a finished search folder;
* :func:`demo` — a short co-search on built-in defaults.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd

from hwsim.errors import SpecError

from .problem import Problem
from .report import write_report
from .results import best_json, best_row, pareto_designs, write_json
from .search import STATE, SearchRun, run_search
from .spec import Spec, load_spec, spec_to_dict
from .truth import GroundTruth, solve

#: the demo: CIFAR-10 + CIFAR-100 on NAS-Bench-201, two sub-accelerators of dla / shi / rs
DEMO_SPEC = {
    "name": "demo", "seed": 0,
    "tasks": [{"name": "cifar10", "space": "nb201", "dataset": "cifar10"},
              {"name": "cifar100", "space": "nb201", "dataset": "cifar100"}],
    "hardware": {"sub_accelerators": 2, "templates": ["dla", "shi", "rs"], "pes": [64, 128, 256],
                 "noc_bw_bytes_per_cycle": [16, 32, 64], "clock_hz": 1.0e9,
                 "budget": {"pes": 384, "noc_bw_bytes_per_cycle": 96},
                 "dram": {"bw_bytes_per_cycle": 32, "policy": "partitioned"}},
    "specs": {"latency_cycles": 1.2e6, "energy_nj": 6.0e5, "area_mm2": 3.0},
    "objective": "mean_accuracy",
    "search": {"controller": "rl", "episodes": 300, "checkpoint_every": 50},
}


def search(spec: Spec, out, *, resume: bool = False, progress: bool = True, with_optimum: bool = True,
           problem: Problem | None = None) -> dict:
    """Run the search and write every output; returns the summary (best.json's content)."""
    out = Path(out)
    if resume and not (out / "checkpoint" / STATE).is_file():      # fail before creating anything
        raise SpecError(f"{out / 'checkpoint' / STATE}: no checkpoint to resume from (run without --resume first)")
    if not resume and (out / "checkpoint").exists():
        raise SpecError(f"{out}: field '--out' holds an earlier search; pass --resume to continue it, "
                        "or choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    problem = problem or Problem(spec)
    write_json(out / "spec.json", spec_to_dict(spec))
    run = run_search(spec, out, resume=resume, progress=progress, problem=problem)
    return finish(run, with_optimum=with_optimum)


def finish(run: SearchRun, *, with_optimum: bool = True) -> dict:
    """Write the results of a finished run into its folder."""
    out, problem = run.out_dir, run.problem
    run.designs.to_parquet(out / "designs.parquet", index=False)
    pareto_designs(run.designs).to_parquet(out / "pareto.parquet", index=False)
    row, meets = best_row(run.designs)
    best = best_json(problem, row, meets)
    write_json(out / "best.json", best)
    baseline = baseline_designs(problem)
    baseline.to_parquet(out / "baseline.parquet", index=False)
    truth = solve(problem) if with_optimum else None
    if truth is not None:
        write_json(out / "optimum.json", truth_json(truth))
    best["report"] = str(write_report(out, problem, run.designs, truth=truth, baseline=baseline))
    return best


def baseline_designs(problem: Problem) -> pd.DataFrame:
    """The successive baseline's design (one episode, no checkpoint)."""
    spec = replace(problem.spec, search=replace(problem.spec.search, controller="successive", episodes=1))
    return run_search(spec, None, progress=False, problem=problem).designs


def optimum(spec: Spec, problem: Problem | None = None) -> dict:
    problem = problem or Problem(spec)
    return truth_json(solve(problem))


def truth_json(truth: GroundTruth) -> dict:
    opt = truth.optimum
    data = {"status": opt.status, "objective_pct": truth.objective_pct, "over": truth.note,
            "whole_space": truth.whole_space, "chips_considered": opt.chips_considered,
            "candidates_considered": opt.candidates_considered, "seconds": opt.seconds, "reason": opt.reason}
    if truth.evaluated is not None:
        ev = truth.evaluated
        data.update({"latency_cycles": float(ev.latency_cycles[0]), "energy_nj": float(ev.energy_nj[0]),
                     "area_mm2": float(ev.area_mm2[0]), "meets_specs": bool(ev.meets_specs[0]),
                     "accuracy_pct": {t.name: float(ev.accuracy_pct[0, i]) for i, t in enumerate(truth.problem_tasks)},
                     "genes": [int(g) for g in truth.genes]})
    return data


def report(folder, problem: Problem | None = None) -> Path:
    """Rewrite ``folder/report.md`` from its spec.json, designs.parquet and baseline.parquet
    (the exact optimum is solved again: it takes seconds, and the cost tables are cached)."""
    folder = Path(folder)
    for name in ("spec.json", "designs.parquet"):
        if not (folder / name).is_file():
            raise SpecError(f"{folder}: no {name} there: not a finished nasaic search folder")
    spec = load_spec(json.loads((folder / "spec.json").read_text()))
    problem = problem or Problem(spec)
    designs = pd.read_parquet(folder / "designs.parquet")
    baseline = pd.read_parquet(folder / "baseline.parquet") if (folder / "baseline.parquet").is_file() \
        else baseline_designs(problem)
    return write_report(folder, problem, designs, truth=solve(problem), baseline=baseline)


def demo(out="nasaic-demo", *, progress: bool = True) -> dict:
    """A short co-search on built-in defaults (two NAS-Bench-201 tasks, dla/shi/rs chips)."""
    out = Path(out)
    if (out / "checkpoint").exists():
        shutil.rmtree(out)                      # the demo always starts afresh
    return search(load_spec(DEMO_SPEC), out, progress=progress)
