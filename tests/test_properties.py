"""Trends every physical template must follow, on layers and networks big enough to
exercise its tiling (a search ranks designs by these trends, so they are part of
the model; DESIGN.md "Trends are part of the model"):

* latency (per layer and per network) is non-increasing in PEs, every buffer size
  and every bandwidth;
* area is non-decreasing in every size parameter;
* energy at fixed work grows with runtime (leakage);
* an on-chip access costs less than a DRAM access, at every level;
* a layer never keeps more PEs busy than it has PEs or MACs;
* DRAM moves at least each tensor once; MAC utilization is at most 1.

Documented exceptions: a systolic array pays its whole-array skew on every fold
(SCALE-Sim, TPU v1), so rows/cols are checked with ``fill_drain: mapped``; peer
emulations (``maestro_*``) reproduce another tool's accounting, which is not
monotone; GPUs have their own test below.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hwsim

TEMPLATES = hwsim.template_names()
GPU_TEMPLATES = [t for t in TEMPLATES if hwsim.load_template(t).dataflow in ("roofline", "gpu_kernels")]
EMULATIONS = [t for t in TEMPLATES if hwsim.load_template(t).dataflow.startswith("maestro")]
PHYSICAL = [t for t in TEMPLATES if t not in GPU_TEMPLATES and t not in EMULATIONS]
OVERRIDES = {"tpu": {"fill_drain": "mapped"}}
NETWORKS = ("resnet50", "mobilenet_v2", "vgg16")


def sized_params(acc):
    """The parameters that add hardware: PEs, array edges, buffers, bandwidths
    (not reshapes such as pe_rows, nor zero 'derive from l1_bytes' defaults)."""
    out = []
    for key, value in acc.params.items():
        if isinstance(value, str) or value <= 0:
            continue
        if key in ("pes", "rows", "cols") or key.endswith(("_bytes", "_bw_bytes_per_cycle", "_spad_words")):
            out.append(key)
    return out


def sweep(acc, key, steps=6):
    """``key`` doubled ``steps`` times, from a quarter of the default (PEs: 64 ..
    16384; the global buffer: 8 KiB .. 64 MiB)."""
    default = acc.params[key]
    if key == "pes":
        values = [64 * 2 ** i for i in range(9)]
    elif key == "l2_bytes":
        values = [8192 * 2 ** i for i in range(14)]
    else:
        start = default / 4
        values = [start * 2 ** i for i in range(steps)]
    kind = type(default)
    return [acc.with_params(**{key: kind(v) if kind is float else max(1, int(v))}) for v in values]


def non_increasing(values, rel=1e-9):
    values = np.asarray(values, dtype=float)
    return np.all(values[1:] <= values[:-1] * (1 + rel))


def template(name):
    return hwsim.load_template(name, **OVERRIDES.get(name, {}))


CASES = [(t, k) for t in PHYSICAL for k in sized_params(template(t))]


def test_every_physical_template_has_trend_cases():
    assert {t for t, _ in CASES} == set(PHYSICAL) and len(PHYSICAL) >= 5


@pytest.mark.parametrize("name,key", CASES)
@pytest.mark.parametrize("network", NETWORKS)
def test_latency_non_increasing_in_size_and_bandwidth(name, key, network):
    accs = sweep(template(name), key)
    net = hwsim.zoo.get_network(network)
    frame = hwsim.evaluate_many(net, accs)
    per_layer = frame.pivot(index="config", columns="layer_index", values="latency_cycles").to_numpy()
    worse = [(i, net.layers[j].name) for j in range(per_layer.shape[1]) for i in range(len(accs) - 1)
             if per_layer[i + 1, j] > per_layer[i, j] * (1 + 1e-9)]
    assert not worse, f"{name} {key}: latency rises at (step, layer) {worse[:5]}"
    totals = frame.groupby("config")["latency_cycles"].sum().to_numpy()
    assert non_increasing(totals), (name, key, totals)
    assert frame["feasible"].iloc[-len(net.layers):].all(), "the largest point must map"


@pytest.mark.parametrize("name,key", CASES)
def test_area_non_decreasing_in_size(name, key):
    accs = sweep(template(name), key)
    layer = hwsim.workload.conv2d("c", 64, 64, (56, 56), kernel=3, padding=1)
    area = hwsim.evaluate_many(layer, accs)["area_mm2"].to_numpy()
    assert np.all(np.diff(area) >= -1e-12 * area[:-1]), (name, key, area)


@pytest.mark.parametrize("name", PHYSICAL)
def test_energy_at_fixed_work_grows_with_runtime(name):
    """Same cycles and accesses at half the clock: twice the seconds, so more leakage."""
    acc = template(name)
    net = hwsim.zoo.get_network("resnet18")
    frame = hwsim.evaluate_many(net, [acc, acc.with_params(clock_hz=acc["clock_hz"] / 2)], per_layer=False)
    fast, slow = frame.iloc[0], frame.iloc[1]
    assert slow["latency_cycles"] == pytest.approx(fast["latency_cycles"])
    assert slow["latency_s"] == pytest.approx(2 * fast["latency_s"])
    assert slow["energy_pj"] > fast["energy_pj"] and slow["energy_leakage_pj"] == pytest.approx(
        2 * fast["energy_leakage_pj"])


@pytest.mark.parametrize("name", PHYSICAL)
@pytest.mark.parametrize("scale", [1, 64])
def test_on_chip_access_cheaper_than_dram(name, scale):
    """Per word (16-bit layers), every on-chip level costs less than DRAM, also with
    every buffer 64x larger."""
    acc = template(name)
    big = {k: acc[k] * scale for k in acc.params if k.endswith("_bytes") and acc[k] > 0}
    acc = acc.with_params(**big)
    rows = hwsim.evaluate_many(hwsim.zoo.get_network("resnet18", bits=16), [acc])
    dram = rows["energy_dram_pj"].sum() / rows["dram_accesses"].sum()
    levels = [c[:-len("_accesses")] for c in rows.columns if c.endswith("_accesses") and c != "dram_accesses"]
    assert levels
    for level in levels:
        used = rows[f"{level}_accesses"] > 0
        if used.any():
            per_access = rows.loc[used, f"energy_{level}_pj"].sum() / rows.loc[used, f"{level}_accesses"].sum()
            assert per_access < dram, (name, level, per_access, dram)


@pytest.mark.parametrize("name", PHYSICAL)
def test_busy_pes_within_pes_and_macs(name):
    acc = template(name)
    pes = acc.params.get("pes") or acc["rows"] * acc["cols"]
    for network in ("resnet50", "mobilenet_v2"):
        rows = hwsim.evaluate_many(hwsim.zoo.get_network(network), [acc, acc.with_params(
            **({"pes": 2 ** 20} if "pes" in acc.params else {"rows": 1024, "cols": 1024}))])
        for col in ("active_pes", "peak_active_pes"):
            if col in rows:
                limit = rows["peak_macs_per_cycle"]
                assert (rows[col] <= limit * (1 + 1e-12)).all(), (name, col)
                mac = rows["macs"] > 0
                assert (rows.loc[mac, col] <= rows.loc[mac, "macs"]).all(), (name, col)
    assert pes > 0


# -- random layers -------------------------------------------------------------

@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "matmul", "pool"]))
    bits = draw(st.sampled_from([8, 16, {"input": 8, "weight": 4, "output": 16},
                                 {"input": 16, "weight": 8, "output": 32}]))    # one width, or per tensor
    batch = draw(st.integers(1, 4))
    if kind == "matmul":
        return hwsim.workload.matmul("mm", draw(st.integers(1, 4096)), draw(st.integers(1, 4096)),
                                     draw(st.integers(1, 4096)), batch=batch, bits=bits)
    h = draw(st.integers(1, 112))
    r = draw(st.integers(1, min(h + 2, 7)))
    pad = draw(st.integers(max(0, (r - h + 1) // 2), 2))
    stride = draw(st.integers(1, 3))
    c = draw(st.integers(1, 512))
    if kind == "depthwise":
        return hwsim.workload.depthwise_conv2d("dw", c, (h, h), kernel=r, stride=stride, padding=pad,
                                               batch=batch, bits=bits)
    if kind == "pool":
        return hwsim.workload.pool2d("pool", c, (h, h), kernel=min(r, h), stride=stride, batch=batch, bits=bits)
    groups = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0]))
    k = groups * draw(st.integers(1, 256))
    return hwsim.workload.conv2d("conv", c, k, (h, h), kernel=r, stride=stride, padding=pad, groups=groups,
                                 batch=batch, bits=bits)


@pytest.mark.parametrize("name", PHYSICAL)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=layers(), which=st.integers(0, 100))
def test_random_layer_trends(name, layer, which):
    """Doubling one sized parameter of the default never slows a random layer, its
    DRAM traffic covers every tensor once, and its MAC utilization is at most 1."""
    acc = template(name)
    keys = sized_params(acc)
    key = keys[which % len(keys)]
    value = acc[key]
    accs = [acc, acc.with_params(**{key: value * 2})]
    rows = hwsim.evaluate_many(layer, accs)
    if not rows["feasible"].iloc[0]:
        assert rows["error"].iloc[0] and np.isinf(rows["latency_cycles"].iloc[0])
        return
    assert rows["feasible"].iloc[1], rows["error"].iloc[1]
    lat = rows["latency_cycles"].to_numpy()
    assert lat[1] <= lat[0] * (1 + 1e-9), (key, lat)
    batch = hwsim.dataflow.base.LayerBatch.from_layers([layer])
    assert (rows["dram_bytes"] >= batch.compulsory_bytes[0, 0] * (1 - 1e-9)).all()
    assert (rows["utilization"] <= 1 + 1e-9).all() and (rows["utilization"] >= 0).all()


@pytest.mark.parametrize("name", GPU_TEMPLATES)
@pytest.mark.parametrize("param", ["peak_fp16_flops_per_s", "mem_bw_bytes_per_s"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=layers())
def test_faster_gpu_never_increases_latency(name, param, layer):
    base = hwsim.load_template(name)
    doubled = base.with_params(**{param: base.params[param] * 2})
    latency = hwsim.evaluate_many(layer, [base, doubled])["latency_cycles"].to_numpy()
    assert latency[1] <= latency[0] * (1 + 1e-12), (param, latency)


@pytest.mark.parametrize("name", PHYSICAL)
def test_every_zoo_network_maps_at_batch_1_to_256(name):
    """Issue 5 item 3: on every physical ASIC template's defaults, every zoo network maps
    at batch 1-256, and so does a NeRF-sized MLP (2**24 samples x 32 -> 64)."""
    acc = hwsim.load_template(name)
    for network in hwsim.zoo.network_names():
        for batch in (1, 32, 256):
            row = hwsim.evaluate_many(hwsim.zoo.get_network(network, batch=batch), [acc], per_layer=False).iloc[0]
            assert row["feasible"], (network, batch, row["error"])
    mlp = hwsim.evaluate_many(hwsim.workload.matmul("mlp", 2**24, 64, 32), [acc], per_layer=False).iloc[0]
    assert mlp["feasible"], mlp["error"]
