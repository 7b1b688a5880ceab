"""MAESTRO 2020's KC-P dataflow (template ``maestro_kcp``): a peer emulation.

It reproduces MAESTRO's *accounting* of the KC-P mapping
(shared/reference/maestro/Resnet50_kcp_ws.m, MobileNetV2_kcp_ws.m; the same
directives for every layer), to compare with work built on MAESTRO such as
NASAIC -- not a prediction of hardware. The physical NVDLA-style model is
``dla`` (``weight_stationary``), whose pipelined PE overlaps what MAESTRO
serialises.

The mapping, as the file writes it::

    CONV:   SpatialMap(1,1) K; TemporalMap(64,64) C; TemporalMap(Sz(R),Sz(R)) R;
            TemporalMap(Sz(S),Sz(S)) S; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X;
            Cluster(64, P); SpatialMap(1,1) C; TemporalMap(Sz(R),1) Y; ...
    DSCONV: SpatialMap(1,1) C; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X; ...

i.e. ``pes // 64`` clusters take different filters, the 64 PEs of a cluster
take different input channels, and output pixels are visited one at a time; a
depthwise layer puts one channel on each PE.

**Runtime** (``maestro_step``): every temporal step -- ``ceil(K / clusters) x
ceil(C / 64) x P x Q`` of them, depthwise ``ceil(C / pes) x P x Q`` -- costs
what MAESTRO charges its inner cluster, analysed as a fresh "initialisation"
case on every outer step: ``ceil(R*S / vector_width)`` compute cycles plus the
cluster's un-overlapped ingress, ``ceil(2 * min(C, 64) * R*S / NoC)`` (the input
and stationary weight window of each active PE; maestro-project/maestro
CA_cost-analysis-engine.hpp ``AnalyzeClusterLevel_V2``: ``isAllInit() ?
computation_delay + ingress_comm_delay``); a depthwise step has no cluster
ingress. This is MAESTRO's "Compute Delay" column exactly. The top level's
double-buffered NoC (per step ``max(compute, ingress, egress)``) is applied in
aggregate by the shared stage: the busier NoC direction's words over the NoC
bandwidth bound the latency (it binds on FC1000, whose 100 M weights cross
the NoC once).

**Accesses, energy, area**: ``maestro_common`` (MAESTRO's top-cluster buffer
analysis, its activity-count energy, its 2020 area/power closed form).

**Which layers**: the ones the mapping file describes (``maestro_common.describe``),
and at least one cluster of 64 PEs for a CONV layer (MAESTRO normalises the PE
count to whole clusters, ``64 * (pes // 64)``).
"""

from __future__ import annotations

import numpy as np

from ..units import ceil_div
from .base import ConfigBatch, LayerBatch
from .maestro_common import PARAMETERS as COMMON_PARAMETERS
from .maestro_common import (SPATIAL, TEMPORAL, ClusterLevel, Directive, MaestroLayers, access_counts, conv_tensors,
                             describe, strided)
from .maestro_common import activity as maestro_activity
from .stage import Activity, Unmappable

__all__ = ["MAPPING_FILE", "PARAMETERS", "activity", "maestro_step"]

PARAMETERS = dict(COMMON_PARAMETERS)        # maestro_common.PARAMETERS: the same for both emulations
MAPPING_FILE = "MAESTRO's KC-P mapping file (shared/reference/maestro/Resnet50_kcp_ws.m, MobileNetV2_kcp_ws.m)"
CLUSTER_PES = 64        # Cluster(64, P)
C_TILE = 64             # TemporalMap(64,64) C


