"""MAESTRO 2020's row-stationary dataflow (template ``maestro_rs``): a peer emulation.

It reproduces how MAESTRO (maestro-project/maestro, 2020, cost-analysis engine)
accounts the RS mapping of shared/reference/maestro/Resnet50_rs.m -- the
temporal steps it counts and the delay it charges per step -- including rules
no buildable machine follows: its 3x3 steps are charged no compute, so they
exceed 256 PEs x 9 MAC lanes. Use it to compare with MAESTRO-based work
(NASAIC used MAESTRO), not to predict hardware; the physical row-stationary
model is ``rs`` / ``eyeriss`` (``row_stationary``, validated on Eyeriss silicon).

The mapping (CONV; a DSCONV drops the K directive)::

    TemporalMap(2,2) K; TemporalMap(4,4) C; TemporalMap(Sz(R),Sz(R)) R;
    SpatialMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X; Cluster(3,P);
    SpatialMap(1,1) X; SpatialMap(1,1) S; TemporalMap(Sz(S),Sz(S)) S

(FC1000, a 7x7 filter over its whole 7x7 input, uses ``Cluster(9,P)``):
``pes // 3`` clusters take different output rows, the 3 PEs of a cluster
different filter columns.

**Runtime**: ``maestro_rs_runtime`` (steps x per-step delay as MAESTRO's source
computes them; it matches all 66 ResNet-50 layers of Resnet50_rs_pe256.csv).
**Accesses, energy, area**: ``maestro_common``.

It is not monotone in ``pes``: MAESTRO uses every cluster, and more clusters
load more input rows per step; a PE count that adds clusters without removing a
fold of the output rows adds ingress, and once a step's ingress passes one NoC
cycle the step is ingress-bound (e.g. a 16-bit 5x5 layer, 27 rows: 11 -> 12
clusters doubles the runtime). Only the first step's ingress is checked against
MAESTRO's CSV (its "Ingress Delay (Max)"); later steps' ingress (the tile with
the clusters' shared rows counted once) is 1 cycle throughout ResNet-50, so its
form is a modelling choice.

MAESTRO counts NoC traffic in elements of one precision: the NoC bandwidth is
in elements per cycle and each tensor's elements count as MAC-precision words
(``LayerBatch.mac_words``), which is MAESTRO's count when the three widths are
equal.

``maestro_cluster_pes``, ``maestro_cluster_runtime`` and ``maestro_rs_runtime``
take a ``LayerBatch`` whose depthwise layers have ``c == 1`` per group.
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

__all__ = ["MAPPING_FILE", "PARAMETERS", "activity", "maestro_cluster_pes", "maestro_cluster_runtime",
           "maestro_rs_runtime"]

PARAMETERS = dict(COMMON_PARAMETERS)        # maestro_common.PARAMETERS: the same for both emulations
MAPPING_FILE = "MAESTRO's row-stationary mapping file (shared/reference/maestro/Resnet50_rs.m)"

# MAESTRO's RS mapping (shared/reference/maestro/Resnet50_rs.m, the mapping of the
# Resnet50_rs_pe256.csv run): TemporalMap(2,2) K; TemporalMap(4,4) C;
# TemporalMap(Sz(R),Sz(R)) R; SpatialMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X;
# Cluster(3,P); SpatialMap(1,1) X; SpatialMap(1,1) S; TemporalMap(Sz(S),Sz(S)) S.
MAESTRO_RS_K_TILE = 2          # TemporalMap(2,2) K
MAESTRO_RS_C_TILE = 4          # TemporalMap(4,4) C
MAESTRO_RS_CLUSTER_PES = 3     # Cluster(3,P)
MAESTRO_RS_FC_CLUSTER_PES = 9  # FC1000 (a 7x7 filter over the whole 7x7 input): Cluster(9,P)


def maestro_cluster_pes(layers: LayerBatch):
    """PEs per cluster in ``Resnet50_rs.m``: ``Cluster(3,P)``, except ``Cluster(9,P)``
    for the fully connected layer written as a filter that covers its whole
    (padded) input (FC1000: 7x7 over 7x7). (1, L)."""
    whole_input = (layers.r >= layers.h + 2 * layers.pad_h) & (layers.s >= layers.w + 2 * layers.pad_w)
    fc = whole_input & (layers.r * layers.s > 1)
    return np.where(fc, MAESTRO_RS_FC_CLUSTER_PES, MAESTRO_RS_CLUSTER_PES)


def maestro_cluster_runtime(layers: LayerBatch, k_t, c_t, cluster, lanes, noc_elems):
    """Cycles MAESTRO's inner cluster (``Cluster(m,P)``, m = ``cluster`` PEs) takes
    for one outer step on a ``k_t`` filters x ``c_t`` channels tile; its CSV
    "Compute Delay". (maestro-project/maestro, cost-model/include/cost-analysis/
    CA_cost-analysis-engine.hpp ``AnalyzeClusterLevel_V2``; CA_reuse-analysis.hpp
    ``GetNumCriticalPathPartialSums``/``GetPEEgressVolume``/``AnalyzeOutputMappingSizes``,
    read in its georgia-tech-synergy-lab/maestro copy; DFA_cluster-analysis.hpp
    ``InheritMissingDirectives`` for the inner cluster's dimensions.)

    The inner cluster receives an ``R x S`` input window (one output pixel) and
    maps ``SpatialMap(1,1) X; SpatialMap(1,1) S; TemporalMap(S,S) S`` onto its
    m PEs. MAESTRO's analysis of that, as its source implements it:

    * a base-cluster step takes ``ceil(partial sums / vector width)`` cycles, where
      the partial sums multiply the mapped size of every reduction directive --
      S appears in two directives, so it counts twice: ``k_t * c_t * R * S * S``;
    * the output width mapped on a PE is ``X - S + 1`` with X = 1 (one column per
      PE) and S = Sz(S) (the later S directive wins): ``2 - S``, negative for
      S > 1. Steps with a non-positive partial-sum count are skipped
      (``num_partial_sums <= 0 -> continue``): they cost nothing;
    * except the spatial *edge* fold of X when exactly one PE is active there
      (``S mod m == 1``): that branch multiplies by the edge size of the *input*
      X (1) instead of the output width, so it counts ``k_t*c_t*R*S*S`` partial
      sums; it recurs once per fold of the S spatial map, ``ceil(S/m)`` times,
      each compute-bound (ingress overlapped);
    * ``S == 1``: one step, the initialisation case, whose ingress (the weight
      and input windows) is not overlapped: compute + ``ceil(ingress / NoC)``.

    So 1x1 layers: 1 + 1 = 2 cycles; 3x3 on m = 3: 0 (the step's 2*4*3*3 = 72
    MACs per cluster are never charged); CONV1 (7x7, C = 3, m = 3): ceil(7/3) x ceil(2*3*7*7*7/9) =
    3 x 229 = 687; FC1000 (7x7, m = 9): 0.
    """
    r, s = layers.r, layers.s
    compute = ceil_div(k_t * c_t * r * s * s, lanes)
    ingress = np.ceil(layers.mac_words(inputs=c_t * r * s, weights=k_t * c_t * r * s) / noc_elems)
    edge_fold = (s > 1) & (s % cluster == 1)
    runtime = np.where(s == 1, compute + ingress,
                       np.where(edge_fold, ceil_div(s, cluster) * np.maximum(compute, ingress), 0.0))
    return np.where((k_t > 0) & (c_t > 0), runtime, 0.0)


def maestro_rs_runtime(layers: LayerBatch, pes, lanes, noc_elems):
    """MAESTRO 2020's runtime of a layer under its RS mapping ``Resnet50_rs.m``.

    MAESTRO runtime = sum over the temporal steps of the outer cluster level of
    the step delay (``AnalyzeClusterLevel_V2``): ``max(inner, ingress, egress)``
    per step (double buffering, ``_step_delay``; inner = the cluster's runtime,
    ``maestro_cluster_runtime``), except the first ("all init") step, which pays
    ``inner + ingress`` with the ingress not overlapped (``_first_ingress``).

    **Steps.** ``ceil(K/2)`` filter tiles x ``ceil(C/4)`` channel tiles (both
    with their smaller edge tile; a depthwise layer's channels play C, as in
    MAESTRO's DSCONV) x N x Q output columns (``TemporalMap(Sz(S),1) X`` with
    the layer's stride; windows that fall off the edge have no outputs and are
    skipped) x ``ceil(P / clusters)`` folds of the output rows spread over the
    ``pes // m`` clusters (``SpatialMap(Sz(R),1) Y``).

    E.g. CONV2_1_2 (3x3, K = C = 64, 56 -> 54): 32 x 16 x 54 x 1 steps of
    1 cycle + 1 (first-step ingress 2) = 27,649 cycles for 107.5 M MACs, i.e.
    3,888 MACs/cycle on 256 PEs: more than 256 PEs x 9 lanes. This reproduces
    MAESTRO's accounting of the mapping, *not a buildable machine*; nor is it
    monotone in ``pes`` (see the module docstring).

    Returns (C, L) arrays: ``runtime``, ``steps``, ``compute_delay`` (the inner
    runtime of a full tile as MAESTRO reports it, at least 1) and
    ``active_clusters`` (MAESTRO's "Avg number of utilized PEs": clusters per fold).
    """
    cluster = maestro_cluster_pes(layers)
    clusters = pes // cluster
    depthwise = layers.c == 1
    channels = np.where(depthwise, layers.g, layers.c)          # MAESTRO's C
    folds = ceil_div(layers.p, clusters)
    positions = layers.n * layers.q * folds * np.where(depthwise, 1, layers.g)
    active = np.minimum(layers.p, clusters)
    k_tiles = _tiles(layers.k, MAESTRO_RS_K_TILE)
    c_tiles = _tiles(channels, MAESTRO_RS_C_TILE)
    runtime = 0.0
    steps = 0
    first = None                                 # (inner, steady delay) of the first, full-size tile
    for k_t, n_k in k_tiles:
        for c_t, n_c in c_tiles:
            count = n_k * n_c * positions
            inner, delay = _step_delay(layers, k_t, c_t, cluster, active, lanes, noc_elems)
            first = (inner, delay) if first is None else first
            runtime = runtime + count * delay
            steps = steps + count
    inner0, steady0 = first
    first_ingress = _first_ingress(layers, k_tiles[0][0], c_tiles[0][0], active, noc_elems)
    runtime = runtime + inner0 + first_ingress - steady0
    return {"runtime": runtime, "steps": steps, "compute_delay": np.maximum(inner0, 1.0),
            "active_clusters": layers.p / folds}


def _tiles(extent, tile):
    """A ``TemporalMap(tile, tile)`` over ``extent``: ((size, count) of the full
    tiles, (size, count) of the smaller edge tile, count 0 when there is none)."""
    return ((np.minimum(tile, extent), extent // tile),
            (extent % tile, (extent % tile > 0).astype(np.int64)))


def _step_delay(layers: LayerBatch, k_t, c_t, cluster, active, lanes, noc_elems):
    """(inner runtime, delay) of a steady step on a ``k_t x c_t`` tile: the delay is
    ``max(inner, ingress, egress)`` over a NoC of ``noc_elems`` per cycle.
    Ingress loads the weight tile and the input rows the ``active`` clusters
    span, shared rows counted once; egress is one output per cluster and filter.
    With a 1024-element NoC both are 1 cycle for ResNet-50 -- so a step whose
    inner runtime is 0 (3x3, FC) costs 1 cycle. Only the first step's ingress is
    checked against MAESTRO's CSV, so this steady form is a modelling choice."""
    r, s = layers.r, layers.s
    rows_spanned = (active - 1) * layers.stride_h + r            # input rows the clusters share
    inner = maestro_cluster_runtime(layers, k_t, c_t, cluster, lanes, noc_elems)
    ingress = np.ceil(layers.mac_words(inputs=c_t * rows_spanned * s, weights=k_t * c_t * r * s) / noc_elems)
    egress = np.ceil(layers.mac_words(outputs=active * k_t) / noc_elems)
    return inner, np.maximum(inner, np.maximum(ingress, egress))


def _first_ingress(layers: LayerBatch, k_t, c_t, active, noc_elems):
    """The first step (first, full-size tile) pays its inner runtime + this ingress
    with no overlap and no reuse, instead of the steady delay: the weight tile once
    plus every active cluster's input window (``k_t*c_t*R*S + clusters*c_t*R*S``;
    2016 elements for 3x3 on 54 clusters -> 2 cycles, 12,789 for CONV1 -> 13)."""
    r, s = layers.r, layers.s
    return np.ceil(layers.mac_words(inputs=active * c_t * r * s, weights=k_t * c_t * r * s) / noc_elems)


# -- the model --------------------------------------------------------------------------

def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """What MAESTRO's RS accounting gives ``layers`` (1, L) on ``configs`` (C, 1)."""
    unmappable = Unmappable("maestro_rs")
    ml = describe(layers, unmappable, MAPPING_FILE)
    pes = configs.ints("pes")
    cluster = maestro_cluster_pes(layers)
    unmappable.add(ml.described & (pes < cluster), "pes", pes,
                   lambda _, j: f"{MAPPING_FILE} maps Cluster({int(cluster[0, j])},P); "
                                f"valid: pes >= {int(cluster[0, j])}")
    clusters = np.maximum(pes // cluster, 1)                  # fewer PEs than a cluster is flagged above
    timing = maestro_rs_runtime(layers, np.maximum(pes, cluster), configs.ints("vector_width"),
                                configs.floats("noc_bw_elements_per_cycle"))
    shape = np.broadcast_shapes(np.shape(timing["runtime"]), (configs.size, len(layers)))
    acc = access_counts(shape, [(ml.described & ~ml.dsconv, lambda cols: _level(ml, cols, clusters, False)),
                                (ml.described & ml.dsconv, lambda cols: _level(ml, cols, clusters, True))])
    y, _ = strided(ml.R, ml.stride_y)
    # Innermost cluster: the tiles of the inherited K (2) and C (4) directives, the
    # inherited row window and one output column, each double buffered
    # (UpdateBufferSizeReq, GetMappedVolume); a DSCONV's filter and output follow C.
    k_tile = np.where(ml.dsconv, MAESTRO_RS_C_TILE, MAESTRO_RS_K_TILE)
    filters = np.where(ml.dsconv, MAESTRO_RS_C_TILE, MAESTRO_RS_K_TILE * MAESTRO_RS_C_TILE)
    l1_output = k_tile * y
    l1_requirement = 2.0 * (MAESTRO_RS_C_TILE * y + filters * ml.R * ml.S + l1_output)
    extras = {"maestro_steps": timing["steps"], "maestro_compute_delay": timing["compute_delay"],
              "active_pes": timing["active_clusters"]}
    return maestro_activity(layers, configs, ml, acc, timing["runtime"], unmappable, l1_requirement,
                            2.0 * l1_output, extras)


def _level(ml: MaestroLayers, cols, clusters, dsconv: bool) -> ClusterLevel:
    """The top cluster of ``Resnet50_rs.m``; the S directive MAESTRO adds to it
    (``UnrollMissingDirectives``: TemporalMap(Sz(S),Sz(S)) S, last)."""
    dims = ml.dims(cols)
    y, y_ofs = strided(dims["R"], ml.stride_y[:, cols])
    x, x_ofs = strided(dims["S"], ml.stride_x[:, cols])
    directives = [Directive(TEMPORAL, "C", MAESTRO_RS_C_TILE, MAESTRO_RS_C_TILE),
                  Directive(TEMPORAL, "R", dims["R"], dims["R"]), Directive(SPATIAL, "Y", y, y_ofs),
                  Directive(TEMPORAL, "X", x, x_ofs), Directive(TEMPORAL, "S", dims["S"], dims["S"])]
    if not dsconv:
        directives.insert(0, Directive(TEMPORAL, "K", MAESTRO_RS_K_TILE, MAESTRO_RS_K_TILE))
    return ClusterLevel(directives, dims, conv_tensors(dsconv), clusters[:, cols])
