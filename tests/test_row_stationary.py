"""Unit tests of the row-stationary model (hwsim/dataflow/row_stationary.py)."""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import row_stationary as rs
from hwsim.errors import MappingError, TemplateError
from hwsim.workload import conv2d, depthwise_conv2d, eltwise, matmul, pool2d

LAYERS = [
    conv2d("alex1", 3, 96, 227, 11, 4, batch=2, bits=16),
    conv2d("alex2", 96, 256, 27, 5, 1, 2, groups=2, bits=16),
    conv2d("c3x3", 64, 64, 56, 3, 1, 1),
    conv2d("c1x1", 256, 64, 14, 1),
    conv2d("wide_s", 16, 32, 32, (3, 15), 1, (1, 7)),         # S > ifmap spad: filter row split
    depthwise_conv2d("dw", 32, 28, 3, 1, 1),
    matmul("fc", 4, 1000, 2048),
    pool2d("pool", 64, 56, 3, 2),
    eltwise("add", 64, 28),
]


def run(template, layers=LAYERS, **params):
    return hwsim.evaluate(layers, hwsim.load_template(template, **params)).layers


def test_fold_and_replicate_reproduces_eyeriss_sets():
    # JSSC 2017: CONV1 11x55 -> 11x14 strips, CONV2 5x27 -> 14 + 13 stacked, CONV3 3x13 x 4 sets.
    fold_h, fold_w, sets, active = rs.fold_and_replicate(np.array([11, 5, 3]), np.array([55, 27, 13]), 12, 14)
    assert active.tolist() == [154, 135, 156]
    assert fold_w.tolist() == [4, 1, 1] and sets.tolist() == [1, 1, 4] and fold_h.tolist() == [1, 1, 1]


def test_fold_height_when_filter_taller_than_array():
    fold_h, _, _, active = rs.fold_and_replicate(np.array([11]), np.array([5]), 4, 8)
    assert fold_h.tolist() == [3] and active.tolist() == [4 * 5]


def test_loop_time_counts_the_short_last_pass():
    steps, passes = rs.loop_time(np.array([96]), np.array([20]), np.array([1]))
    assert passes.tolist() == [5] and steps.tolist() == [96]
    steps, passes = rs.loop_time(np.array([10]), np.array([4]), np.array([2]))
    assert passes.tolist() == [2] and steps.tolist() == [4 + 1]


@pytest.mark.parametrize("template", ["rs", "eyeriss"])
def test_contract_properties(template):
    df = run(template)
    acc = hwsim.load_template(template)
    assert np.isfinite(df.select_dtypes("number").to_numpy()).all()
    assert ((df["utilization"] > 0) & (df["utilization"] <= 1)).all()
    assert (df["latency_cycles"] >= df["compute_cycles"]).all()
    assert (df["latency_cycles"] >= df["dram_bytes"] / acc["dram_bw_bytes_per_cycle"] - 1e-6).all()
    assert (df["latency_cycles"] >= df["l2_bytes"] / acc["noc_bw_bytes_per_cycle"] - 1e-6).all()
    compulsory = [l.compulsory_bytes for l in LAYERS]
    assert (df["dram_bytes"].to_numpy() >= np.asarray(compulsory) - 1e-6).all()
    tech = acc.technology
    mac_pj = np.array([tech.mac_pj(l.bits) * l.macs for l in LAYERS])
    assert (df["energy_pj"].to_numpy() >= mac_pj).all()
    assert df.equals(run(template))                                     # deterministic


@pytest.mark.parametrize("template", ["rs", "eyeriss"])
def test_more_pes_never_add_compute_cycles(template):
    base = hwsim.load_template(template)
    accs = [base.with_params(pes=n) for n in range(12, 400, 7)]
    df = hwsim.evaluate_many(LAYERS, accs)
    cycles = df.pivot(index="config", columns="layer_index", values="compute_cycles").to_numpy()
    assert (np.diff(cycles, axis=0) <= 1e-9).all()


def test_rs_uses_columns_of_r_pes_and_eyeriss_its_12_rows():
    df = run("rs", pes=256)
    row = df.set_index("layer")
    assert row.loc["c1x1", "array_rows"] in (1, 2, 4, 8)
    assert row.loc["c3x3", "array_rows"] % 3 == 0
    assert (run("eyeriss")["array_rows"][:7] == 12).all()


def test_vector_layers_use_vector_cycles():
    df = run("rs", pes=64).set_index("layer")
    assert df.loc["add", "compute_cycles"] == np.ceil(LAYERS[-1].vector_ops / 64)
    assert df.loc["add", "active_pes"] == 0


def test_spad_words_from_l1_bytes():
    # 520 B at 16 bits = 260 words, split 224:12:24
    derived = hwsim.load_template("eyeriss", filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    explicit = hwsim.load_template("eyeriss")
    sixteen = LAYERS[:2]                                                # words are of the layer's bits
    a = run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    b = run("eyeriss", sixteen)
    assert derived != explicit and a.equals(b)
    # half the scratchpad -> smaller blocks of filters per PE: never faster
    assert (run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0, l1_bytes=260)
            ["compute_cycles"] >= b["compute_cycles"]).all()


def test_too_small_l1_is_a_mapping_error():
    with pytest.raises(MappingError, match="l1_bytes|spad"):
        run("rs", l1_bytes=8)


def test_fewer_pes_than_rows_is_a_mapping_error():
    with pytest.raises(MappingError, match="'pes'"):
        run("eyeriss", pes=8)


def test_bad_parameter_is_a_template_error():
    with pytest.raises(TemplateError, match="pe_rows"):
        hwsim.load_template("eyeriss", pe_rows=-1)


def test_energy_levels_and_area_models():
    df = run("eyeriss")
    for level in ("mac", "l1", "l2", "noc", "dram", "leakage"):
        assert f"energy_{level}_pj" in df
    default = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs")).total.area_mm2
    maestro = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs", area_model="maestro2020")).total.area_mm2
    assert default > 0 and maestro > 0 and default != maestro
