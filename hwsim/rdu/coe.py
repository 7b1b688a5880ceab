"""Composition-of-experts (CoE) serving: a simpy model and its closed form.

The SN40L paper's setting: a node serves many experts (each a whole LLM). Every
expert lives in a large slow tier (DDR on an SN40L node, host memory on a DGX); device
HBM keeps, beside a reserved region (router weights and KV caches, always resident),
an LRU cache of ``floor(hbm_cache_bytes / expert_bytes)`` experts.

A request is a batch of sequences routed to ONE expert. In order, it

1. runs the router on the compute resource (the router is always resident);
2. looks its expert up in the HBM cache. On a hit it pins the expert. On a miss it
   reserves a slot (evicting the least-recently-used *unpinned* expert; if every slot
   is pinned it waits for an unpin), takes the copy path and copies the expert from the
   slow tier in ``expert_bytes / (copy_links * copy_bw_bytes_per_s)`` seconds. A
   request whose expert is already being copied for another request waits for that
   copy instead of starting a second one (a miss too: its wait is switching time);
3. executes the expert (prefill + decode) on the compute resource, then unpins it.

Resources (simpy): ``compute`` (capacity 1: the node runs one model at a time, tensor
parallel over all its devices; FIFO between routers and experts) and ``copy`` (capacity
1: the copy path. With ``copy_links = N`` per-device links an expert's N shards copy in
parallel, one per link, so one copy holds all N links for ``expert_bytes / (N * bw)``).
Copy and compute are separate resources, so a request's copy overlaps another
request's execution: the point of a copy engine beside the compute.

Per-request times: ``queue_s`` is every wait (for compute, for a free cache slot, for
the copy path), ``switch_s`` the time the request's expert spent copying while it
waited (0 on a hit), so ``latency_s = router_s + queue_s + switch_s + execute_s``.

The closed form (:func:`closed_form`) is the single-request stream: one request at a
time, none waits, and each latency is ``router + (miss ? copy : 0) + execute`` with the
misses found by replaying the same LRU over the same seeded expert sequence. For
``arrival="closed"`` it equals :func:`simulate` to the last bit.

Out of memory (every expert must fit the slow tier; HBM must hold one expert) is a
result, not an error: ``CoeResult.oom`` with a reason and no requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import SpecError
from .coe_cache import ExpertCache, check_int, check_real

__all__ = ["CoeResult", "ServingSystem", "Workload", "closed_form", "simulate"]

ROUTINGS = ("uniform", "zipf", "round_robin")
ARRIVALS = ("closed", "poisson")
COLUMNS = ["request", "expert", "hit", "warmup", "arrival_s", "start_s", "router_s", "queue_s", "switch_s",
           "execute_s", "finish_s", "latency_s"]


@dataclass(frozen=True)
class ServingSystem:
    """A node serving experts: its memories, its copy path and its executors.

    ``router_s(batch, prompt_tokens)`` and ``execute_s(batch, prompt_tokens,
    generated_tokens)`` are pure functions giving seconds; each is called once per
    simulation (every request of a workload has the same shape)."""

    name: str
    expert_bytes: float           # one expert, all its tensor-parallel shards together
    hbm_cache_bytes: float        # node HBM left for experts after router + KV reservation
    slow_tier_bytes: float        # DDR / host memory holding every expert
    copy_bw_bytes_per_s: float    # bandwidth of ONE copy link
    copy_links: int = 1           # 1: one node-wide path; N: per-device links, shards in parallel
    router_s: Callable[[int, int], float] = None
    execute_s: Callable[[int, int, int], float] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"system: field 'name' = {self.name!r}: expected a non-empty string")
        owner = f"system {self.name!r}"
        object.__setattr__(self, "expert_bytes", check_real(owner, "expert_bytes", self.expert_bytes, positive=True))
        for field in ("hbm_cache_bytes", "slow_tier_bytes"):
            object.__setattr__(self, field, check_real(owner, field, getattr(self, field), positive=False))
        object.__setattr__(self, "copy_bw_bytes_per_s",
                           check_real(owner, "copy_bw_bytes_per_s", self.copy_bw_bytes_per_s, positive=True))
        object.__setattr__(self, "copy_links", check_int(owner, "copy_links", self.copy_links, 1))
        for field in ("router_s", "execute_s"):
            if not callable(getattr(self, field)):
                raise SpecError(f"{owner}: field {field!r} = {getattr(self, field)!r}: expected a function "
                                "returning seconds")

    @property
    def cache_experts(self) -> int:
        """Experts the HBM cache holds at once."""
        return int(self.hbm_cache_bytes // self.expert_bytes)

    @property
    def switch_s(self) -> float:
        """Seconds to copy one expert from the slow tier to HBM."""
        return self.expert_bytes / (self.copy_links * self.copy_bw_bytes_per_s)


@dataclass(frozen=True)
class Workload:
    """``requests`` requests of ``batch`` sequences, each routed to one of ``experts``.

    ``routing``: "uniform"; "zipf" (expert k, k = 0.., chosen with probability
    proportional to ``1 / (k + 1) ** zipf_s``: expert 0 is the most popular); or
    "round_robin" (request i to expert ``i % experts``). ``arrival``: "closed" (a
    single-request stream: the next request arrives when the previous one finishes) or
    "poisson" (open arrivals at ``rate_per_s``). 20 generated tokens are one of Table V's
    settings; the 128-token prompt is an assumption (sn40l.yaml gives none). Random draws come from
    ``numpy.random.default_rng(seed)``: experts first, then inter-arrival times, so a
    closed and a poisson workload of one seed route to the same experts."""

    experts: int
    requests: int
    batch: int = 1
    prompt_tokens: int = 128
    generated_tokens: int = 20
    routing: str = "uniform"
    zipf_s: float = 1.0
    arrival: str = "closed"
    rate_per_s: float | None = None
    seed: int = 0

    def __post_init__(self):
        for field in ("experts", "requests", "batch", "prompt_tokens", "generated_tokens"):
            object.__setattr__(self, field, check_int("workload", field, getattr(self, field), 1))
        object.__setattr__(self, "seed", check_int("workload", "seed", self.seed, 0))
        if self.routing not in ROUTINGS:
            raise SpecError(f"workload: field 'routing' = {self.routing!r}: expected one of {list(ROUTINGS)}")
        object.__setattr__(self, "zipf_s", check_real("workload", "zipf_s", self.zipf_s, positive=True))
        if self.arrival not in ARRIVALS:
            raise SpecError(f"workload: field 'arrival' = {self.arrival!r}: expected one of {list(ARRIVALS)}")
        if self.arrival == "poisson":
            object.__setattr__(self, "rate_per_s", check_real("workload", "rate_per_s", self.rate_per_s,
                                                              positive=True))
        elif self.rate_per_s is not None:
            raise SpecError(f"workload: field 'rate_per_s' = {self.rate_per_s!r}: expected None with "
                            "arrival='closed' (a rate needs arrival='poisson')")

    def draws(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The expert of every request, and (poisson) every arrival time in seconds."""
        rng = np.random.default_rng(self.seed)
        n, k = self.requests, self.experts
        if self.routing == "uniform":
            experts = rng.integers(0, k, n)
        elif self.routing == "zipf":
            weights = 1.0 / np.arange(1, k + 1) ** self.zipf_s
            experts = rng.choice(k, size=n, p=weights / weights.sum())
        else:
            experts = np.arange(n) % k
        arrivals = np.cumsum(rng.exponential(1.0 / self.rate_per_s, n)) if self.arrival == "poisson" else None
        return experts.astype(np.int64), arrivals


