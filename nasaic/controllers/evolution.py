"""Regularized evolution (Real et al., AAAI 2019) over the whole design: a population of
the last ``POPULATION`` designs; each episode a tournament of ``SAMPLE`` picks the fittest
(NASAIC's reward), its child mutates one network gene of one task and, with probability
1/2, one hardware gene; the oldest member dies. The first ``POPULATION`` episodes are
uniform random designs. When the child violates a spec, its hardware is mutated again (up
to ``hardware_retries`` times), the same re-sampling allowance the RL controller gets.
"""

from __future__ import annotations

import numpy as np

from .base import Controller, Outcome, Proposal

POPULATION = 20
SAMPLE = 5


class Evolution(Controller):
    name = "evolution"

    def __init__(self, problem, settings, seed):
        super().__init__(problem, settings, seed)
        self.population: list[tuple[list[int], float]] = []      # (genes, fitness), oldest first

    def propose(self) -> Proposal:
        p = self.problem
        k = 1 + self.settings.hardware_retries
        if len(self.population) < POPULATION:
            first = p.random_genes(self.rng, 1)[0]
            hardware = self.uniform_hardware(k)
            hardware[0] = first[p.hardware_genes]
            return Proposal(self.with_hardware(first, hardware))
        picks = self.rng.choice(len(self.population), size=SAMPLE, replace=False)
        parent = np.array(self.population[max(picks, key=lambda i: (self.population[i][1], -i))][0])
        child = self._mutate(parent, p.network_genes)
        if self.rng.random() < 0.5:
            child = self._mutate(child, p.hardware_genes)
        hardware = np.array([child[p.hardware_genes]] +
                            [self._mutate(child, p.hardware_genes)[p.hardware_genes] for _ in range(k - 1)])
        return Proposal(self.with_hardware(child, hardware))

    def _mutate(self, genes: np.ndarray, where: slice) -> np.ndarray:
        """``genes`` with one gene in ``where`` changed to a different option."""
        out = genes.copy()
        options = self.problem.gene_options
        d = int(self.rng.integers(where.start, where.stop))
        if options[d] > 1:
            out[d] = (out[d] + 1 + int(self.rng.integers(0, options[d] - 1))) % options[d]
        return out

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        self.population.append(([int(g) for g in proposal.genes[outcome.chosen]], float(outcome.reward)))
        if len(self.population) > POPULATION:
            self.population.pop(0)

    def extra_state(self) -> dict:
        return {"population": [[g, f] for g, f in self.population]}

    def load_extra_state(self, state: dict) -> None:
        self.population = [(list(g), float(f)) for g, f in state["population"]]
