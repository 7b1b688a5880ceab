"""Benchmark of the NASAIC co-search (run on demand, not by pytest):

    python tests/bench/bench_nasaic.py            # writes reports/bench_nasaic.md

Targets (issue 7, "Speed"), measured on one core (the process and its children are pinned
to CPU 0 where the OS allows it, and numpy's thread pools are held to one thread):

* a 500-episode RL co-search on ``specs/w1.yaml`` <= 20 s, cost evaluation not dominating:
  the problem's set-up (``Problem(spec)``: the per-space cost tables, warm from the disk
  cache and cold with an empty ``HWSIM_CACHE_DIR``, and the MnasNet surrogate's fit), each
  timed in a fresh interpreter, and the search loop (``run_search``) on the built problem,
  with the share of the loop spent in ``Problem.evaluate``;
* the exact optimum (``nasaic.truth.solve``) of w1 and of w2 <= 60 s each (also ``nasaic
  optimum`` as a whole process, set-up included);
* ``nasaic demo`` as a whole process <= 120 s, its report included;
* the hybrid controller's seconds per episode (one MILP per new network tuple).

Every figure is the median of several repetitions (the count is in the table); min and max
show the spread, which is wide when the machine is shared.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as the targets say

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "bench_nasaic.md"
W1, W2 = ROOT / "specs" / "w1.yaml", ROOT / "specs" / "w2.yaml"
TARGET_SEARCH_S, TARGET_OPTIMUM_S, TARGET_DEMO_S = 20.0, 60.0, 120.0
EPISODES = 500
HYBRID_EPISODES = 100


def pin_one_core() -> str:
    """Pin this process (and so its children) to CPU 0; say what was done."""
    try:
        os.sched_setaffinity(0, {0})
        return "pinned to CPU 0 (children inherit it)"
    except (AttributeError, OSError) as exc:
        return f"not pinned ({type(exc).__name__}); single process, numpy single-threaded"


def spread(values) -> dict:
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(s: dict, unit: str = "s", digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} {unit} ({s['min']:.{digits}f}-{s['max']:.{digits}f}, n={s['n']})"


# -- (a) set-up, in a fresh interpreter --------------------------------------------------------------
SETUP_CODE = """
import json, sys, time
t0 = time.perf_counter()
import nasaic.tasks as tasks
from nasaic.problem import Problem
from nasaic.spec import load_spec
t_import = time.perf_counter() - t0
timed = {"costs_s": 0.0, "oracle_s": 0.0}
def wrap(name, key):
    fn = getattr(tasks, name, None)
    if fn is None:
        return
    def timed_fn(*a, **k):
        start = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            timed[key] += time.perf_counter() - start
    setattr(tasks, name, timed_fn)
wrap("space_costs", "costs_s")
wrap("make_oracle", "oracle_s")
spec = load_spec(sys.argv[1])
start = time.perf_counter()
Problem(spec)
total = time.perf_counter() - start
print(json.dumps({"import_s": t_import, "problem_s": total, **timed,
                  "other_s": total - timed["costs_s"] - timed["oracle_s"]}))
