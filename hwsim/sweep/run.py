"""``run_sweep(spec, out)``: a sweep from spec to Parquet dataset.

1. The spec is checked (:func:`hwsim.sweep.spec.load_sweep_spec`), its networks
   prepared once, and the first point costed as a probe: the objectives must be
   columns of the results. All of this happens before any chunk runs.
2. The output folder is opened (:class:`~hwsim.sweep.store.ResultStore`); with
   ``resume`` the chunks its manifest lists are skipped.
3. The other chunks run on the executor (serial, local processes or Dask); each
   result is written as its part as it arrives, with a tqdm progress bar in
   points/s (shown on a terminal only).
4. The summary reads back only the columns it needs: feasible count and the
   best point per objective.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import SpecError
from .chip_engine import evaluate_chip_chunk
from .engine import Workload, evaluate_chunk, prepare
from .executors import make_executor
from .points import PointSpace
from .results import best_rows
from .spec import SweepSpec, load_sweep_spec
from .store import ResultStore, part_name, read_results


@dataclass(frozen=True)
class SweepJob:
    """What a worker needs to cost any chunk (shipped to each worker once)."""

    template: object
    workloads: tuple[Workload, ...]
    space: PointSpace
    names: tuple[str, ...]
    per_layer: bool
    chunk_points: int
    points: int


@dataclass(frozen=True)
class ChipSweepJob:
    """A chip sweep's worker context: the chip and the point space."""

    chip: object
    space: PointSpace
    names: tuple[str, ...]
    chunk_points: int
    points: int
    per_layer: bool = False


def make_job(spec: SweepSpec):
    if spec.chip is not None:
        return ChipSweepJob(chip=spec.chip, space=spec.space, names=spec.space.names,
                            chunk_points=spec.chunk_points, points=spec.points)
    return SweepJob(template=spec.template, workloads=tuple(prepare(n) for n in spec.networks), space=spec.space,
                    names=spec.space.names, per_layer=spec.output == "layers", chunk_points=spec.chunk_points,
                    points=spec.points)


def run_chunk(job: SweepJob, chunk: int):
    """Chunk ``chunk``'s rows (an Arrow table)."""
    start = chunk * job.chunk_points
    stop = min(start + job.chunk_points, job.points)
    values = job.space.take(start, stop)
    if isinstance(job, ChipSweepJob):
        return evaluate_chip_chunk(job.chip, values, job.names, start)
    return evaluate_chunk(job.template, job.workloads, values, job.names, start, job.per_layer)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: where its dataset is and what it found."""

    name: str
    out: Path
    points: int
    rows: int
    feasible: int
    seconds: float
    points_run: int
    chunks_run: int
    chunks_skipped: int
    executor: str
    workers: int
    best: list = field(default_factory=list)

    @property
    def points_per_s(self) -> float:
        return self.points_run / self.seconds if self.seconds > 0 else 0.0

    def frame(self, columns=None):
        return read_results(self.out, columns)

    def as_dict(self) -> dict:
        return {"name": self.name, "out": str(self.out), "points": self.points, "rows": self.rows,
                "feasible": self.feasible, "seconds": self.seconds, "points_per_s": self.points_per_s,
                "points_run": self.points_run, "chunks_run": self.chunks_run, "chunks_skipped": self.chunks_skipped,
                "executor": self.executor, "workers": self.workers, "best": self.best}


def check_objectives(spec: SweepSpec, job: SweepJob) -> None:
    """Cost the first point alone: the objectives must be columns it has."""
    probe = run_chunk(replace(job, chunk_points=1, points=1), 0)
    missing = [c for c, _ in spec.objectives if c not in probe.column_names]
    if missing:
        import pyarrow as pa

        numeric = [f.name for f in probe.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
        raise SpecError(f"{spec.source + ': ' if spec.source else ''}field 'objectives' = {missing[0]!r}: not a "
                        f"column of the results; valid: {sorted(numeric)}")


def run_sweep(spec, out, *, workers: int | None = None, scheduler: str | None = None, executor=None,
              resume: bool = False, progress: bool | None = None) -> SweepResult:
    """Run sweep ``spec`` (a YAML path, dict or SweepSpec) into folder ``out``.

    ``executor``: an executor object or "serial" / "processes" / "dask"; by default
    local processes for large sweeps (see ``make_executor``). ``progress``: None
    shows the bar on a terminal only, False never."""
    spec = load_sweep_spec(spec)
    job = make_job(spec)
    check_objectives(spec, job)
    meta = {"name": spec.name, "points": spec.points, "chunk_points": spec.chunk_points, "spec": dict(spec.data),
            "parameters": list(job.names), "objectives": [list(o) for o in spec.objectives], "source": spec.source}
    store = ResultStore(out, spec.fingerprint(), meta, spec.chunks, resume)
    runner = executor if hasattr(executor, "run") else make_executor(spec.points, workers, scheduler, executor)
    todo = store.todo()
    skipped = spec.chunks - len(todo)
    points_run = sum(_size(spec, c) for c in todo)
    start = time.perf_counter()
    with _bar(spec, points_run, progress) as bar:
        for chunk, table in runner.run(run_chunk, job, todo):
            store.write(chunk, table)
            bar.update(_size(spec, chunk))
    seconds = time.perf_counter() - start
    rows, feasible, best = _summary(spec, job, store.out)
    return SweepResult(name=spec.name, out=store.out, points=spec.points, rows=rows, feasible=feasible,
                       seconds=seconds, points_run=points_run, chunks_run=len(todo), chunks_skipped=skipped,
                       executor=runner.name, workers=runner.workers, best=best)


def _summary(spec: SweepSpec, job: SweepJob, out: Path) -> tuple[int, int, list]:
    """Rows, feasible (point, network) pairs and, in totals mode, the best point
    per (network, objective), read part by part (only the needed columns), so
    that the summary's memory does not grow with the sweep either."""
    import pyarrow.parquet as pq

    objectives = list(dict.fromkeys(c for c, _ in spec.objectives))
    networks = [] if spec.chip is not None else ["network"]        # a chip sweep: one row per point
    columns = ["point", *networks, "feasible"] + ([] if job.per_layer else list(job.names) + objectives)
    rows, feasible, candidates = 0, 0, []
    for chunk in range(spec.chunks):
        frame = pq.read_table(out / part_name(chunk), columns=columns).to_pandas()
        rows += len(frame)
        if job.per_layer:
            feasible += int(frame.groupby(["point", "network"], sort=False)["feasible"].all().sum())
        else:
            feasible += int(frame["feasible"].sum())
            candidates += best_rows(frame, spec.objectives, job.names)
    best = {}
    for record in candidates:       # best value per (network, objective); the lowest point on ties
        key = (record["network"], record["objective"])
        sign = -1 if record["sense"] == "max" else 1
        rank = (sign * record["value"], record["point"])
        if key not in best or rank < (sign * best[key]["value"], best[key]["point"]):
            best[key] = record
    return rows, feasible, [best[k] for k in sorted(best, key=lambda k: (k[0], objectives.index(k[1])))]


def _size(spec: SweepSpec, chunk: int) -> int:
    start, stop = spec.chunk_range(chunk)
    return stop - start


def _bar(spec: SweepSpec, total: int, progress: bool | None):
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", unit_scale=True, desc=spec.name, file=sys.stderr, smoothing=0.1,
                disable=None if progress is None else not progress)


__all__ = ["ChipSweepJob", "SweepJob", "SweepResult", "check_objectives", "make_job", "run_chunk", "run_sweep"]
