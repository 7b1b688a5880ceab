"""A memory level as a dataflow model sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

KINDS = ("sram", "dram")


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the hierarchy (per-PE scratchpad, global buffer, DRAM ...).

    Fields are numbers or numpy arrays broadcastable to (configs, 1), so one
    ``MemoryLevel`` describes that level across a whole batch of design points.

    * ``capacity_bytes`` is per instance (``np.inf`` for off-chip DRAM) and
      ``instances`` how many there are (one scratchpad per PE: ``instances = pes``);
      together they give the level's area and leakage.
    * ``bw_bytes_per_cycle`` is the aggregate bandwidth its traffic crosses.
    * ``kind`` says what prices an access: ``sram`` (per-access energy by capacity,
      ``Technology.sram_pj_per_access``) or ``dram`` (per bit).
    * ``tensor_capacity_bytes`` prices split stores (Eyeriss's separate filter,
      ifmap and psum scratchpads): a tensor's accesses are charged at the capacity
      of its own store; tensors not named use ``capacity_bytes``.
    """

    name: str
    capacity_bytes: Any
    bw_bytes_per_cycle: Any
    instances: Any = 1
    kind: str = "sram"
    tensor_capacity_bytes: Mapping[str, Any] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"MemoryLevel '{self.name}': kind {self.kind!r} not in {KINDS}")

    def capacity_for(self, tensor: str):
        """The capacity that prices one access of ``tensor`` (input, weight, output)."""
        if self.tensor_capacity_bytes and tensor in self.tensor_capacity_bytes:
            return self.tensor_capacity_bytes[tensor]
        return self.capacity_bytes


def dram_level(bw_bytes_per_cycle, name: str = "dram") -> MemoryLevel:
    """Off-chip DRAM: unbounded capacity, priced per bit."""
    return MemoryLevel(name, np.inf, bw_bytes_per_cycle, kind="dram")
