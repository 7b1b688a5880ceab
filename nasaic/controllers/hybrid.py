"""The hybrid controller and the successive baseline: networks from a controller, hardware
from the exact MILP (:func:`nasaic.hardware.exact_hardware`).

* ``hybrid``: a REINFORCE policy over the network genes only; each episode the MILP picks
  the fastest chip that meets the budget and every spec for the sampled networks (reward:
  accuracy + slack), or reports that none exists (reward -1; the design recorded is then
  the fastest chip within the budget, which violates a spec).
* ``successive``: NAS by accuracy alone, then the best hardware for those networks — the
  baseline NASAIC compares against. Its NAS is perfect (the most accurate enumerable network
  of each task, from the table), so any spec it violates is the cost of ignoring hardware,
  not of a weak search. One episode.
"""

from __future__ import annotations

import numpy as np

from ..hardware import exact_hardware
from .base import Controller, Outcome, Proposal
from .reinforce import Reinforce


def _with_exact_hardware(controller: Controller, network_row: np.ndarray) -> Proposal:
    p = controller.problem
    hardware, _ = exact_hardware(p, network_row)
    if hardware is None:
        hardware, _ = exact_hardware(p, network_row, with_specs=False)
    if hardware is None:                        # no chip within the budget: any hardware, recorded as such
        hardware = np.zeros(p.n_genes - p.hw_start, dtype=np.int64)
    return Proposal(controller.with_hardware(network_row, hardware[None, :]))


class Hybrid(Controller):
    name = "hybrid"

    def __init__(self, problem, settings, seed):
        super().__init__(problem, settings, seed)
        self.policy = Reinforce(problem, settings, seed, genes=problem.network_genes)

    def propose(self) -> Proposal:
        row = np.zeros(self.problem.n_genes, dtype=np.int64)
        row[self.problem.network_genes] = self.policy.sample(1)[0]
        return _with_exact_hardware(self, row)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        self.policy.learn(proposal.genes[outcome.chosen][self.problem.network_genes], outcome.reward)

    def state(self) -> dict:
        return self.policy.state()

    def load_state(self, state: dict) -> None:
        self.policy.load_state(state)


class Successive(Controller):
    name = "successive"

    def __init__(self, problem, settings, seed):
        super().__init__(problem, settings, seed)
        self.done = False

    def propose(self) -> Proposal | None:
        if self.done:
            return None
        p = self.problem
        row = np.zeros(p.n_genes, dtype=np.int64)
        for task, sl in zip(p.tasks, p.task_slices):
            acc = task.enumerable_accuracy()
            row[sl] = task.enumerable_genes[int(np.argmax(acc))]
        return _with_exact_hardware(self, row)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        self.done = True

    def extra_state(self) -> dict:
        return {"done": self.done}

    def load_extra_state(self, state: dict) -> None:
        self.done = bool(state["done"])