"""


def setup_child(spec: Path, cache_dir: str | None) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["HWSIM_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", SETUP_CODE, str(spec)], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_setup(spec: Path, repeats: int) -> dict:
    setup_child(spec, None)                             # make sure the disk cache is warm
    warm = [setup_child(spec, None) for _ in range(repeats)]
    cold = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-nasaic-cache-") as empty:
            cold.append(setup_child(spec, empty))
    keys = ("import_s", "problem_s", "costs_s", "oracle_s", "other_s")
    return {name: {k: spread([r[k] for r in runs]) for k in keys} for name, runs in (("warm", warm), ("cold", cold))}


# -- (a) the search loop, in this process ---------------------------------------------------------------
def forget_accuracy(problem) -> None:
    """Empty the per-architecture accuracy caches (of the tasks and their oracles), so each
    repetition pays what a first search on a freshly built problem pays."""
    for task in problem.tasks:
        oracle = task.oracle
        for holder in (task, oracle, getattr(oracle, "table", None), getattr(oracle, "surrogate", None)):
            cache = getattr(holder, "_cache", None)
            if isinstance(cache, dict):
                cache.clear()


def bench_loop(problem, spec, repeats: int) -> dict:
    """``run_search`` on a built problem; the time inside ``Problem.evaluate`` and inside the
    rows' record-keeping (``design_rows``) measured by wrapping both."""
    import nasaic.search as search
    spent = {"evaluate_s": 0.0, "rows_s": 0.0}

    def wrapped(fn, key):
        def inner(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - start
        return inner

    original_rows = search.design_rows
    problem.evaluate = wrapped(type(problem).evaluate.__get__(problem), "evaluate_s")
    search.design_rows = wrapped(original_rows, "rows_s")
    runs = []
    try:
        for _ in range(repeats):
            forget_accuracy(problem)
            spent.update(evaluate_s=0.0, rows_s=0.0)
            start = time.perf_counter()
            run = search.run_search(spec, None, progress=False, problem=problem)
            total = time.perf_counter() - start
            runs.append({"loop_s": total, **spent, "designs": len(run.designs)})
    finally:
        del problem.evaluate
        search.design_rows = original_rows
    out = {k: spread([r[k] for r in runs]) for k in ("loop_s", "evaluate_s", "rows_s")}
    out["evaluate_share"] = spread([r["evaluate_s"] / r["loop_s"] for r in runs])
    out["rows_share"] = spread([r["rows_s"] / r["loop_s"] for r in runs])
    out["designs"] = runs[-1]["designs"]
    return out


# -- (b) exact optimum, (d) hybrid ------------------------------------------------------------------------
def bench_optimum(problem, repeats: int) -> dict:
    from nasaic.truth import solve
    times, truth = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        truth = solve(problem)
        times.append(time.perf_counter() - start)
    return {"solve_s": spread(times), "objective_pct": truth.objective_pct, "note": truth.note,
            "chips": truth.optimum.chips_considered}


def bench_hybrid(problem, spec, repeats: int) -> dict:
    """Seconds per episode of the hybrid controller, each repetition with a cold MILP cache
    (the per-network-tuple cache lives on the problem) and its own seed."""
    from nasaic.search import run_search
    per_episode, per_solve, distinct = [], [], []
    for k in range(repeats):
        problem.__dict__.pop("_exact_hardware_cache", None)
        run_spec = replace(spec, seed=spec.seed + k,
                           search=replace(spec.search, controller="hybrid", episodes=HYBRID_EPISODES))
        start = time.perf_counter()
        designs = run_search(run_spec, None, progress=False, problem=problem).designs
        seconds = time.perf_counter() - start
        names = [c for c in designs.columns if c.endswith("_arch")]
        tuples = len(designs[names].drop_duplicates())
        per_episode.append(seconds / HYBRID_EPISODES)
        per_solve.append(seconds / max(tuples, 1))
        distinct.append(tuples)
    problem.__dict__.pop("_exact_hardware_cache", None)
    return {"per_episode_s": spread(per_episode), "per_tuple_s": spread(per_solve),
            "distinct_tuples": spread(distinct)}


# -- (b), (c) whole processes -----------------------------------------------------------------------------
def nasaic_cli() -> list[str]:
    exe = Path(sys.executable).with_name("nasaic")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "nasaic.cli"]


