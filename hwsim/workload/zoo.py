"""Model zoo (being filled in): networks as hwsim Networks."""

from __future__ import annotations

from ..errors import WorkloadError
from .network import Network

NETWORKS: dict = {}


def network_names() -> list[str]:
    return sorted(NETWORKS)


def get_network(name: str, **kwargs) -> Network:
    """A zoo network by name, e.g. ``get_network("resnet50", batch=1)``."""
    if name not in NETWORKS:
        raise WorkloadError(f"field 'network' = {name!r}: unknown network; valid: {network_names()}")
    return NETWORKS[name](**kwargs)