@dataclass(frozen=True, eq=False)
class CoeResult:
    """One serving run: a row per request (``requests``, columns ``COLUMNS``), or OOM.

    The first ``warmup_requests`` rows (``warmup`` True) were simulated, so they warm
    the cache and load the node, but :meth:`summary` leaves them out."""

    system: str
    oom: bool
    oom_reason: str | None
    requests: pd.DataFrame
    experts: int
    cache_experts: int
    warmup_requests: int = 0

    def summary(self) -> dict:
        """JSON-ready statistics of the measured (non-warm-up) requests. The makespan
        runs from the first measured arrival to the last measured finish; throughputs
        divide by it (tokens: ``batch * generated_tokens`` per request)."""
        out = {"requests": 0, "experts": self.experts, "cache_experts": self.cache_experts,
               "warmup_requests": self.warmup_requests}
        stats = ("hbm_hit_rate", "mean_latency_s", "p50_latency_s", "p99_latency_s", "mean_switch_s",
                 "mean_execute_s", "mean_router_s", "mean_queue_s", "throughput_requests_per_s",
                 "throughput_tokens_per_s", "makespan_s")
        out.update(dict.fromkeys(stats))
        out.update(oom=self.oom, oom_reason=self.oom_reason)
        df = self.requests[~self.requests["warmup"]]
        if self.oom or df.empty:
            return out
        latency = df["latency_s"].to_numpy()
        makespan = float(df["finish_s"].max() - df["arrival_s"].min())
        out.update(requests=len(df), hbm_hit_rate=float(df["hit"].mean()), mean_latency_s=float(latency.mean()),
                   p50_latency_s=float(np.percentile(latency, 50)), p99_latency_s=float(np.percentile(latency, 99)),
                   makespan_s=makespan)
        for key in ("switch_s", "execute_s", "router_s", "queue_s"):
            out["mean_" + key] = float(df[key].mean())
        if makespan > 0:
            out["throughput_requests_per_s"] = len(df) / makespan
            out["throughput_tokens_per_s"] = float(df["tokens"].sum()) / makespan if "tokens" in df else None
        return out