def process_seconds(argv: list[str], runs: int, warmup: int = 1) -> dict:
    """Wall time of ``argv`` as a whole process (median of ``runs``, after ``warmup`` runs)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return spread(times)


def bench_demo(runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-nasaic-demo-") as tmp:
        out = Path(tmp) / "demo"
        timing = process_seconds(nasaic_cli() + ["demo", "--out", str(out), "--json"], runs)
        report = (out / "report.md").is_file()
    return {"process_s": timing, "report_written": report}


# -- the report ------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                 if l.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, numpy {np.__version__}"


def rows_of(r: dict) -> list[tuple]:
    lw, lc, loop = r["setup"]["warm"], r["setup"]["cold"], r["loop"]
    search_s = lw["problem_s"]["median"] + loop["loop_s"]["median"]
    cold_s = lc["problem_s"]["median"] + loop["loop_s"]["median"]
    share = loop["evaluate_share"]["median"]
    rows = [
        ("w1: `Problem(spec)`, cost tables warm (disk cache)", fmt(lw["problem_s"]), "-", None),
        ("  of which the cost tables (`space_costs`, both tasks)", fmt(lw["costs_s"]), "-", None),
        ("  of which the accuracy oracles (MnasNet surrogate fit)", fmt(lw["oracle_s"]), "-", None),
        ("  of which the rest (enumerable networks, configs)", fmt(lw["other_s"]), "-", None),
        ("w1: `Problem(spec)`, cold (empty `HWSIM_CACHE_DIR`)", fmt(lc["problem_s"]), "-", None),
        ("  of which the cost tables", fmt(lc["costs_s"]), "-", None),
        ("  of which the accuracy oracles (surrogate CV and fit)", fmt(lc["oracle_s"]), "-", None),
        ("`import nasaic` (in the set-up child)", fmt(lw["import_s"]), "-", None),
        (f"w1: search loop, {EPISODES} RL episodes ({loop['designs']:,} designs)", fmt(loop["loop_s"]), "-", None),
        ("  share of the loop in `Problem.evaluate`", f"{100 * share:.0f} % "
         f"({100 * loop['evaluate_share']['min']:.0f}-{100 * loop['evaluate_share']['max']:.0f})",
         "< 50 % (not dominating)", share < 0.5),
        ("  share of the loop recording rows (`design_rows`)", f"{100 * loop['rows_share']['median']:.0f} %",
         "-", None),
        (f"w1: {EPISODES}-episode RL search, set-up warm + loop", f"{search_s:.2f} s", f"<= {TARGET_SEARCH_S:g} s",
         search_s <= TARGET_SEARCH_S),
        (f"w1: {EPISODES}-episode RL search, set-up cold + loop", f"{cold_s:.2f} s", f"<= {TARGET_SEARCH_S:g} s",
         cold_s <= TARGET_SEARCH_S),
    ]
    for name in ("w1", "w2"):
        o = r["optimum"][name]
        rows.append((f"{name}: exact optimum `solve(problem)` ({o['objective_pct']:.3f} %, {o['chips']:,} chips)",
                     fmt(o["solve_s"]), f"<= {TARGET_OPTIMUM_S:g} s", o["solve_s"]["median"] <= TARGET_OPTIMUM_S))
        p = r["optimum_process"][name]
        rows.append((f"{name}: `nasaic optimum --spec specs/{name}.yaml` (process, set-up included)", fmt(p),
                     f"<= {TARGET_OPTIMUM_S:g} s", p["median"] <= TARGET_OPTIMUM_S))
    d = r["demo"]
    rows.append(("`nasaic demo` (process, report included"
                 + ("" if d["report_written"] else "; NO report.md written") + ")", fmt(d["process_s"]),
                 f"<= {TARGET_DEMO_S:g} s", d["process_s"]["median"] <= TARGET_DEMO_S and d["report_written"]))
    for name in ("w1", "w2"):
        h = r["hybrid"][name]
        rows.append((f"{name}: hybrid, seconds per episode ({HYBRID_EPISODES} episodes, cold MILP cache; "
                     f"{h['distinct_tuples']['median']:.0f} distinct network tuples)",
                     fmt(h["per_episode_s"], digits=3), "-", None))
        rows.append((f"{name}: hybrid, seconds per distinct network tuple (one MILP each)",
                     fmt(h["per_tuple_s"], digits=3), "-", None))
    return rows


def write_report(r: dict) -> bool:
    rows = rows_of(r)
    lines = ["# NASAIC co-search benchmark", "",
             f"Generated by `python tests/bench/bench_nasaic.py` on {r['date']}; {r['machine']}; {r['pinning']}; "
             f"numpy single-threaded. Load average at start {r['load'][0]}, at the end {r['load'][1]} "
             "(the machine is shared: spreads are wide when other work runs).", "",
             "Figures: median (min-max, n repetitions). Set-up times are from fresh interpreters; the loop, "
             "the optimum and the hybrid from this process on the built problems.", "",
             "| what | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {what} | {value} | {target} | {'-' if ok is None else 'yes' if ok else 'NO'} |"
              for what, value, target, ok in rows]
    lines += ["", f"The search target is read as a user's {EPISODES}-episode run in one process: the problem's "
              "set-up plus the loop (the optimum and the report that `nasaic search` also writes are timed "
              "separately above).", ""]
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return all(ok is not False for *_, ok in rows)


def main() -> int:
    pinning = pin_one_core()
    from nasaic.problem import Problem
    from nasaic.spec import load_spec
    r = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
         "pinning": pinning}
    load = [f"{os.getloadavg()[0]:.1f}"]
    r["setup"] = bench_setup(W1, repeats=3)
    spec1, spec2 = load_spec(W1), load_spec(W2)
    spec1 = replace(spec1, search=replace(spec1.search, controller="rl", episodes=EPISODES))
    problems = {"w1": Problem(spec1), "w2": Problem(spec2)}
    r["loop"] = bench_loop(problems["w1"], spec1, repeats=5)
    r["optimum"] = {name: bench_optimum(p, repeats=3) for name, p in problems.items()}
    r["optimum_process"] = {name: process_seconds(nasaic_cli() + ["optimum", "--spec", str(path), "--json"], 3)
                            for name, path in (("w1", W1), ("w2", W2))}
    r["demo"] = bench_demo(runs=3)
    r["hybrid"] = {"w1": bench_hybrid(problems["w1"], spec1, 3), "w2": bench_hybrid(problems["w2"], spec2, 3)}
    load.append(f"{os.getloadavg()[0]:.1f}")
    r["load"] = load
    ok = write_report(r)
    print("\nall targets met" if ok else "\nTARGET MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
