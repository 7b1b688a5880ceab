"""One task of a co-search: its search space as genes, its networks' costs and their accuracy.

A controller sees a task as a vector of categorical genes (``GENE_OPTIONS`` of the space:
the six cell edges of NAS-Bench-201, the 28 block choices of the MnasNet space). This
module turns genes into what the loop needs, vectorized over many designs:

* the cost on a sub-accelerator config, from the cached per-(space, dataset, config)
  tables of :mod:`nasaic.costs` (no network is built during a search);
* the accuracy and which oracle gave it (a table, or the MnasNet surrogate);
* with ``table_only`` (MnasNet), a gene vector is first *snapped* to the tabulated network
  nearest in Hamming distance (ties: the lowest table row), so every controller can keep
  sampling genes while only tabulated networks are ever scored;
* the enumerable networks (all 15,625 NB201 cells; the MnasNet table's 5,125 distinct
  networks) for the exact optimum;
* the real ``hwsim.Network`` of one design, for reports and re-evaluation.
"""

from __future__ import annotations

import numpy as np

from hwsim.errors import SpecError

from .costs import SpaceCosts, space_costs
from .oracle import TableThenSurrogate, TabularOracle, make_oracle
from .space import mnasnet, nb201
from .spec import TaskSpec


class TaskSpace:
    """A task's genes, costs and accuracy (see the module doc)."""

    def __init__(self, task: TaskSpec, configs, *, reference_dir=None, cache_dir=None, oracle=None):
        self.spec = task
        self.name = task.name
        self.module = nb201 if task.space == "nb201" else mnasnet
        self.gene_options = tuple(self.module.GENE_OPTIONS)
        self.costs: SpaceCosts = space_costs(task.space, task.dataset, configs, batch=task.batch,
                                             bits=task.bits, cache_dir=cache_dir)
        self.table_only = task.space == "mnasnet" and task.table_only
        self.oracle = oracle if oracle is not None else make_oracle(task.space, task.dataset,
                                                                    table_only=task.space == "nb201" or self.table_only,
                                                                    reference_dir=reference_dir)
        self.enumerable_genes = self._enumerable(reference_dir)
        self._cache: dict[tuple, tuple[float, str]] = {}

    # -- the enumerable networks ----------------------------------------------------------
    def _enumerable(self, reference_dir) -> np.ndarray:
        if self.spec.space == "nb201":             # nb201.all_archs order: base-5 digits, first edge most significant
            return np.indices((len(nb201.OPS),) * 6).reshape(6, -1).T.astype(np.int64)
        keys = dict.fromkeys(mnasnet.table_keys(reference_dir))       # 5,125 distinct, table order
        return np.array([mnasnet.encode(k) for k in keys], dtype=np.int64)

    @property
    def enumerable_is_whole_space(self) -> bool:
        """True when the enumerable networks are the whole space the search samples."""
        return self.spec.space == "nb201" or self.table_only

    # -- genes ------------------------------------------------------------------------------
    def check_genes(self, genes) -> np.ndarray:
        genes = np.asarray(genes, dtype=np.int64)
        if genes.ndim != 2 or genes.shape[1] != len(self.gene_options):
            raise SpecError(f"task '{self.name}': genes of shape {genes.shape}: expected (n, {len(self.gene_options)})")
        bad = (genes < 0) | (genes >= np.array(self.gene_options))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise SpecError(f"task '{self.name}': gene {j} = {genes[i, j]}: expected 0..{self.gene_options[j] - 1}")
        return genes

    def snap(self, genes) -> np.ndarray:
        """The genes that are scored: unchanged, or (``table_only``) the nearest tabulated network."""
        genes = self.check_genes(genes)
        if not self.table_only:
            return genes
        table = self.enumerable_genes
        out = np.empty_like(genes)
        for start in range(0, len(genes), 512):                     # bounded (512 x 5,125) distance blocks
            block = genes[start:start + 512]
            dist = (block[:, None, :] != table[None, :, :]).sum(axis=2)
            out[start:start + 512] = table[dist.argmin(axis=1)]
        return out

    def arch(self, genes_row):
        """The architecture of one gene vector: an arch string (nb201) or a choice dict (mnasnet)."""
        decoded = self.module.decode(genes_row)
        return decoded if self.spec.space == "nb201" else mnasnet.as_dict(decoded)

    def arch_label(self, genes_row) -> str:
        """A compact, unique text form (the arch string, or the MnasNet network's name)."""
        if self.spec.space == "nb201":
            return nb201.decode(genes_row)
        return "-".join(f"e{e}k{k}l{l}{'s' if se else 'n'}" for e, k, l, se in
                        zip(*[iter(mnasnet.decode(genes_row))] * 4))

    def network(self, genes_row):
        """The ``hwsim.Network`` of one gene vector (as ``nasaic.space`` builds it)."""
        if self.spec.space == "nb201":
            return nb201.build(nb201.decode(genes_row), self.spec.dataset, self.spec.batch, self.spec.bits)
        return mnasnet.build(mnasnet.as_dict(mnasnet.decode(genes_row)), self.spec.batch, self.spec.bits)

    # -- accuracy ---------------------------------------------------------------------------
    def accuracy(self, genes) -> tuple[np.ndarray, list[str]]:
        """(accuracy in percent, the oracle source of each) of already-snapped genes. The
        oracle is asked once per distinct network (a batch repeats networks: retries, scans)."""
        genes = np.asarray(genes, dtype=np.int64).reshape(len(genes), -1)
        if len(genes) == 0:
            return np.empty(0), []
        distinct, inverse = np.unique(genes, axis=0, return_inverse=True)
        values, sources = np.empty(len(distinct)), []
        for j, row in enumerate(distinct):
            key = tuple(int(g) for g in row)
            if key not in self._cache:
                answer = self.oracle(self.module.decode(key))
                self._cache[key] = (float(answer.accuracy), str(answer.source))
            values[j], source = self._cache[key]
            sources.append(source)
        inverse = inverse.reshape(-1)
        return values[inverse], [sources[j] for j in inverse]

    def enumerable_accuracy(self) -> np.ndarray:
        """Accuracy of every enumerable network (from the table: exact); computed once."""
        cached = self.__dict__.get("_enumerable_accuracy")
        if cached is not None:
            return cached.copy()
        oracle = self.oracle
        if isinstance(oracle, TableThenSurrogate):
            oracle = oracle.table
        if not isinstance(oracle, TabularOracle):
            values = self.accuracy(self.enumerable_genes)[0]
        else:
            values = np.array([oracle(self.module.decode(g)).accuracy for g in self.enumerable_genes])
        self._enumerable_accuracy = values
        return values.copy()

    @property
    def oracle_source(self) -> str:
        return str(self.oracle.source)
