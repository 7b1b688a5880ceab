"""Accuracy oracles: every answer says which oracle produced it.

* :class:`TabularOracle` -- exact lookup in a benchmark table (NAS-Bench-201 by arch
  string, Accel-NASBench by block choices); an architecture the table lacks is a
  SpecError, never a guess.
* :class:`CallableOracle` -- the user's function (their own training or predictor).
* :class:`SurrogateOracle` -- for the MnasNet space (10^11 networks, 5,138 tabulated): a
  numpy-only predictor fitted on the table, chosen by seeded K-fold cross-validated
  Spearman rank correlation among ridge regressions (one-hot block choices, plus pairwise
  products of the numeric choices and log-MACs) and k-nearest-neighbour (Hamming) models.
* :class:`TableThenSurrogate` -- the table where it has the network, else the surrogate.

All are cached (one computation per distinct architecture) and return :class:`Answer`
``(accuracy, source)``; ``accuracy`` in percent.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from hwsim.errors import SpecError

from .space import mnasnet, nb201

SPACES = ("nb201", "mnasnet")


class Answer(NamedTuple):
    accuracy: float     # percent
    source: str         # e.g. "table:nb201/cifar10", "surrogate:mnasnet/ridge-pairwise(alpha=10)"


def _space(space) -> str:
    if space not in SPACES:
        raise SpecError(f"field 'space' = {space!r}: expected one of {', '.join(SPACES)}")
    return space


def arch_key(space: str, arch):
    """A hashable canonical key: the arch string (nb201) or the 28-tuple of choices (mnasnet)."""
    if _space(space) == "nb201":
        return nb201.arch_string(nb201.parse(arch))
    return mnasnet.canonical(arch)


class _Cached:
    space: str
    source: str

    def __init__(self):
        self._cache: dict = {}

    def __call__(self, arch) -> Answer:
        key = arch_key(self.space, arch)
        if key not in self._cache:
            self._cache[key] = self._answer(key)
        return self._cache[key]

    def _answer(self, key) -> Answer:      # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def cache_size(self) -> int:
        return len(self._cache)


class TabularOracle(_Cached):
    """Exact lookup. ``dataset``: cifar10 / cifar100 / imagenet16_120 (nb201, ``*_test_acc``)
    or imagenet (mnasnet, ``val_top1``; a network tabulated twice answers the mean)."""

    def __init__(self, space: str, dataset: str, reference_dir=None):
        super().__init__()
        self.space = _space(space)
        if space == "nb201":
            self.dataset = nb201.dataset_name(dataset)
            frame = nb201.table(reference_dir)
            self._table = dict(zip(frame["arch_str"], frame[f"{self.dataset}_test_acc"].astype(float)))
        else:
            if str(dataset).lower() not in mnasnet.DATASETS:
                raise SpecError(f"field 'dataset' = {dataset!r}: the mnasnet space has only 'imagenet'")
            self.dataset = "imagenet"
            frame = mnasnet.table(reference_dir)
            # 13 networks were trained twice (5,138 rows, 5,125 distinct networks): their mean
            sums: dict = {}
            for key, acc in zip(mnasnet.table_keys(reference_dir), frame["val_top1"].astype(float)):
                sums.setdefault(key, []).append(acc)
            self._table = {key: float(np.mean(v)) for key, v in sums.items()}
        self.source = f"table:{self.space}/{self.dataset}"

    def __contains__(self, arch) -> bool:
        return arch_key(self.space, arch) in self._table

    def keys(self) -> list:
        return list(self._table)

    def _answer(self, key) -> Answer:
        if key not in self._table:
            shown = key if self.space == "nb201" else mnasnet.as_dict(key)
            raise SpecError(f"field 'arch' = {shown!r}: not in the {self.space} table for {self.dataset}; "
                            "use a surrogate or callable oracle for untabulated networks")
        return Answer(self._table[key], self.source)


class CallableOracle(_Cached):
    """``fn(arch) -> accuracy`` (percent, finite); ``arch`` is the canonical arch string
    (nb201) or the choice dict (mnasnet)."""

    def __init__(self, space: str, fn: Callable, name: str | None = None):
        super().__init__()
        self.space = _space(space)
        if not callable(fn):
            raise SpecError(f"field 'oracle' = {fn!r}: expected a callable")
        self.fn = fn
        self.source = f"callable:{name or getattr(fn, '__name__', type(fn).__name__)}"
        self.calls = 0

    def _answer(self, key) -> Answer:
        self.calls += 1
        value = self.fn(key if self.space == "nb201" else mnasnet.as_dict(key))
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise SpecError(f"field 'oracle' = {self.source}: returned {value!r} for {key!r}; expected a finite number")
        return Answer(value, self.source)


# -- the MnasNet surrogate ------------------------------------------------------------------------

def _onehot(keys: list[tuple]) -> np.ndarray:
    cols = []
    for b in range(mnasnet.BLOCKS):
        for f_i, f in enumerate(mnasnet.FIELDS):
            values = np.array([k[4 * b + f_i] for k in keys], dtype=float)
            for option in mnasnet.CHOICES[b][f][1:]:          # first option is the baseline
                cols.append(values == float(option))
    return np.column_stack(cols).astype(float)


def _numeric(keys: list[tuple]) -> np.ndarray:
    raw = np.array([[float(v) for v in k] for k in keys])
    logm = np.log([mnasnet.macs(k) for k in keys])[:, None]
    return np.column_stack([raw, logm])


def features(keys: list[tuple], kind: str) -> np.ndarray:
    """Design matrix: ``onehot`` = one-hot block choices (first option of each the baseline)
    + log-MACs; ``pairwise`` adds the 28 numeric choices, log-MACs and all their pairwise
    products (the interactions between blocks)."""
    onehot = _onehot(keys)
    num = _numeric(keys)
    if kind == "onehot":
        return np.column_stack([onehot, num[:, -1:]])
    num = num - _CENTRE                       # centred so products stay well conditioned
    i, j = np.triu_indices(num.shape[1])
    return np.column_stack([onehot, num, num[:, i] * num[:, j]])


#: centre of the numeric features: mid-range of every choice, and log of 370 M MACs
_CENTRE = np.array([v for b in range(mnasnet.BLOCKS) for v in (3.5, 4.0, 2.5 if b != 5 else 2.5, 0.5)]
                   + [math.log(370e6)])


def spearman(a, b) -> float:
    """Spearman rank correlation (average ranks for ties), numpy + pandas only."""
    import pandas as pd

    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


class _Ridge:
    """Ridge regression on standardized ``features(keys, kind)``."""

    def __init__(self, kind: str, alpha: float):
        self.kind, self.alpha = kind, alpha

    @property
    def name(self):
        return f"ridge-{self.kind}(alpha={self.alpha:g})"

    def design(self, keys):
        return features(keys, self.kind)

    def fit_design(self, X, y):
        self.mu, self.sd = X.mean(axis=0), X.std(axis=0) + 1e-12
        Z = (X - self.mu) / self.sd
        self.y0 = float(np.mean(y))
        self.w = np.linalg.solve(Z.T @ Z + self.alpha * np.eye(Z.shape[1]), Z.T @ (y - self.y0))
        return self

    def predict_design(self, X):
        return ((X - self.mu) / self.sd) @ self.w + self.y0

    def fit(self, keys, y):
        return self.fit_design(self.design(keys), np.asarray(y, float))

    def predict(self, keys):
        return self.predict_design(self.design(keys))


class _KNN:
    """Mean accuracy of the k table networks nearest in Hamming distance over the 28 choices."""

    def __init__(self, k: int):
        self.k = k

    @property
    def name(self):
        return f"knn-hamming(k={self.k})"

    def design(self, keys):
        return np.array(keys, dtype=float)

    def fit_design(self, X, y):
        self.X, self.y = X, np.asarray(y, float)
        return self

    def predict_design(self, Q):
        out = np.empty(len(Q))
        for start in range(0, len(Q), 256):
            d = (Q[start:start + 256, None, :] != self.X[None, :, :]).sum(axis=2)
            idx = np.argpartition(d, self.k - 1, axis=1)[:, :self.k]
            out[start:start + 256] = self.y[idx].mean(axis=1)
        return out

    def fit(self, keys, y):
        return self.fit_design(self.design(keys), y)

    def predict(self, keys):
        return self.predict_design(self.design(keys))


CANDIDATES = ([_Ridge("onehot", a) for a in (1.0, 10.0, 100.0)]
              + [_Ridge("pairwise", a) for a in (1.0, 10.0, 100.0, 1000.0)]
              + [_KNN(k) for k in (5, 20)])


def cross_validate(model, keys, y, folds: int = 5, seed: int = 0, design=None) -> dict:
    """Seeded K-fold CV: mean (and std) Spearman and pooled RMSE (percentage points)."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise SpecError(f"field 'folds' = {folds!r}: expected an integer >= 2")
    X = model.design(keys) if design is None else design
    y = np.asarray(y, float)
    order = np.random.default_rng(seed).permutation(len(keys))
    rhos, sq = [], []
    for f in range(folds):
        test = order[f::folds]
        train = np.sort(np.setdiff1d(order, test))
        pred = model.fit_design(X[train], y[train]).predict_design(X[test])
        rhos.append(spearman(pred, y[test]))
        sq.append((pred - y[test]) ** 2)
    return {"model": model.name, "spearman": float(np.mean(rhos)), "spearman_std": float(np.std(rhos)),
            "rmse": float(np.sqrt(np.mean(np.concatenate(sq)))), "folds": folds, "seed": seed}


