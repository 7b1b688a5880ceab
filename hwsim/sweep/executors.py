"""Where a sweep's chunks run: one interface, three executors.

``Executor.run(task, context, chunks)`` calls ``task(context, chunk)`` for every
chunk id and yields ``(chunk, result)`` as results arrive (any order; the store
writes each part under its own id, so the dataset does not depend on it).
``context`` (the checked spec with its prepared networks) is shipped to each
worker once, not with every chunk. At most a few chunks per worker are in
flight, so the parent holds a bounded number of results whatever the sweep size.

* :class:`SerialExecutor` -- in this process.
* :class:`ProcessExecutor` -- local processes (``concurrent.futures``).
* :class:`DaskExecutor` -- a Dask cluster (the ``hwsim[dask]`` extra): an
  embedded ``LocalCluster`` by default, or an existing scheduler
  (``tcp://host:port``, e.g. one dask-jobqueue started on SLURM). Workers return
  their tables to this process, which alone writes the output folder, so the
  workers need hwsim installed but no shared filesystem.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator

from ..errors import HwsimError

IN_FLIGHT_PER_WORKER = 2

Task = Callable[[Any, int], Any]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Every chunk in this process, in order."""

    name = "serial"
    workers = 1

    def run(self, task: Task, context, chunks: Iterable[int]) -> Iterator[tuple[int, Any]]:
        for chunk in chunks:
            yield chunk, task(context, chunk)


_context = None     # a worker process's context, set once by its initializer


def _install(context) -> None:
    global _context
    _context = context


def _call(task: Task, chunk: int):
    return chunk, task(_context, chunk)


class ProcessExecutor:
    """Chunks on ``workers`` local processes."""

    name = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = _workers(workers)

    def run(self, task: Task, context, chunks: Iterable[int]) -> Iterator[tuple[int, Any]]:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        pending, todo = set(), iter(chunks)
        with ProcessPoolExecutor(self.workers, initializer=_install, initargs=(context,)) as pool:
            try:
                while True:
                    for chunk in todo:
                        pending.add(pool.submit(_call, task, chunk))
                        if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                            break
                    if not pending:
                        return
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield future.result()
            except BaseException:       # Ctrl-C or a failed chunk: do not start the queued ones
                pool.shutdown(wait=False, cancel_futures=True)
                raise


class DaskExecutor:
    """Chunks on a Dask cluster: an embedded ``LocalCluster`` of ``workers``
    single-threaded worker processes, or the scheduler at ``scheduler``."""

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        self.workers = _workers(workers)
        self.scheduler = scheduler

    def run(self, task: Task, context, chunks: Iterable[int]) -> Iterator[tuple[int, Any]]:
        distributed = _import_distributed()
        cluster = _local_cluster(distributed, self.workers) if self.scheduler is None else None
        client = distributed.Client(cluster if cluster is not None else self.scheduler)
        try:
            workers = max(len(client.scheduler_info().get("workers", {})), 1)
            shared = client.scatter(context, broadcast=True)
            todo, queue = iter(chunks), distributed.as_completed()
            for chunk in todo:
                queue.add(client.submit(_call_dask, task, shared, chunk, pure=False))
                if queue.count() >= workers * IN_FLIGHT_PER_WORKER:
                    break
            for future in queue:
                yield future.result()
                future.release()
                for chunk in todo:          # one out, one in
                    queue.add(client.submit(_call_dask, task, shared, chunk, pure=False))
                    break
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _local_cluster(distributed, workers: int):
    """An embedded LocalCluster of single-threaded worker processes.

    Dask's nannies set ``MALLOC_TRIM_THRESHOLD_`` in their workers' environment
    by default; setting it switches off glibc's adaptive mmap threshold, so every
    large numpy temporary of the tiling searches is mmapped and unmapped again --
    a chunk ran 2-3x slower in such a worker than in a plain process. The
    embedded cluster unsets that variable (and keeps dask's others, e.g.
    OMP_NUM_THREADS=1). Workers of an existing cluster are the user's to set up:
    the same setting in their dask config (``MALLOC_TRIM_THRESHOLD_: null``)."""
    import dask

    # None unsets a pre-spawn variable (distributed.nanny._get_env_variables)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)


def _call_dask(task: Task, context, chunk: int):
    return chunk, task(context, chunk)


def _import_distributed():
    try:
        import dask.distributed as distributed
    except ImportError:
        raise HwsimError("field '--scheduler': the Dask executor needs the dask extra: pip install 'hwsim[dask]' "
                         "(dask.distributed is not installed)") from None
    return distributed


def _workers(workers: int | None) -> int:
    if workers is None:
        return available_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise HwsimError(f"field '--workers' = {workers!r}: expected an integer >= 1")
    return workers


def make_executor(points: int, workers: int | None = None, scheduler: str | None = None,
                  kind: str | None = None, threshold: int = 100_000):
    """The executor for a sweep of ``points``: ``kind`` if given ("serial",
    "processes", "dask"); Dask if a ``scheduler`` is given; else local processes
    when ``workers`` > 1 is asked for, or by default when the sweep has at least
    ``threshold`` points and the machine more than one core; else serial."""
    if kind not in (None, "serial", "processes", "dask"):
        raise HwsimError(f"field '--executor' = {kind!r}: valid: ['serial', 'processes', 'dask']")
    if scheduler is not None and kind not in (None, "dask"):
        raise HwsimError(f"field '--scheduler' = {scheduler!r}: a scheduler address means the dask executor, "
                         f"not {kind!r}")
    if kind == "dask" or scheduler is not None:
        return DaskExecutor(workers, scheduler)
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes" or (workers or 0) > 1:
        return ProcessExecutor(workers)
    if workers is None and points >= threshold and available_cores() > 1:
        return ProcessExecutor()
    return SerialExecutor()


__all__ = ["DaskExecutor", "ProcessExecutor", "SerialExecutor", "available_cores", "make_executor"]
