"""The vocabulary of MAESTRO 2020's cluster-level analysis (``maestro_engine.py``):
directives, tensors with their coupled dimensions, the iteration states of a
directive, the access counts the analysis returns, and C++ integer division.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

TEMPORAL, SPATIAL = "temporal", "spatial"
INIT, STEADY, EDGE = "init", "steady", "edge"
# The sliding-window pairs of a convolution: (reference dimension, sliding
# dimension, output dimension) -- MAESTRO's ConfigConvOverlapDimensions.
OVERLAPS = (("Y", "R", "Y'"), ("X", "S", "X'"))
_OUTPUT_OF = {ref: out for ref, _, out in OVERLAPS}
_SLIDING_OF = {ref: sliding for ref, sliding, _ in OVERLAPS}


@dataclass(frozen=True)
class Directive:
    """``TemporalMap(size, ofs) var`` or ``SpatialMap(size, ofs) var``; size and
    offset are arrays broadcastable to (C, L) (``Sz(R)`` resolved per layer)."""

    kind: str
    var: str
    size: Any
    ofs: Any


@dataclass(frozen=True)
class Tensor:
    """A tensor and the dimensions it is indexed by (MAESTRO's coupled variables)."""

    name: str
    coupled: tuple[str, ...]
    is_output: bool = False


@dataclass(frozen=True)
class _State:
    """One iteration state of one directive (MAESTRO's IterationState)."""

    position: str
    count: Any            # occurrences, array
    unrolled: Any = False
    init_edge: Any = False
    sp_edge_edge: Any = False

    @property
    def is_edge(self):
        """``IterationState::IsEdge``: the Edge position, or an Init that is an edge."""
        return np.logical_or(self.position == EDGE, self.init_edge)


def _tdiv(a, b):
    """C++ integer division (truncation toward zero) of integer-valued arrays."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.trunc(a / b)


@dataclass(frozen=True)
class AccessCounts:
    """What ``analyze`` returns; every value (C, L) floats.

    ``l1_read[t]`` ... ``l2_write[t]`` per tensor name, as MAESTRO's CSV prints
    them; ``macs`` is MAESTRO's "Num MACs"; ``steps`` the level's iteration steps
    (the occurrences of the cases it keeps)."""

    l1_read: Mapping[str, Any]
    l1_write: Mapping[str, Any]
    l2_read: Mapping[str, Any]
    l2_write: Mapping[str, Any]
    macs: Any
    steps: Any