def _cached_cv(keys, y, candidates, folds, seed, cache_dir, compute) -> list[dict]:
    """The candidates' cross-validation results, computed once and kept as JSON beside the
    cost tables (keyed by the table's data, the candidates, folds, seed and this module's
    source), since CV is most of a surrogate's set-up time and is deterministic."""
    import hashlib
    import json
    from pathlib import Path

    from .costs import cache_folder
    folder = cache_folder(cache_dir)
    text = json.dumps([[list(map(str, k)) for k in keys], list(map(float, y)), [m.name for m in candidates],
                       folds, seed, Path(__file__).read_text()])
    path = None if folder is None else folder / f"surrogate-cv-{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"
    if path is not None and path.is_file():
        try:
            cv = json.loads(path.read_text())
            if isinstance(cv, list) and len(cv) == len(candidates):
                return cv
        except (OSError, ValueError):
            pass                            # unreadable: computed again and rewritten
    cv = compute()
    if path is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cv))
            tmp.replace(path)
        except OSError:
            pass                            # a cache that cannot be written costs only time
    return cv


class SurrogateOracle(_Cached):
    """A numpy-only accuracy predictor for the MnasNet space, fitted on the whole table
    after picking the candidate with the best seeded K-fold CV Spearman (``self.cv`` holds
    every candidate's CV numbers, ``self.chosen`` the winner's)."""

    def __init__(self, reference_dir=None, folds: int = 5, seed: int = 0, candidates=None, cache_dir=None):
        super().__init__()
        self.space = "mnasnet"
        keys = mnasnet.table_keys(reference_dir)
        y = mnasnet.table(reference_dir)["val_top1"].to_numpy(float)
        candidates = CANDIDATES if candidates is None else candidates
        designs: dict = {}

        def design(m):
            kind = getattr(m, "kind", type(m).__name__)
            if kind not in designs:
                designs[kind] = m.design(keys)
            return designs[kind]

        self.cv = _cached_cv(keys, y, candidates, folds, seed, cache_dir,
                             lambda: [cross_validate(m, keys, y, folds, seed, design(m)) for m in candidates])
        best = max(range(len(candidates)), key=lambda i: self.cv[i]["spearman"])
        self.chosen = self.cv[best]
        model = candidates[best]
        self.model = model.fit_design(design(model), y)
        self.source = f"surrogate:mnasnet/{self.model.name}"

    def predict_many(self, archs) -> np.ndarray:
        return self.model.predict([mnasnet.canonical(a) for a in archs])

    def _answer(self, key) -> Answer:
        return Answer(float(self.model.predict([key])[0]), self.source)


