"""The RL controller, as NASAIC: a policy samples every task's network and the hardware,
re-samples only the hardware (up to ``hardware_retries`` times) while a design violates a
spec, and is trained with REINFORCE on NASAIC's reward (-1 if every re-sample violates;
else accuracy + slack inside the specs).

NASAIC's policy is an RNN that emits one choice after another; this one is factorized (one
independent categorical distribution per gene, logits in numpy), which is the common
simplification in NAS controllers and keeps an episode to a few microseconds. The update is
REINFORCE with an exponential-moving-average baseline:
``logits_d += lr * (reward - baseline) * (onehot(choice_d) - softmax(logits_d))`` for the
network genes and the genes of the hardware candidate that was kept.
"""

from __future__ import annotations

import numpy as np

from .base import Controller, Outcome, Proposal

LEARNING_RATE = 0.2
BASELINE_DECAY = 0.9


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()


class Reinforce(Controller):
    name = "rl"

    def __init__(self, problem, settings, seed, *, genes: slice | None = None):
        super().__init__(problem, settings, seed)
        #: the genes this policy samples (all by default; the hybrid controller: network genes only)
        self.genes = genes if genes is not None else slice(0, problem.n_genes)
        self.logits = [np.zeros(k) for k in problem.gene_options[self.genes]]
        self.baseline: float | None = None
        self.reward_var = 0.0

    def sample(self, k: int, which: slice | None = None) -> np.ndarray:
        """``k`` samples (k, len(which)) of the genes ``which`` (relative to all genes)."""
        which = which or self.genes
        offset = self.genes.start
        cols = []
        for d in range(which.start, which.stop):
            p = _softmax(self.logits[d - offset])
            cols.append(self.rng.choice(len(p), size=k, p=p))
        return np.column_stack(cols)

    def propose(self) -> Proposal:
        p = self.problem
        first = self.sample(1)[0]
        hardware = self.sample(1 + self.settings.hardware_retries, p.hardware_genes)
        hardware[0] = first[p.hardware_genes]
        return Proposal(self.with_hardware(first, hardware))

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        self.learn(proposal.genes[outcome.chosen][self.genes], outcome.reward)

    def learn(self, genes_row: np.ndarray, reward: float) -> None:
        if self.baseline is None:
            self.baseline = reward
        deviation = reward - self.baseline
        # normalized advantage: rewards inside the specs differ by hundredths (accuracy) while a
        # violation costs -1, so raw advantages would teach only "avoid violations"
        self.reward_var = BASELINE_DECAY * self.reward_var + (1 - BASELINE_DECAY) * deviation ** 2
        advantage = deviation / (np.sqrt(self.reward_var) + 1e-3)
        for d, choice in enumerate(genes_row):
            grad = -_softmax(self.logits[d])
            grad[int(choice)] += 1.0
            self.logits[d] = self.logits[d] + LEARNING_RATE * advantage * grad
        self.baseline = BASELINE_DECAY * self.baseline + (1 - BASELINE_DECAY) * reward

    def extra_state(self) -> dict:
        return {"logits": [l.tolist() for l in self.logits], "baseline": self.baseline,
                "reward_var": self.reward_var}

    def load_extra_state(self, state: dict) -> None:
        self.logits = [np.array(l, dtype=float) for l in state["logits"]]
        self.baseline = state["baseline"]
        self.reward_var = float(state["reward_var"])
