"""The allocation problem and its MILP (``nasaic.allocate``'s engine).

``_prepare`` checks the inputs and reads the cost table into the arrays the model
needs (``_Problem``); ``_Model`` is the pyomo model solved by HiGHS; the
formulation is written out in ``nasaic/allocate.py``'s docstring and
docs/nasaic_allocate.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from hwsim.errors import SpecError
from hwsim.hardware.accelerator import Accelerator
from hwsim.system import Budget, CostTable
from hwsim.system.chip import BUDGET_FIELDS
from hwsim.workload.network import Network

OBJECTIVES = ("latency", "energy", "area", "weighted", "edp")
WEIGHT_KEYS = ("latency_s", "energy_pj", "area_mm2")
SPEC_KEYS = ("latency_cycles", "latency_s", "energy_pj", "area_mm2")
MIP_REL_GAP = 1e-9


# -- input checking ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Problem:
    table: CostTable
    networks: tuple[Network, ...]
    rows: np.ndarray            # (C,) table row of each candidate
    candidates: tuple[Accelerator, ...]
    net_cols: np.ndarray        # (T,) table column of each task
    slots: int
    objective: str
    weights: dict
    budget: Budget
    dram_bw_bytes_per_s: float | None
    specs: dict
    clock_hz: float | None
    lat: np.ndarray             # (C, T) latency_s (inf where infeasible)
    energy: np.ndarray          # (C, T)
    ok: np.ndarray              # (C, T) feasible
    area: np.ndarray            # (C,)
    allowed: np.ndarray         # (C,) the config may be used under the budget's declared resources


def _prepare(networks, candidates, slots, objective, weights, budget, dram_bw_bytes_per_s, specs, table,
             clock_hz) -> _Problem:
    networks = (networks,) if isinstance(networks, Network) else tuple(networks)
    if not networks:
        raise SpecError("field 'networks' = []: expected at least one network (one per task)")
    for i, net in enumerate(networks):
        if not isinstance(net, Network):
            raise SpecError(f"field 'networks[{i}]' = {type(net).__name__}: expected an hwsim.Network")
    cands = []
    for i, c in enumerate(candidates):
        if c is None or (isinstance(c, str) and c == "empty"):
            continue                                   # an empty slot is always allowed
        if not isinstance(c, Accelerator):
            raise SpecError(f"field 'candidates[{i}]' = {type(c).__name__}: expected an hwsim.Accelerator, "
                            "None or 'empty'")
        if "dram_bw_bytes_per_cycle" not in c.params:
            raise SpecError(f"field 'candidates[{i}]' = {c.name!r}: template has no dram_bw_bytes_per_cycle, so "
                            "it cannot sit behind the chip's DRAM interface")
        cands.append(c)
    cands = tuple(dict.fromkeys(cands))
    if not cands:
        raise SpecError("field 'candidates' = []: expected at least one accelerator config")
    if isinstance(slots, bool) or not isinstance(slots, (int, np.integer)) or slots < 1:
        raise SpecError(f"field 'slots' = {slots!r}: expected an integer >= 1")
    if objective not in OBJECTIVES:
        raise SpecError(f"field 'objective' = {objective!r}: valid: {list(OBJECTIVES)}")
    w = {}
    if objective == "weighted":
        if not weights:
            raise SpecError(f"field 'weights' = {weights!r}: objective 'weighted' needs weights over "
                            f"{list(WEIGHT_KEYS)}")
        for key, value in dict(weights).items():
            if key not in WEIGHT_KEYS:
                raise SpecError(f"field 'weights.{key}' = {value!r}: unknown metric; valid: {list(WEIGHT_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise SpecError(f"field 'weights.{key}' = {value!r}: expected a finite number >= 0")
            w[key] = float(value)
        if not any(w.values()):
            raise SpecError(f"field 'weights' = {weights!r}: every weight is 0")
    elif weights:
        raise SpecError(f"field 'weights' = {weights!r}: weights go with objective 'weighted', not {objective!r}")
    budget = budget if budget is not None else Budget()
    if not isinstance(budget, Budget):
        raise SpecError(f"field 'budget' = {type(budget).__name__}: expected a hwsim.system.Budget")
    for key in BUDGET_FIELDS:
        v = getattr(budget, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            raise SpecError(f"field 'budget.{key}' = {v!r}: expected a number > 0")
    if dram_bw_bytes_per_s is not None and (isinstance(dram_bw_bytes_per_s, bool) or
                                            not isinstance(dram_bw_bytes_per_s, (int, float)) or
                                            not dram_bw_bytes_per_s > 0):
        raise SpecError(f"field 'dram_bw_bytes_per_s' = {dram_bw_bytes_per_s!r}: expected a number > 0")
    specs = dict(specs or {})
    for key, v in specs.items():
        if key == "edp_pj_s":
            raise SpecError(f"field 'specs.edp_pj_s' = {v!r}: an EDP bound is not linear; the MILP supports "
                            f"{list(SPEC_KEYS)} (use objective 'edp' to minimise it)")
        if key not in SPEC_KEYS:
            raise SpecError(f"field 'specs.{key}' = {v!r}: unknown spec; valid: {list(SPEC_KEYS)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or v <= 0:
            raise SpecError(f"field 'specs.{key}' = {v!r}: expected a number > 0")
    clocks = {float(c.clock_hz) for c in cands}
    if clock_hz is None and len(clocks) == 1:
        clock_hz = clocks.pop()
    if clock_hz is None and "latency_cycles" in specs:
        raise SpecError(f"field 'clock_hz' = None: the candidates have different clocks ({sorted(clocks)}), so a "
                        "latency_cycles spec needs the chip clock; give clock_hz")
    if table is None:
        table = CostTable.build(networks, cands)
    if not isinstance(table, CostTable):
        raise SpecError(f"field 'table' = {type(table).__name__}: expected a hwsim.system.CostTable")
    rows = table.config_indices(cands)
    cols = np.array([table.network_index(n) for n in networks], dtype=np.int64)
    lat = table.latency_s[np.ix_(rows, cols)]
    ok = table.feasible[np.ix_(rows, cols)] & np.isfinite(lat)
    energy = table.energy_pj[np.ix_(rows, cols)]
    allowed = np.ones(len(rows), dtype=bool)
    for key in BUDGET_FIELDS:
        if getattr(budget, key) is not None:
            allowed &= np.isfinite(getattr(table, key)[rows])
    return _Problem(table=table, networks=networks, rows=rows, candidates=cands, net_cols=cols, slots=int(slots),
                    objective=objective, weights=w, budget=budget, dram_bw_bytes_per_s=dram_bw_bytes_per_s,
                    specs=specs, clock_hz=None if clock_hz is None else float(clock_hz), lat=lat, energy=energy,
                    ok=ok, area=table.area_mm2[rows], allowed=allowed)


# -- the MILP ---------------------------------------------------------------------------------



def _limits(p: _Problem) -> dict[str, float]:
    """The active constraints: name -> limit."""
    out = {f"budget.{k}": float(getattr(p.budget, k)) for k in BUDGET_FIELDS if getattr(p.budget, k) is not None}
    if p.dram_bw_bytes_per_s is not None:
        out["dram_bw_bytes_per_s"] = float(p.dram_bw_bytes_per_s)
    out.update({f"specs.{k}": float(v) for k, v in p.specs.items()})
    return out


class _Model:
    """The pyomo model of a problem, with switchable constraints and objectives."""

    def __init__(self, p: _Problem):
        import pyomo.environ as pyo

        self.pyo, self.p = pyo, p
        C, n_tasks = p.ok.shape
        S = p.slots
        m = pyo.ConcreteModel()
        usable = _undominated(p, [c for c in range(C) if p.allowed[c] and p.ok[c].any()])
        self.usable = usable
        xs = [(t, s, c) for t in range(n_tasks) for s in range(S) for c in usable if p.ok[c, t]]
        ys = [(s, c) for s in range(S) for c in usable]
        m.x = pyo.Var(xs, domain=pyo.Binary)
        m.y = pyo.Var(ys, domain=pyo.Binary)
        finite = p.lat[p.ok]
        self.t_scale = float(finite.max()) if finite.size else 1.0
        e_fin = p.energy[p.ok]
        self.e_scale = float(np.abs(e_fin).max()) if e_fin.size else 1.0
        self.a_scale = float(p.area.max()) or 1.0
        m.T = pyo.Var(domain=pyo.NonNegativeReals)          # makespan / t_scale
        x_by_t = {t: [k for k in xs if k[0] == t] for t in range(n_tasks)}
        m.assign = pyo.Constraint(range(n_tasks), rule=lambda m, t: sum(m.x[k] for k in x_by_t[t]) == 1
                                  if x_by_t[t] else pyo.Constraint.Infeasible)
        m.link = pyo.Constraint(xs, rule=lambda m, t, s, c: m.x[t, s, c] <= m.y[s, c])
        m.busy = pyo.Constraint(ys, rule=lambda m, s, c: m.y[s, c] <= sum(
            m.x[t, s, c] for t in range(n_tasks) if (t, s, c) in m.x))
        m.one = pyo.Constraint(range(S), rule=lambda m, s: sum(m.y[s, c] for c in usable) <= 1)
        used = lambda s: sum(m.y[s, c] for c in usable)                         # noqa: E731
        index = lambda s: sum(c * m.y[s, c] for c in usable)                    # noqa: E731
        m.order_used = pyo.Constraint(range(1, S), rule=lambda m, s: used(s) <= used(s - 1))
        m.order_index = pyo.Constraint(range(1, S), rule=lambda m, s: index(s) >= index(s - 1) - C * (1 - used(s)))
        m.makespan = pyo.Constraint(range(S), rule=lambda m, s: m.T >= sum(
            p.lat[c, t] / self.t_scale * m.x[t, s, c] for (t, s2, c) in xs if s2 == s))
        self.E = sum(p.energy[c, t] / self.e_scale * m.x[t, s, c] for (t, s, c) in xs)
        self.A = sum(p.area[c] / self.a_scale * m.y[s, c] for (s, c) in ys)
        rows = p.rows
        self.exprs = {}
        for key in BUDGET_FIELDS:
            values = getattr(p.table, key)[rows]
            if key == "area_mm2":
                self.exprs[f"budget.{key}"] = (self.A, self.a_scale)
            else:
                scale = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
                self.exprs[f"budget.{key}"] = (sum(float(values[c]) / scale * m.y[s, c] for (s, c) in ys
                                                   if np.isfinite(values[c])), scale)
        dram = p.table.dram_bw_bytes_per_s[rows]
        dscale = float(np.nanmax(dram)) if np.isfinite(dram).any() else 1.0
        self.exprs["dram_bw_bytes_per_s"] = (sum(float(dram[c]) / dscale * m.y[s, c] for (s, c) in ys), dscale)
        self.exprs["specs.latency_s"] = (m.T, self.t_scale)
        if p.clock_hz is not None:
            self.exprs["specs.latency_cycles"] = (m.T, self.t_scale * p.clock_hz)
        self.exprs["specs.energy_pj"] = (self.E, self.e_scale)
        self.exprs["specs.area_mm2"] = (self.A, self.a_scale)
        self.m = m
        self.xs, self.ys = xs, ys
        self.limits = _limits(p)
        m.limit = pyo.Constraint(list(self.limits), rule=lambda m, k: self.exprs[k][0] <= self.limits[k] /
                                 self.exprs[k][1] * (1 + 1e-9))
        m.t_cap = pyo.Param(mutable=True, initialize=1.0)
        m.e_cap = pyo.Param(mutable=True, initialize=1.0)
        m.t_cap_c = pyo.Constraint(expr=m.T <= m.t_cap)            # the EDP walk's epsilon constraints
        m.e_cap_c = pyo.Constraint(expr=self.E <= m.e_cap)
        m.t_cap_c.deactivate()
        m.e_cap_c.deactivate()
        self.solver = pyo.SolverFactory("appsi_highs")
        self.time_limit_s = None

    def objective_expr(self, objective: str | None, weights: Mapping[str, float] | None = None):
        if objective == "latency":
            return self.m.T
        if objective == "energy":
            return self.E
        if objective == "area":
            return self.A
        if objective == "weighted":
            # scaled: sum w_k metric_k / s where s makes the largest term O(1)
            terms = {"latency_s": (self.m.T, self.t_scale), "energy_pj": (self.E, self.e_scale),
                     "area_mm2": (self.A, self.a_scale)}
            big = max(w * terms[k][1] for k, w in weights.items())
            return sum(w * terms[k][1] / big * terms[k][0] for k, w in weights.items() if w)
        if objective is None:
            return 0 * self.m.T
        if isinstance(objective, tuple):                   # ("quantity", constraint name)
            return self.exprs[objective[1]][0]
        raise SpecError(f"objective {objective!r}")

    def solve(self, objective, weights=None, active: Sequence[str] | None = None):
        """Solve; returns (status, solution dict or None). ``active``: the constraints
        kept (default all)."""
        pyo = self.pyo
        m = self.m
        for k in self.limits:
            if active is None or k in active:
                m.limit[k].activate()
            else:
                m.limit[k].deactivate()
        if hasattr(m, "obj"):
            m.del_component(m.obj)
        m.obj = pyo.Objective(expr=self.objective_expr(objective, weights), sense=pyo.minimize)
        # presolve dominates the time of the easy models (energy, area, feasibility) but
        # pays off on makespan ones (measured on 72 candidates x 2-4 slots)
        easy = objective in ("energy", "area", None) or isinstance(objective, tuple)
        options = {"mip_rel_gap": MIP_REL_GAP, "mip_abs_gap": 0.0, "threads": 1,
                   "primal_feasibility_tolerance": 1e-9, "mip_feasibility_tolerance": 1e-9,
                   "presolve": "off" if easy else "on"}
        res = self.solver.solve(m, load_solutions=False, timelimit=self.time_limit_s, options=options)
        tc = str(res.solver.termination_condition).split(".")[-1]
        if tc in ("infeasible", "infeasibleOrUnbounded"):
            return "infeasible", None
        if tc != "optimal":
            if tc in ("maxTimeLimit", "maxIterations"):
                try:
                    self.solver.load_vars()
                except Exception:                           # no feasible point found in time
                    return "infeasible", None
                return "time_limit", self._read()
            raise SpecError(f"HiGHS ended with {tc!r} on the allocation MILP")
        self.solver.load_vars()
        return "optimal", self._read()

    def _read(self):
        m = self.m
        cfg = [-1] * self.p.slots
        for (s, c) in self.ys:
            if m.y[s, c].value is not None and m.y[s, c].value > 0.5:
                cfg[s] = c
        slot = [-1] * self.p.ok.shape[1]
        for (t, s, c) in self.xs:
            if m.x[t, s, c].value is not None and m.x[t, s, c].value > 0.5:
                slot[t] = s
        return cfg, slot


def _undominated(p: _Problem, usable: list[int]) -> list[int]:
    """``usable`` without the configs another one dominates: no slower and no more energy on
    every task (and feasible wherever it is), no more area and no more of any limited
    resource (and of DRAM bandwidth if the interface is limited). Swapping a dominated
    config for its dominator never makes a chip worse or infeasible, so this is exact;
    of identical configs the first is kept."""
    if len(usable) < 2:
        return usable
    idx = np.array(usable)
    cols = [np.where(p.ok[idx], p.lat[idx], np.inf), np.where(p.ok[idx], p.energy[idx], np.inf),
            p.area[idx][:, None]]
    for key in BUDGET_FIELDS:
        if key != "area_mm2" and getattr(p.budget, key) is not None:
            cols.append(getattr(p.table, key)[p.rows[idx]][:, None])
    if p.dram_bw_bytes_per_s is not None:
        cols.append(p.table.dram_bw_bytes_per_s[p.rows[idx]][:, None])
    M = np.hstack(cols)                                                   # (U, k)
    le = (M[:, None, :] <= M[None, :, :]).all(axis=2)                     # le[a, b]: a no worse than b
    lt = (M[:, None, :] < M[None, :, :]).any(axis=2)
    order = np.arange(len(idx))
    dominates = le & (lt | (order[:, None] < order[None, :]))             # ties: the earlier one wins
    np.fill_diagonal(dominates, False)
    return [int(c) for c, dominated in zip(idx, dominates.any(axis=0)) if not dominated]