class TableThenSurrogate(_Cached):
    """The table's accuracy where it has the network, else the surrogate's (the source says which)."""

    def __init__(self, reference_dir=None, surrogate: SurrogateOracle | None = None, **kwargs):
        super().__init__()
        self.space = "mnasnet"
        self.table = TabularOracle("mnasnet", "imagenet", reference_dir)
        self.surrogate = surrogate or SurrogateOracle(reference_dir, **kwargs)
        self.source = f"{self.table.source}|{self.surrogate.source}"

    def _answer(self, key) -> Answer:
        return self.table(key) if key in self.table else self.surrogate(key)


def make_oracle(space: str, dataset: str, table_only: bool = True, reference_dir=None, **kwargs):
    """The oracle a spec asks for: NAS-Bench-201 is fully tabulated (always the table); the
    MnasNet space is the table alone with ``table_only`` (sample with
    ``mnasnet.sample(..., table_only=True)``), else table-then-surrogate."""
    if _space(space) == "nb201" or table_only:
        return TabularOracle(space, dataset, reference_dir)
    if str(dataset).lower() not in mnasnet.DATASETS:
        raise SpecError(f"field 'dataset' = {dataset!r}: the mnasnet space has only 'imagenet'")
    return TableThenSurrogate(reference_dir, **kwargs)