def _oom_reason(system: ServingSystem, workload: Workload) -> str | None:
    """Why ``workload``'s experts do not fit ``system``, or None."""
    gb = 1e9
    need = workload.experts * system.expert_bytes
    if need > system.slow_tier_bytes:
        return (f"slow tier (DDR / host memory) of {system.name!r}: {workload.experts} experts x "
                f"{system.expert_bytes / gb:.4g} GB = {need / gb:.4g} GB > {system.slow_tier_bytes / gb:.4g} GB")
    if system.hbm_cache_bytes < system.expert_bytes:
        return (f"HBM of {system.name!r}: {system.hbm_cache_bytes / gb:.4g} GB free for experts (after the router"
                f" and KV reservation) < one expert of {system.expert_bytes / gb:.4g} GB")
    return None


def _seconds(system: ServingSystem, workload: Workload) -> tuple[float, float]:
    """The router's and one expert run's seconds, checked finite and >= 0."""
    w = workload
    router = system.router_s(w.batch, w.prompt_tokens)
    execute = system.execute_s(w.batch, w.prompt_tokens, w.generated_tokens)
    for what, value in ((f"router_s({w.batch}, {w.prompt_tokens})", router),
                        (f"execute_s({w.batch}, {w.prompt_tokens}, {w.generated_tokens})", execute)):
        if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or not math.isfinite(value) \
                or value < 0:
            raise SpecError(f"system {system.name!r}: {what} = {value!r}: expected finite seconds >= 0")
    return float(router), float(execute)


def _prepare(system, workload, warmup_requests):
    """Checks shared by both models; an OOM result, or None."""
    if not isinstance(system, ServingSystem):
        raise SpecError(f"field 'system' = {system!r}: expected a ServingSystem")
    if not isinstance(workload, Workload):
        raise SpecError(f"field 'workload' = {workload!r}: expected a Workload")
    check_int("simulate", "warmup_requests", warmup_requests, 0)
    if warmup_requests >= workload.requests:
        raise SpecError(f"simulate: field 'warmup_requests' = {warmup_requests!r}: expected fewer than the "
                        f"workload's {workload.requests} requests")
    reason = _oom_reason(system, workload)
    if reason is None:
        return None
    return CoeResult(system.name, True, reason, pd.DataFrame(columns=COLUMNS + ["tokens"]), workload.experts,
                     system.cache_experts, int(warmup_requests))


class _Records:
    """Per-request columns, filled in place (one numpy array per column)."""

    def __init__(self, n: int):
        self.cols = {c: np.zeros(n) for c in COLUMNS[4:]}
        self.hit = np.zeros(n, dtype=bool)

    def put(self, i, arrival, start, router, queue, switch, execute, finish, hit):
        c = self.cols
        c["arrival_s"][i], c["start_s"][i], c["router_s"][i], c["queue_s"][i] = arrival, start, router, queue
        c["switch_s"][i], c["execute_s"][i], c["finish_s"][i] = switch, execute, finish
        c["latency_s"][i] = finish - arrival
        self.hit[i] = hit

    def result(self, system, workload, experts, warmup) -> CoeResult:
        n = len(experts)
        df = pd.DataFrame({"request": np.arange(n), "expert": experts, "hit": self.hit,
                           "warmup": np.arange(n) < warmup, **self.cols})
        df["tokens"] = workload.batch * workload.generated_tokens
        return CoeResult(system.name, False, None, df, workload.experts, system.cache_experts, int(warmup))


