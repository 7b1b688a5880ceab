"""Search strategies behind one interface (:class:`~nasaic.controllers.base.Controller`):
``rl`` (NASAIC's REINFORCE), ``evolution`` (regularized evolution), ``random``, ``hybrid``
(a policy over networks, the exact MILP over hardware) and ``successive`` (NAS by accuracy,
then hardware: the baseline)."""

from __future__ import annotations

from hwsim.errors import SpecError

from .base import Controller, Outcome, Proposal
from .evolution import Evolution
from .hybrid import Hybrid, Successive
from .random_search import RandomSearch
from .reinforce import Reinforce

CONTROLLERS = {c.name: c for c in (Reinforce, Evolution, RandomSearch, Hybrid, Successive)}


def make_controller(name: str, problem, settings, seed: int) -> Controller:
    if name not in CONTROLLERS:
        raise SpecError(f"field 'search.controller' = {name!r}: expected one of {', '.join(CONTROLLERS)}")
    return CONTROLLERS[name](problem, settings, seed)


__all__ = ["CONTROLLERS", "Controller", "Outcome", "Proposal", "make_controller"]
