"""The controller interface: a controller proposes, the loop evaluates and tells.

Every search strategy (RL, evolution, random, hybrid, the successive baseline) is a
:class:`Controller`. One *episode* is one proposal: one network per task (what NASAIC
trains once, so the episode budget is the number of trainings) and, in order, up to
``1 + hardware_retries`` hardware candidates for those networks. The loop
(:mod:`nasaic.search`) evaluates all candidates at once, keeps the first that meets every
spec (else the last one), records every candidate in ``designs.parquet`` and tells the
controller the outcome. A controller returns None when it has nothing more to propose.

Controllers are deterministic given their seed, and their whole state (random generator
included) is JSON data (:meth:`Controller.state` / :meth:`Controller.load_state`), so a
checkpointed search resumes to exactly the result of an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..problem import Evaluated, Problem
from ..spec import SearchSpec

REWARD_VIOLATED = -1.0


@dataclass(frozen=True)
class Proposal:
    genes: np.ndarray          # (k, D): the candidates, in order; all share the network genes


@dataclass(frozen=True)
class Outcome:
    evaluated: Evaluated       # the k candidates as scored (table_only genes snapped)
    chosen: int                # the candidate kept: the first meeting every spec, else the last
    reward: float


def reward(ev: Evaluated, i: int, slack_weight: float) -> float:
    """NASAIC's reward: -1 if the design violates a spec (or the budget, or cannot map);
    otherwise the objective accuracy (as a fraction) plus ``slack_weight`` x the mean
    relative slack to the specs (how far inside them the design is)."""
    if not ev.meets_specs[i]:
        return REWARD_VIOLATED
    return float(ev.objective_pct[i] / 100.0 + slack_weight * ev.slack[i])


def choose(ev: Evaluated) -> int:
    """The candidate the loop keeps: the first meeting every spec, else the last."""
    ok = np.flatnonzero(ev.meets_specs)
    return int(ok[0]) if len(ok) else len(ev) - 1


class Controller:
    """Base class: holds the problem, the settings and a seeded generator."""

    name = "controller"

    def __init__(self, problem: Problem, settings: SearchSpec, seed: int):
        self.problem = problem
        self.settings = settings
        self.rng = np.random.default_rng(seed)

    def propose(self) -> Proposal | None:      # pragma: no cover - interface
        raise NotImplementedError

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """Learn from an outcome (default: nothing)."""

    # -- checkpointing: JSON data only ---------------------------------------------------------
    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, **self.extra_state()}

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.load_extra_state(state)

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    # -- helpers shared by the strategies ---------------------------------------------------------
    def with_hardware(self, network_row: np.ndarray, hardware: np.ndarray) -> np.ndarray:
        """Candidates (k, D): ``network_row``'s network genes with each row of ``hardware``."""
        p = self.problem
        out = np.repeat(np.asarray(network_row, dtype=np.int64)[None, :], len(hardware), axis=0)
        out[:, p.hardware_genes] = hardware
        return out

    def uniform_hardware(self, k: int) -> np.ndarray:
        p = self.problem
        options = p.gene_options[p.hardware_genes]
        return np.column_stack([self.rng.integers(0, o, size=k) for o in options])
