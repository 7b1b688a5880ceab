"""evaluate()/evaluate_many() plumbing, tested with the toy model (tests/toymodels/toy.py)
so that failures here point at evaluate.py, not at a dataflow model."""

import importlib

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.workload import conv2d, eltwise, matmul


def small_net():
    a = conv2d("a", 3, 16, in_size=(8, 8), kernel=3, padding=1)
    b = conv2d("b", 16, 16, in_size=(8, 8), kernel=3, padding=1)
    c = conv2d("c", 16, 16, in_size=(8, 8), kernel=3, padding=1)   # same shape as b
    add = eltwise("add", 16, (8, 8))
    return hwsim.Network("small", [a, b, c, add], [("a", "b"), ("b", "c"), ("c", "add"), ("a", "add")])


def test_single_layer_matches_hand_computation(toy_template):
    acc = hwsim.load_template(toy_template)
    layer = matmul("mm", m=32, n=32, k=32)
    rep = hwsim.evaluate(layer, acc)
    row = rep.layers.iloc[0]
    macs = 32 ** 3
    assert row["macs"] == macs
    assert row["compute_cycles"] == macs / 16                      # 16 PEs, 1 MAC/PE/cycle
    assert row["latency_cycles"] == macs / 16 and row["bound"] == "compute"
    assert rep.total.latency_s == pytest.approx(row["latency_cycles"] / 1e9)
    assert rep.total.macs == macs
    # 64 PEs: compute 512 cycles, but 3 byte-accesses per MAC at 64 B/cycle take 1536
    row = hwsim.evaluate(layer, acc.with_params(pes=64)).layers.iloc[0]
    assert row["latency_cycles"] == pytest.approx(3 * macs / 64) and row["bound"] == "buf"


def test_columns_and_totals(toy_template):
    rep = hwsim.evaluate(small_net(), hwsim.load_template(toy_template))
    for col in ("layer", "op", "macs", "latency_cycles", "compute_cycles", "utilization", "energy_pj",
                "energy_buf_pj", "energy_dram_pj", "energy_mac_pj", "buf_accesses", "dram_accesses", "bound"):
        assert col in rep.layers.columns
    assert list(rep.layers["layer"]) == ["a", "b", "c", "add"]
    parts = rep.layers[[c for c in rep.layers if c.startswith("energy_") and c != "energy_pj"]].sum(axis=1)
    assert {"energy_noc_pj", "energy_leakage_pj"} <= set(rep.layers.columns)
    np.testing.assert_allclose(rep.layers["energy_pj"], parts)
    assert rep.total.energy_pj == pytest.approx(rep.layers["energy_pj"].sum())
    assert rep.total.latency_cycles == pytest.approx(rep.layers["latency_cycles"].sum())
    assert 0 < rep.total.utilization <= 1


def test_identical_layers_costed_once(toy_template, monkeypatch):
    from toymodels import toy as toy_dataflow
    seen = []
    original = toy_dataflow.activity
    monkeypatch.setattr(toy_dataflow, "activity",
                        lambda layers, cfg: seen.append(len(layers)) or original(layers, cfg))
    rep = hwsim.evaluate(small_net(), hwsim.load_template(toy_template))
    assert seen == [3]          # a, b (== c), add
    b, c = rep.layers.iloc[1], rep.layers.iloc[2]
    assert b["latency_cycles"] == c["latency_cycles"] and b["energy_pj"] == c["energy_pj"]


