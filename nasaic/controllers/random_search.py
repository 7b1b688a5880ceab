"""Random search: every episode a uniform network per task and uniform hardware (with the
same ``hardware_retries`` re-samples the RL controller gets, so budgets are equal)."""

from __future__ import annotations

from .base import Controller, Proposal


class RandomSearch(Controller):
    name = "random"

    def propose(self) -> Proposal:
        first = self.problem.random_genes(self.rng, 1)[0]
        hardware = self.uniform_hardware(1 + self.settings.hardware_retries)
        hardware[0] = first[self.problem.hardware_genes]
        return Proposal(self.with_hardware(first, hardware))
