"""MAESTRO 2020's buffer-access analysis of one cluster level, ported and vectorized.

The peer-emulation models (``maestro_kcp``, ``maestro_rs``) reproduce the L1/L2
read and write counts MAESTRO prints per tensor (its CSV columns ``input l1
read`` ... ``output l2 write``), and those come from one place in MAESTRO: the
analysis of the *top* cluster level (maestro-project/maestro, Oct 2020, commit
7723091; the CSVs in shared/reference/maestro are byte-identical to its
tools/jupyter_notebook/data). This module re-implements that analysis for a
given directive list, vectorized over (configs, layers): every size is an array,
every branch of MAESTRO's C++ on a layer-dependent value is an ``np.where``, and
the Python loops run over directives and iteration cases (fixed per mapping),
never over layers or configs.

What is ported, and from where (all under cost-model/include/):

* iteration states of each directive -- Init / Steady (n times) / Edge, with
  the init-unroll, init-edge and spatial "edge-edge" flags; the iteration cases
  are the Cartesian product of the directives' states, occurring the product of
  their counts (dataflow-analysis/DFA_iteration-analysis.hpp);
* per-variable mapped / unique element counts, steady and edge, and the output
  (Y', X') sizes derived from the sliding windows (cost-analysis/
  CA_reuse-analysis.hpp ``AnalyzeInputMappingSizes``, ``AnalyzeOutputMappingSizes``);
* the spatial edge: how many sub-clusters are active in the last spatial fold
  (dataflow-analysis/DFA_cluster-unit.hpp ``AnalyzeSpatialEdgeCase``);
* per case: ingress of each input tensor (``GetSpatialIngressTraffic`` ->
  ``GetPEIngressVolume``, the temporal-reuse rules), egress of the output
  (``GetSpatialEgressTraffic`` -> ``GetPEEgressVolume``), the partial sums mapped
  on the sub-cluster array (``GetOutputTensorSpatialMappingSize``) and on the
  critical path (``GetNumCriticalPathPartialSums``);
* the bookkeeping of cost-analysis/CA_cost-analysis-engine.hpp
  ``AnalyzeClusterLevel_V2`` and ``UpdateBufferSizeReq``: L2 reads of an input
  tensor = its ingress, its L1 writes = the same, its L1 reads = the partial sums;
  the output's L2 writes = its egress and its L1 reads and writes = the partial
  sums; L2 writes of an input tensor = its full size and the output's L2 reads =
  K x (Y - R + 1) x (X - S + 1) (stride ignored, as there); cases whose
  critical-path partial sums are <= 0 are skipped *after* the output's counts and
  *before* the inputs' (MAESTRO's ``continue``), and MAESTRO's "Num MACs" is the
  partial sums of the cases not skipped.

C++ integer division truncates toward zero; ``_tdiv`` does the same.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Mapping

import numpy as np

from .maestro_terms import (EDGE, INIT, SPATIAL, STEADY, TEMPORAL, AccessCounts, Directive,  # noqa: F401
                            Tensor, _OUTPUT_OF, _SLIDING_OF, _State, _tdiv)


class ClusterLevel:
    """One cluster level: its directives (in order), the dimension sizes it sees,
    its tensors and its number of sub-clusters (all arrays broadcast to (C, L))."""

    def __init__(self, directives, dims: Mapping[str, Any], tensors, num_clusters):
        self.directives = tuple(directives)
        self.dims = {k: np.asarray(v, dtype=float) for k, v in dims.items()}
        self.tensors = tuple(tensors)
        self.nc = np.asarray(num_clusters, dtype=float)
        self.index = {d.var: i for i, d in enumerate(self.directives)}
        self.by_var = {d.var: d for d in self.directives}
        self._mapping_sizes()
        self._spatial_edge()
        self.states = [self._states_of(d) for d in self.directives]

    # -- per-variable sizes (CA_reuse-analysis.hpp AnalyzeInput/OutputMappingSizes) --
    def _mapping_sizes(self):
        self.mapped, self.unique, self.mapped_edge, self.unique_edge = {}, {}, {}, {}
        for d in self.directives:
            size, ofs = np.asarray(d.size, dtype=float), np.asarray(d.ofs, dtype=float)
            dim = self.dims[d.var]
            steady = np.maximum(_tdiv(dim - size, ofs), 0.0)
            has_edge = (steady * ofs + size < dim) | (size > dim)
            self.mapped[d.var] = size
            unique = np.minimum(size, ofs)
            if d.kind == TEMPORAL:
                unique = np.where(dim <= size, 0.0, unique)
            self.unique[d.var] = unique
            edge_size = dim - (steady + 1.0) * ofs
            edge_size = np.where(edge_size < 0, dim, edge_size)
            self.mapped_edge[d.var] = np.where(has_edge, edge_size, size)
            self.unique_edge[d.var] = np.maximum(ofs - (size - edge_size), 0.0)
        for d in self.directives:
            if d.var in _OUTPUT_OF and _SLIDING_OF[d.var] in self.mapped:
                out, sliding = _OUTPUT_OF[d.var], _SLIDING_OF[d.var]
                ofs = np.asarray(d.ofs, dtype=float)
                self.mapped[out] = self.mapped[d.var] - self.mapped[sliding] + 1.0
                self.unique[out] = np.minimum(ofs, np.asarray(d.size, dtype=float))
                self.mapped_edge[out] = self.mapped_edge[d.var] - self.mapped_edge[sliding] + 1.0
                self.unique_edge[out] = np.minimum(ofs, self.mapped_edge[out])

    # -- spatial edge (DFA_cluster-unit.hpp AnalyzeSpatialEdgeCase) --------------------
    def _spatial_edge(self):
        """Sub-clusters active in the last spatial fold (``GetNumClusters(true)``),
        from the first SpatialMap of the level."""
        sp = next(d for d in self.directives if d.kind == SPATIAL)
        dim = self.dims[sp.var]
        size, ofs, nc = np.asarray(sp.size, dtype=float), np.asarray(sp.ofs, dtype=float), self.nc
        full_cov = ofs * (nc - 1.0) + size
        steady = _tdiv(_tdiv(dim - size, ofs) + 1.0, nc) - 1.0
        remaining = dim - (steady + 1.0) * ofs * nc
        wide = np.where(remaining < size, 1.0, _tdiv(remaining - size, ofs) + 1.0)
        narrow = _tdiv(dim - size, ofs) + 1.0
        narrow = np.where(ofs * (narrow - 1.0) + size < dim, narrow + 1.0, narrow)
        narrow = np.where(dim > size, narrow, 1.0)
        edge_clusters = np.where(dim > full_cov, wide, narrow)
        self.nec = np.where(dim <= size, 1.0, edge_clusters)

    # -- iteration states (DFA_iteration-analysis.hpp AnalyzeIterationStates) ---------
    def _states_of(self, d: Directive):
        dim = self.dims[d.var]
        size, ofs = np.asarray(d.size, dtype=float), np.asarray(d.ofs, dtype=float)
        if d.kind == TEMPORAL:
            init_unroll, init_edge = dim <= size, dim < size
            steady = _tdiv(dim - size, ofs)
            has_steady = (size < dim) & (steady > 0)
            has_edge = ~init_edge & (steady * ofs + size < dim)
            states = [_State(INIT, 1.0, init_unroll, init_edge),
                      _State(STEADY, np.where(has_steady, steady, 0.0)),
                      _State(EDGE, np.where(has_edge, 1.0, 0.0))]
        else:
            nc = self.nc
            cov = size + ofs * (nc - 1.0)
            init_unroll, init_edge = dim <= cov, dim < cov
            steady = _tdiv(_tdiv(dim - size, ofs) + 1.0, nc) - 1.0
            has_steady = (cov < dim) & (steady > 0)
            has_edge = (~init_unroll & ((steady + 1.0) * (ofs * nc) + cov > dim)
                        & (steady * (ofs * nc) + cov != dim))
            remaining = dim - (steady + 1.0) * ofs * nc
            active = np.where(remaining < size, 1.0, _tdiv(remaining - size, ofs) + 1.0)
            edge_edge = (active - 1.0) * ofs + size < remaining
            states = [_State(INIT, 1.0, init_unroll, init_edge, init_edge),
                      _State(STEADY, np.where(has_steady, steady, 0.0)),
                      _State(EDGE, np.where(~init_edge & has_edge, 1.0, 0.0), sp_edge_edge=edge_edge)]
        return [s for s in states if np.any(np.asarray(s.count) > 0)]

    # -- the analysis ------------------------------------------------------------------
    def analyze(self) -> AccessCounts:
        """Buffer access counts of this level over all iteration cases (see module docstring)."""
        names = [t.name for t in self.tensors]
        l1r = dict.fromkeys(names, 0.0)
        l1w = dict.fromkeys(names, 0.0)
        l2r = dict.fromkeys(names, 0.0)
        l2w = dict.fromkeys(names, 0.0)
        macs, steps = 0.0, 0.0
        outputs = [t for t in self.tensors if t.is_output]
        inputs = [t for t in self.tensors if not t.is_output]
        for case in product(*self.states):
            occ = np.prod(np.broadcast_arrays(*[np.asarray(s.count, dtype=float) for s in case]), axis=0)
            psum_map, critical = 0.0, 0.0
            for t in outputs:
                psum_map = psum_map + self._output_mapping_size(t, case)
                l2w[t.name] = l2w[t.name] + occ * self._egress(t, case)
                l1w[t.name] = l1w[t.name] + occ * psum_map
                l1r[t.name] = l1r[t.name] + occ * psum_map
                critical = critical + self._critical_psums(t, case)
            valid = np.asarray(critical) > 0
            kept = np.where(valid, occ, 0.0)
            for t in inputs:
                ingress = kept * self._ingress(t, case)
                l2r[t.name] = l2r[t.name] + ingress
                l1w[t.name] = l1w[t.name] + ingress
                l1r[t.name] = l1r[t.name] + kept * psum_map
            macs = macs + kept * psum_map
            steps = steps + kept
        for t in inputs:                                 # UpdateBufferSizeReq, the all-init case
            l2w[t.name] = np.prod(np.broadcast_arrays(*[self.dims[v] for v in t.coupled]), axis=0)
        for t in outputs:
            l2r[t.name] = np.prod(np.broadcast_arrays(*[self._output_extent(v) for v in t.coupled]), axis=0)
        return AccessCounts(l1r, l1w, l2r, l2w, macs, steps)

    def first_case_traffic(self):
        """Per tensor, its traffic in the first (all-Init) case: an input's ingress,
        the output's egress. MAESTRO sizes the upstream buffer from it
        (``UpdateBufferSizeReq``: twice each, double buffered)."""
        case = tuple(states[0] for states in self.states)
        return {t.name: (self._egress(t, case) if t.is_output else self._ingress(t, case)) for t in self.tensors}

    def _output_extent(self, var):
        """An output dimension's full size: the window positions of a reference
        dimension (``Y - R + 1``, stride ignored as in MAESTRO), else the size."""
        if var in _SLIDING_OF:
            return self.dims[var] - self.dims[_SLIDING_OF[var]] + 1.0
        return self.dims[var]

    # -- helpers on a case -------------------------------------------------------------
    def _state(self, case, var) -> _State:
        return case[self.index[var]]

    def _sp_state(self, tensor: Tensor, case):
        """The state of the spatially mapped dimension the tensor is coupled to, or None."""
        for var in tensor.coupled:
            if self.by_var[var].kind == SPATIAL:
                return self._state(case, var)
        return None

    def _spread(self, volume, sp_state, sum_mode):
        """MAESTRO's sum over the sub-clusters of a spatially mapped tensor.

        ``volume(first_pe, sp_edge_edge_pe)`` is one sub-cluster's volume. Not at
        the spatial edge: the first + (nc - 1) others (``sum_mode="traffic"``) or
        nc x the first (``"mapping"``). At the edge: the first (its edge-edge
        variant when it is the only active one) plus the full and edge-edge others.
        Each variant is computed once, and the edge ones only in a case at the edge."""
        cache = {}

        def v(*key):
            if key not in cache:
                cache[key] = volume(*key)
            return cache[key]
        nc, nec = self.nc, self.nec
        traffic = sum_mode == "traffic"
        if sp_state is None:
            return v(True, False) if traffic else nc * v(True, False)
        steady = v(True, False) + (nc - 1.0) * v(False, False) if traffic else nc * v(True, False)
        is_edge = np.asarray(sp_state.is_edge)
        if not is_edge.any():
            return steady
        hse = np.asarray(sp_state.sp_edge_edge, dtype=bool)
        first = np.where((nec == 1) & hse, v(True, True), v(True, False))
        n_ee = np.where(hse, 1.0, 0.0)
        n_full = np.maximum(nec - n_ee - 1.0, 0.0)
        if traffic:
            others = n_full * v(False, False) + n_ee * v(False, True)
        else:
            others = n_full * v(True, False) + n_ee * v(False, True, False)
        edge = first + np.where(nec > 1, others, 0.0)
        return np.where(is_edge, edge, steady)

    # -- ingress (GetSpatialIngressTraffic, GetPEIngressVolume, GetPEMappedVolume) ------
    def _ingress(self, tensor: Tensor, case):
        return self._spread(lambda first, ee: self._pe_ingress(tensor, case, first, ee),
                            self._sp_state(tensor, case), "traffic")

    def _changing_index(self, case):
        """``GetInnermostUpdatedDimDirectiveID``: the innermost directive not at Init."""
        idx = -1
        for i, s in enumerate(case):
            if s.position != INIT:
                idx = i
        return idx

    def _tensor_inited(self, tensor, case, changing):
        """``IsTensorInited``: an inner coupled directive at Init that is not unrolled."""
        inited = np.zeros((), dtype=bool)
        for i, d in enumerate(self.directives):
            if i > changing and d.var in tensor.coupled and case[i].position == INIT:
                inited = inited | ~np.asarray(case[i].unrolled, dtype=bool)
        return inited

    def _pe_mapped(self, tensor, case, first, ee):
        ret = 1.0
        for d in self.directives:
            if d.var not in tensor.coupled:
                continue
            s = self._state(case, d.var)
            m, me = self.mapped[d.var], self.mapped_edge[d.var]
            if d.kind == TEMPORAL:
                ret = ret * np.where(s.is_edge, me, m)
            else:
                nec = self.nec
                one = (nec == 1) & (first or ee)
                mult = np.where(one, me, np.where(nec > 1, me if ee else m, 1.0))
                ret = ret * np.where(s.is_edge, mult, m)
        return ret

    def _pe_ingress(self, tensor, case, first, ee):
        changing = self._changing_index(case)
        if changing == -1:
            return self._pe_mapped(tensor, case, first, ee)
        inited = self._tensor_inited(tensor, case, changing)
        ret = 1.0
        tensor_changing = False
        for i, d in enumerate(self.directives):
            if d.var not in tensor.coupled:
                continue
            s = case[i]
            is_changing = i == changing
            tensor_changing = tensor_changing or is_changing
            m, me = self.mapped[d.var], self.mapped_edge[d.var]
            u, ue = self.unique[d.var], self.unique_edge[d.var]
            if d.kind == TEMPORAL:
                if s.position == INIT:
                    ret = ret * np.where(s.is_edge, me, m)
                elif is_changing:
                    ret = ret * np.where(inited, m, np.maximum(u, 1.0))
                else:
                    ret = ret * m
            else:
                mapped, unique = (me, ue) if ee else (m, u)
                if first:
                    ret = ret * mapped
                elif s.position == INIT:
                    ret = ret * (mapped if i <= changing else unique)
                elif is_changing:
                    ret = ret * np.where(inited, mapped, unique)
                else:
                    ret = ret * mapped
        return ret if tensor_changing else 0.0 * ret

    # -- egress and partial sums (GetPEEgressVolume and its callers) --------------------
    def _egress(self, tensor, case):
        return self._spread(lambda first, ee: self._pe_egress(tensor, case, False, first, ee),
                            self._sp_state(tensor, case), "traffic")

    def _critical_psums(self, tensor, case):
        sp = self._sp_state(tensor, case)
        if sp is None:
            return self._pe_egress(tensor, case, True, True, False)
        hse = np.asarray(sp.sp_edge_edge, dtype=bool)
        edge = np.where((self.nec == 1) & hse, self._pe_egress(tensor, case, True, True, True),
                        self._pe_egress(tensor, case, True, True, False))
        return np.where(sp.is_edge, edge, self._pe_egress(tensor, case, True, True, False))

    def _output_mapping_size(self, tensor, case):
        """``GetOutputTensorSpatialMappingSize(for_partial_sum=true)``: any SpatialMap
        of the level makes it spatially mapped; the edge flag is any spatial
        directive's, the edge-edge flag the last spatial directive's."""
        sp = self._sp_state(tensor, case)
        is_edge = np.asarray(sp.is_edge) if sp is not None else np.zeros((), dtype=bool)
        for i, d in enumerate(self.directives):
            if d.kind == SPATIAL:
                sp = case[i]
                is_edge = is_edge | np.asarray(sp.is_edge)
        merged = _State(sp.position, sp.count, sp.unrolled, is_edge, sp.sp_edge_edge)

        def volume(first, ee, reuse=True):
            return self._pe_egress(tensor, case, True, first, ee, reuse)
        return self._spread(volume, merged, "mapping")

    def _pe_egress(self, tensor, case, psums, first, ee, reuse=True):
        ret = 1.0
        nec = self.nec
        if psums:
            for d in self.directives:
                if d.var in tensor.coupled:
                    continue
                s = self._state(case, d.var)
                if d.kind == TEMPORAL:
                    ret = ret * np.where(s.is_edge, self.mapped_edge[d.var], self.mapped[d.var])
                else:
                    ret = ret * self._sp_factor(d.var, d.var, s, first, ee, nec, edge_unique=False, reuse=True)
        for var in tensor.coupled:
            d = self.by_var[var]
            s = self._state(case, var)
            actual = _OUTPUT_OF.get(var, var)
            if d.kind == TEMPORAL:
                if s.position == INIT:
                    ret = ret * np.where(s.is_edge, self.mapped_edge[actual], self.mapped[actual])
                elif s.position == STEADY:
                    ret = ret * self.mapped[actual]
                else:
                    ret = ret * self.mapped_edge[actual]
            else:
                ret = ret * self._sp_factor(actual, var, s, first, ee, nec, edge_unique=True, reuse=reuse)
        return ret

    def _sp_factor(self, var, input_var, s, first, ee, nec, edge_unique, reuse):
        """One spatially mapped dimension's factor in ``GetPEEgressVolume``.

        ``var`` is the output dimension (Y' for Y), ``input_var`` the directive's.
        ``edge_unique``: the output-coupled branch (at the spatial edge an
        edge-edge PE counts the edge's unique outputs; MAESTRO's single-active-PE
        edge branch indexes the *input* dimension there, reproduced as is);
        otherwise the reduction-dimension branch."""
        m, me = self.mapped[var], self.mapped_edge[var]
        u, ue = self.unique[var], self.unique_edge[var]
        u_or_1 = np.where(u != 0, u, 1.0)
        plain = m if first else u_or_1
        one = (nec == 1) & (first or ee)
        if s.position == INIT:
            if not ee:
                return plain
            if edge_unique:
                ee_val = ue if reuse else me
            else:
                ee_val = me
            at_edge = np.where(one, me, np.where(nec > 1, ee_val, 1.0))
            return np.where(s.is_edge, at_edge, plain)
        if s.position == STEADY:
            return plain
        single = self.mapped_edge[input_var] if edge_unique else me
        multi = ue if ee else plain
        return np.where(one, single, np.where(nec > 1, multi, 1.0))