def test_evaluate_many_equals_evaluate_one_by_one(toy_template):
    base = hwsim.load_template(toy_template)
    accs = [base.with_params(pes=p, dram_bw_bytes_per_cycle=bw) for p in (4, 16, 64) for bw in (2, 32)]
    frame = hwsim.evaluate_many(small_net(), accs)
    assert len(frame) == len(accs) * 4
    for i, acc in enumerate(accs):
        one = hwsim.evaluate(small_net(), acc).layers
        got = frame[frame["config"] == i].drop(columns=["config", "template"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, one)


def test_deterministic(toy_template):
    acc = hwsim.load_template(toy_template)
    a = hwsim.evaluate(small_net(), acc).layers
    b = hwsim.evaluate(small_net(), acc).layers
    pd.testing.assert_frame_equal(a, b)


def test_empty_accelerator_list_is_an_error():
    with pytest.raises(hwsim.HwsimError, match="accelerators"):
        hwsim.evaluate_many(small_net(), [])


def test_bad_workload_type(toy_template):
    with pytest.raises(hwsim.HwsimError, match="workload"):
        hwsim.evaluate("resnet50", hwsim.load_template(toy_template))


def test_total_unit_views(toy_template):
    total = hwsim.evaluate(small_net(), hwsim.load_template(toy_template)).total
    assert total.latency_ms == pytest.approx(total.latency_s * 1e3)
    assert total.energy_uj == pytest.approx(total.energy_pj / 1e6)
    flat = total.as_dict()
    assert flat["energy_pj"] == pytest.approx(sum(v for k, v in flat.items() if k.startswith("energy_") and k != "energy_pj"))


# -- feasibility, totals, mixed frames -------------------------------------------

def net_with_a_huge_layer():
    a = conv2d("a", 16, 16, in_size=(8, 8), kernel=3, padding=1)
    huge = matmul("huge", m=4, n=2**17, k=4)          # more output channels than the toy maps
    return hwsim.Network.sequential("n", [a, huge], check_shapes=False)


def test_unmappable_point_is_a_row_not_an_abort(toy_template):
    acc = hwsim.load_template(toy_template)
    frame = hwsim.evaluate_many(net_with_a_huge_layer(), [acc, acc.with_params(pes=64)])
    assert len(frame) == 4
    bad = frame[frame["layer"] == "huge"]
    assert not bad["feasible"].any() and np.isinf(bad["latency_cycles"]).all()
    assert bad["energy_pj"].isna().all() and (bad["bound"] == "infeasible").all()
    assert bad["error"].str.contains("layer 'huge': field 'k' = 131072").all()
    good = frame[frame["layer"] == "a"]
    assert good["feasible"].all() and np.isfinite(good["energy_pj"]).all() and (good["error"] == "").all()
    totals = hwsim.evaluate_many(net_with_a_huge_layer(), [acc], per_layer=False).iloc[0]
    assert not totals["feasible"] and np.isinf(totals["latency_cycles"]) and np.isnan(totals["energy_pj"])
    assert "layer 'huge'" in totals["error"]


def test_evaluate_of_one_config_raises(toy_template):
    with pytest.raises(hwsim.MappingError, match="layer 'huge': field 'k'"):
        hwsim.evaluate(net_with_a_huge_layer(), hwsim.load_template(toy_template))


def test_totals_path_equals_per_layer_sums(toy_template):
    base = hwsim.load_template(toy_template)
    accs = [base.with_params(pes=p, dram_bw_bytes_per_cycle=bw) for p in (4, 16, 64) for bw in (2, 32)]
    rows = hwsim.evaluate_many(small_net(), accs)
    totals = hwsim.evaluate_many(small_net(), accs, per_layer=False)
    assert list(totals["config"]) == list(range(len(accs))) and totals["feasible"].all()
    sums = rows.groupby("config")[["latency_cycles", "latency_s", "energy_pj", "energy_dram_pj"]].sum()
    for col in sums.columns:
        np.testing.assert_allclose(totals[col].to_numpy(), sums[col].to_numpy(), rtol=1e-12)
    for i, acc in enumerate(accs):
        t = hwsim.evaluate(small_net(), acc).total
        assert totals["utilization"].iloc[i] == pytest.approx(t.utilization)
        assert totals["area_mm2"].iloc[i] == pytest.approx(t.area_mm2)


def test_totals_path_in_chunks_equals_one_batch(toy_template, monkeypatch):
    ev = importlib.import_module("hwsim.evaluate")   # the module, not the function hwsim.evaluate
    base = hwsim.load_template(toy_template)
    accs = [base.with_params(pes=p) for p in range(1, 40)]
    whole = hwsim.evaluate_many(small_net(), accs, per_layer=False)
    monkeypatch.setattr(ev, "TOTALS_CHUNK_CONFIGS", 7)
    pd.testing.assert_frame_equal(hwsim.evaluate_many(small_net(), accs, per_layer=False), whole)


def test_mixed_template_frame_has_zeros_for_absent_levels(toy_template):
    accs = [hwsim.load_template(toy_template), hwsim.load_template("a100")]
    frame = hwsim.evaluate_many(small_net(), accs)
    gpu = frame[frame["template"] == "a100"]
    assert (gpu["buf_accesses"] == 0).all() and (gpu["energy_buf_pj"] == 0).all()
    assert not frame.drop(columns=["error"]).isna().any().any()


def test_vector_layers_have_busy_fraction_not_mac_utilization(toy_template):
    rows = hwsim.evaluate(small_net(), hwsim.load_template(toy_template)).layers
    add = rows[rows["op"] != "conv2d"].iloc[0]
    assert add["utilization"] == 0 and 0 < add["busy_fraction"] <= 1
    assert (rows.loc[rows["op"] == "conv2d", "utilization"] > 0).all()