def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """What MAESTRO's KC-P accounting gives ``layers`` (1, L) on ``configs`` (C, 1)."""
    unmappable = Unmappable("maestro_kcp")
    ml = describe(layers, unmappable, MAPPING_FILE)
    pes = configs.ints("pes")
    unmappable.add(ml.described & ~ml.dsconv & (pes < CLUSTER_PES), "pes", pes,
                   f"{MAPPING_FILE} maps a CONV layer on Cluster(64, P); valid: pes >= 64")
    step = maestro_step(layers, configs, ml)
    shape = np.broadcast_shapes(np.shape(step["runtime"]), (configs.size, len(layers)))
    clusters = np.maximum(pes // CLUSTER_PES, 1)          # pes < 64 is flagged above
    acc = access_counts(shape, [(ml.described & ~ml.dsconv, lambda cols: _conv_level(ml, cols, clusters)),
                                (ml.described & ml.dsconv, lambda cols: _dsconv_level(ml, cols, pes))])
    y, _ = strided(ml.R, ml.stride_y)
    x, _ = strided(ml.S, ml.stride_x)
    # Innermost cluster (64 PEs for CONV, the PEs for DSCONV): one PE's input window,
    # filter window and output "window" (MAESTRO sizes the output by its input rows),
    # each double buffered (UpdateBufferSizeReq, GetMappedVolume).
    l1_requirement = 2.0 * (2.0 * y * x + ml.R * ml.S)
    extras = {"maestro_steps": step["steps"], "maestro_compute_delay": step["delay"],
              "active_pes": step["active_pes"]}
    return maestro_activity(layers, configs, ml, acc, step["runtime"], unmappable, l1_requirement,
                            2.0 * y * x, extras)


def maestro_step(layers: LayerBatch, configs: ConfigBatch, ml: MaestroLayers):
    """MAESTRO's steps and per-step delay of the KC-P mapping (module docstring),
    each (C, L): ``steps``, ``delay`` (its "Compute Delay"), ``runtime`` and
    ``active_pes`` (MAESTRO's "Avg number of utilized PEs": busy clusters averaged
    over the filter folds, times the channels a cluster holds, ``min(C, 64)`` --
    MAESTRO sizes the inner cluster from the first channel tile, so a smaller last
    tile still counts 64)."""
    pes = configs.ints("pes")
    lanes = configs.ints("vector_width")
    noc = configs.floats("noc_bw_elements_per_cycle")
    k_units = np.where(ml.dsconv, pes, np.maximum(pes // CLUSTER_PES, 1))
    c_lanes = np.where(ml.dsconv, 1, C_TILE)
    channels_out = np.where(ml.dsconv, ml.C, ml.K)
    channels_in = np.where(ml.dsconv, 1, ml.C)
    taps = ml.R * ml.S
    k_steps = ceil_div(channels_out, k_units)
    steps = k_steps * ceil_div(channels_in, c_lanes) * layers.p * layers.q
    active = np.minimum(channels_in, c_lanes)
    ingress = np.ceil(layers.mac_words(inputs=active * taps, weights=active * taps) / noc)
    delay = ceil_div(taps, lanes) + np.where(ml.dsconv, 0.0, ingress)
    return {"steps": steps.astype(float), "delay": delay.astype(float), "runtime": (steps * delay).astype(float),
            "active_pes": channels_out / k_steps * active}


def _conv_level(ml: MaestroLayers, cols, clusters) -> ClusterLevel:
    """The top cluster of a CONV layer: ``pes // 64`` sub-clusters."""
    dims = ml.dims(cols)
    y, y_ofs = strided(dims["R"], ml.stride_y[:, cols])
    x, x_ofs = strided(dims["S"], ml.stride_x[:, cols])
    directives = (Directive(SPATIAL, "K", 1, 1), Directive(TEMPORAL, "C", C_TILE, C_TILE),
                  Directive(TEMPORAL, "R", dims["R"], dims["R"]), Directive(TEMPORAL, "S", dims["S"], dims["S"]),
                  Directive(TEMPORAL, "Y", y, y_ofs), Directive(TEMPORAL, "X", x, x_ofs))
    return ClusterLevel(directives, dims, conv_tensors(dsconv=False), clusters)


def _dsconv_level(ml: MaestroLayers, cols, pes) -> ClusterLevel:
    """A DSCONV layer's only cluster level: one channel per PE."""
    dims = ml.dims(cols)
    y, y_ofs = strided(dims["R"], ml.stride_y[:, cols])
    x, x_ofs = strided(dims["S"], ml.stride_x[:, cols])
    directives = (Directive(SPATIAL, "C", 1, 1), Directive(TEMPORAL, "Y", y, y_ofs),
                  Directive(TEMPORAL, "X", x, x_ofs), Directive(TEMPORAL, "R", dims["R"], dims["R"]),
                  Directive(TEMPORAL, "S", dims["S"], dims["S"]))
    return ClusterLevel(directives, dims, conv_tensors(dsconv=True), pes)
