"""Benchmark of hwsim.rdu (run on demand, not by pytest):

    python tests/bench/bench_rdu.py            # writes reports/bench_rdu.md

Targets (issue 9), one process, one core:

* the fusion planner on a 32-layer decoder (Llama-2-7B, 547 ops: build the network, plan it
  fused and unfused, price every kernel) <= 0.5 s;
* 10,000 composition-of-experts requests simulated in simpy <= 5 s (SN40L node, 150 experts,
  uniform routing; the expert's execution time is computed once, before the clock starts).

Times are the best of several runs after one warm-up.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from hwsim.rdu.coe import Workload, simulate  # noqa: E402
from hwsim.rdu.fabric import load_rdu  # noqa: E402
from hwsim.workload.kernels import kernel_table  # noqa: E402
from hwsim.rdu.planner import plan  # noqa: E402
from hwsim.rdu.systems import serving_system  # noqa: E402
from hwsim.rdu.timing import kernel_times  # noqa: E402
from hwsim.workload.transformer import decoder  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "reports" / "bench_rdu.md"


def best_of(fn, runs=5) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def planner_once():
    rdu = load_rdu("sn40l")
    net = decoder("llama2-7b", "prefill", 1, 4096, tp=8)
    for mode in ("unfused", "fused"):
        kernel_times(kernel_table(net, plan(net, rdu, mode), 4096, 4096), rdu)


def main() -> int:
    planner_s = best_of(planner_once)
    system = serving_system("sn40l-node")
    workload = Workload(experts=150, requests=10_000, seed=0)
    system.execute_s(workload.batch, workload.prompt_tokens, workload.generated_tokens)   # the model, once
    system.router_s(workload.batch, workload.prompt_tokens)
    coe_s = best_of(lambda: simulate(system, workload), runs=3)
    rows = [("fusion planner, 32-layer decoder (build, plan fused + unfused, price)", planner_s, 0.5),
            ("10,000 CoE requests in simpy (SN40L node, 150 experts)", coe_s, 5.0)]
    lines = ["# hwsim.rdu benchmark", "", f"`python tests/bench/bench_rdu.py` on {platform.processor() or 'cpu'}, "
             f"Python {platform.python_version()}, one core; best of several runs after a warm-up.", "",
             "| what | seconds | target |", "|---|---|---|"]
    lines += [f"| {what} | {sec:.3f} | <= {target} |" for what, sec, target in rows]
    OUT.write_text("\n".join(lines) + "\n")
    for what, sec, target in rows:
        print(f"{what}: {sec:.3f} s (target {target} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
