"""A memory level as a dataflow model sees it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the hierarchy (per-PE scratchpad, global buffer, DRAM ...).

    Fields are numpy arrays broadcastable to (configs, 1), so one ``MemoryLevel``
    describes that level across a whole batch of design points. Energy per access
    is not stored here: it depends on each tensor's width, so each model charges
    it from the technology tables in its energy stage.
    """

    name: str
    capacity_bytes: np.ndarray          # per instance; np.inf for off-chip DRAM
    bw_bytes_per_cycle: np.ndarray      # aggregate bandwidth into the level below it
