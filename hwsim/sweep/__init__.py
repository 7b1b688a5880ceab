"""Design-space sweeps (DESIGN.md floor 4): ``hwsim sweep spec.yaml --out results/``.

A sweep spec names network(s), a template and its parameters as a grid, seeded
random samples or a seeded Latin hypercube, plus derived parameters; the points
are generated and costed chunk by chunk (never all at once) on a serial, local
process or Dask executor, and written as a resumable Parquet dataset.

    from hwsim.sweep import run_sweep, read_results, pareto_front
    result = run_sweep("specs/sweeps/dla_grid.yaml", "results/dla")
    frame = read_results(result.out)
    front = pareto_front(frame, [("latency_cycles", "min"), ("energy_pj", "min")])

Modules: ``spec`` (the spec and its checks), ``space_spec`` (parameters and
derived fields), ``expr`` (the safe arithmetic of derived parameters),
``points`` (point generation by index), ``engine`` (costing one chunk),
``store`` (Parquet parts and manifest), ``executors``, ``results`` (best
points, Pareto front), ``run`` (the driver).
"""

from .executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from .results import best_rows, pareto_front
from .run import SweepResult, run_sweep
from .spec import SweepSpec, load_sweep_spec
from .store import read_results

__all__ = ["DaskExecutor", "ProcessExecutor", "SerialExecutor", "SweepResult", "SweepSpec", "best_rows",
           "load_sweep_spec", "make_executor", "pareto_front", "read_results", "run_sweep"]