def closed_form(system: ServingSystem, workload: Workload, *, warmup_requests: int = 0) -> CoeResult:
    """The single-request stream without simpy: request i arrives when i-1 finishes and
    takes ``router + (miss ? copy : 0) + execute``; misses replay the LRU over the
    seeded expert sequence. ``workload.arrival`` is ignored (every workload is treated
    as closed), so for open arrivals this is the no-overlap, no-queueing reference."""
    oom = _prepare(system, workload, warmup_requests)
    if oom is not None:
        return oom
    router, execute = _seconds(system, workload)
    switch = system.switch_s
    experts, _ = workload.draws()
    cache, rec, t = ExpertCache(system.cache_experts), _Records(len(experts)), 0.0
    for i, e in enumerate(experts.tolist()):
        hit = cache.touch_pin(e)
        if not hit:
            cache.reserve(e)   # nothing else is pinned between requests: always succeeds
        # the same float additions, in the same order, as simpy's clock
        arrival = t
        t = t + router
        if not hit:
            t = t + switch
        t = t + execute
        cache.unpin(e)
        rec.put(i, arrival, arrival, router, 0.0, 0.0 if hit else switch, execute, t, hit)
    return rec.result(system, workload, experts, warmup_requests)


def simulate(system: ServingSystem, workload: Workload, *, warmup_requests: int = 0) -> CoeResult:
    """Serve ``workload`` on ``system`` in simpy (see the module docstring for the model).
    Returns an OOM result, without raising, when the experts do not fit."""
    oom = _prepare(system, workload, warmup_requests)
    if oom is not None:
        return oom
    import simpy  # optional dependency: only the simulation needs it

    router, execute = _seconds(system, workload)
    experts, arrivals = workload.draws()
    sim = _Serving(simpy, system, router, execute, len(experts))
    if arrivals is None:
        sim.env.process(sim.closed_stream(experts.tolist()))
    else:
        sim.env.process(sim.open_arrivals(experts.tolist(), arrivals.tolist()))
    sim.env.run()
    return sim.rec.result(system, workload, experts, warmup_requests)


class _Serving:
    """The simpy processes of one run: resources, cache, waiting lists, records."""

    def __init__(self, simpy, system: ServingSystem, router: float, execute: float, n: int):
        self.env = env = simpy.Environment()
        self.compute, self.copy = simpy.Resource(env, 1), simpy.Resource(env, 1)
        self.cache = ExpertCache(system.cache_experts)
        self.loading = {}          # expert -> event fired when its copy into HBM ends
        self.slot_waiters = []     # events of misses waiting for an unpinned slot, FIFO
        self.router, self.execute, self.switch = router, execute, system.switch_s
        self.rec = _Records(n)

    def closed_stream(self, experts):
        for i, e in enumerate(experts):
            yield self.env.process(self.request(i, e))

    def open_arrivals(self, experts, arrivals):
        env = self.env
        for i, (e, t) in enumerate(zip(experts, arrivals)):
            yield env.timeout(t - env.now)
            env.process(self.request(i, e))

    def _wake_one(self):
        if self.slot_waiters:
            self.slot_waiters.pop(0).succeed()

    def request(self, i: int, e: int):
        env, cache = self.env, self.cache
        arrival = env.now
        with self.compute.request() as req:
            yield req
            start = env.now
            yield env.timeout(self.router)
        queue, switch, woken = start - arrival, 0.0, False
        while True:
            t0 = env.now
            if cache.touch_pin(e):
                hit = e not in self.loading
                if woken:
                    self._wake_one()   # the slot freed for us is still free: pass it on
                if not hit:            # another request is copying our expert: wait for it
                    yield self.loading[e]
                    switch = env.now - t0
                break
            if (woken or not self.slot_waiters) and cache.reserve(e):
                hit = False
                yield from self._copy(e)
                break
            wait = env.event()   # every slot pinned: wait for an unpin, keeping our place
            self.slot_waiters.insert(0, wait) if woken else self.slot_waiters.append(wait)
            yield wait
            queue, woken = queue + (env.now - t0), True
        if not hit and switch == 0.0:
            queue, switch = queue + self._link_wait, self._copy_s
        t0 = env.now
        with self.compute.request() as req:
            yield req
            queue += env.now - t0
            yield env.timeout(self.execute)
        if cache.unpin(e):
            self._wake_one()
        self.rec.put(i, arrival, start, self.router, queue, switch, self.execute, env.now, hit)

    def _copy(self, e: int):
        """Copy expert ``e`` into its reserved slot; leaves the link wait and the copy
        time in ``_link_wait`` and ``_copy_s`` (read right after, before any yield)."""
        env = self.env
        self.loading[e] = done = env.event()
        t0 = env.now
        with self.copy.request() as req:
            yield req
            t1 = env.now
            yield env.timeout(self.switch)
        del self.loading[e]
        done.succeed()
        self._link_wait, self._copy_s = t1 - t0, env.now - t1
