"""Accuracy oracles: exact lookups, clear errors for untabulated networks, caching, the
surrogate's cross-validated rank correlation, and the source on every answer."""

import math

import pytest

from hwsim.errors import SpecError
from nasaic import oracle
from nasaic.space import mnasnet, nb201

ARCH1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_nb201_tabular(reference):
    o = oracle.TabularOracle("nb201", "cifar10", reference)
    a = o(ARCH1)
    assert a == (93.66, "table:nb201/cifar10") and a.source == "table:nb201/cifar10"
    assert oracle.TabularOracle("nb201", "cifar100", reference)(ARCH1).accuracy == pytest.approx(70.2933)
    assert oracle.TabularOracle("nb201", "ImageNet16-120", reference)(ARCH1).accuracy == pytest.approx(44.0333)
    o(ARCH1)
    assert o.cache_size == 1
    with pytest.raises(SpecError, match="field 'arch'"):
        o("|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_mnasnet_tabular_and_missing(reference):
    o = oracle.TabularOracle("mnasnet", "imagenet", reference)
    table = mnasnet.table(reference)
    keys = mnasnet.table_keys(reference)
    single = next(i for i, k in enumerate(keys) if keys.count(k) == 1)
    assert o(table.iloc[single].to_dict()) == (pytest.approx(table["val_top1"].iloc[single]), "table:mnasnet/imagenet")
    # 13 networks are tabulated twice (row 0 has a twin): the mean answers
    assert len(set(keys)) == 5_125
    twins = [i for i, k in enumerate(keys) if k == keys[0]]
    assert len(twins) == 2
    assert o(keys[0]).accuracy == pytest.approx(table["val_top1"].iloc[twins].mean())
    keys = set(mnasnet.table_keys(reference))
    untabulated = next(c for c in mnasnet.sample(50, seed=0) if mnasnet.canonical(c) not in keys)
    with pytest.raises(SpecError, match="not in the mnasnet table"):
        o(untabulated)
    with pytest.raises(SpecError, match="field 'dataset' = 'cifar10'"):
        oracle.TabularOracle("mnasnet", "cifar10", reference)
    with pytest.raises(SpecError, match="field 'space' = 'darts'"):
        oracle.TabularOracle("darts", "cifar10", reference)


def test_callable_cached_and_checked():
    seen = []

    def trainer(arch):
        seen.append(arch)
        return 50.0 + len(arch) % 7

    o = oracle.CallableOracle("nb201", trainer)
    a = o(ARCH1)
    assert a.source == "callable:trainer" and o(ARCH1) == a and len(seen) == 1
    bad = oracle.CallableOracle("mnasnet", lambda c: math.nan, name="broken")
    with pytest.raises(SpecError, match="callable:broken"):
        bad(mnasnet.efficientnet_b0())


def test_surrogate_cv_and_sources(reference):
    s = oracle.SurrogateOracle(reference, folds=3, seed=0,
                               candidates=[oracle._Ridge("onehot", 10.0), oracle._Ridge("pairwise", 100.0)])
    assert s.chosen["model"] == "ridge-pairwise(alpha=100)"
    assert s.chosen["spearman"] > 0.98 and s.chosen["rmse"] < 0.6
    assert s.cv[0]["spearman"] < s.cv[1]["spearman"]
    combined = oracle.TableThenSurrogate(reference, surrogate=s)
    row = mnasnet.table(reference).iloc[3].to_dict()
    assert combined(row).source == "table:mnasnet/imagenet"
    other = next(c for c in mnasnet.sample(50, seed=1) if c not in combined.table)
    answer = combined(other)
    assert answer.source == "surrogate:mnasnet/ridge-pairwise(alpha=100)" and 30 < answer.accuracy < 80


def test_make_oracle_table_only(reference):
    assert isinstance(oracle.make_oracle("mnasnet", "imagenet", table_only=True, reference_dir=reference),
                      oracle.TabularOracle)
    assert isinstance(oracle.make_oracle("nb201", "cifar10", table_only=False, reference_dir=reference),
                      oracle.TabularOracle)


def test_missing_reference_dir(tmp_path):
    with pytest.raises(SpecError, match="field 'reference_dir'"):
        nb201.archs(tmp_path)
