"""Properties every template must satisfy, checked with hypothesis on random layers.

* more PEs (rows, cols, ...) never increase compute cycles;
* a GPU with twice the peak FLOP/s or twice the memory bandwidth is never slower;
* energy >= MACs x MAC energy;
* latency >= max(compute cycles, each level's traffic / its bandwidth);
* bytes moved at the outermost level >= compulsory traffic (each tensor once);
* utilization in (0, 1];
* the same inputs give identical outputs.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hwsim
from hwsim.dataflow import get_model
from hwsim.dataflow.base import LayerBatch
from hwsim.evaluate import _group_configs
from hwsim.workload import conv2d, depthwise_conv2d, matmul, pool2d

SIZE_PARAMS = ("pes", "rows", "cols")   # each adds PEs (eyeriss's pe_rows only reshapes them)
# A systolic array pays the skew of the *whole* physical array on every fold (SCALE-Sim
# and TPU v1 alike), so on a layer smaller than the array a bigger array is slower:
# monotonicity in PEs holds for the work mapped, which fill_drain="mapped" isolates.
MONOTONE_OVERRIDES = {"tpu": {"fill_drain": "mapped"}}
TEMPLATES = hwsim.template_names()
SIZED_TEMPLATES = [t for t in TEMPLATES if any(k in hwsim.load_template(t).params for k in SIZE_PARAMS)]
GPU_TEMPLATES = [t for t in TEMPLATES if hwsim.load_template(t).dataflow == "roofline"]


@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "matmul", "pool"]))
    bits = draw(st.sampled_from([8, 16, {"input": 8, "weight": 4, "output": 16},
                                 {"input": 16, "weight": 8, "output": 32}]))    # one width, or per tensor
    batch = draw(st.integers(1, 2))
    if kind == "matmul":
        return matmul("mm", draw(st.integers(1, 256)), draw(st.integers(1, 256)), draw(st.integers(1, 256)),
                      batch=batch, bits=bits)
    h = draw(st.integers(1, 40))
    r = draw(st.integers(1, min(h + 2, 7)))
    pad = draw(st.integers(max(0, (r - h + 1) // 2), 2))
    stride = draw(st.integers(1, 3))
    c = draw(st.integers(1, 48))
    if kind == "depthwise":
        return depthwise_conv2d("dw", c, (h, h), kernel=r, stride=stride, padding=pad, batch=batch, bits=bits)
    if kind == "pool":
        return pool2d("pool", c, (h, h), kernel=min(r, h), stride=stride, batch=batch, bits=bits)
    groups = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0]))
    k = groups * draw(st.integers(1, 32))
    return conv2d("conv", c, k, (h, h), kernel=r, stride=stride, padding=pad, groups=groups, batch=batch, bits=bits)


def costs_of(layer, accelerators):
    batch = LayerBatch.from_layers([layer])
    (indices, configs), = list(_group_configs(accelerators))
    return batch, configs, get_model(accelerators[0].dataflow).cost(batch, configs)


def scaled_variants(acc):
    """The template's default and, by name, versions with each size parameter doubled."""
    variants = {"base": acc}
    for key in SIZE_PARAMS:
        if key in acc.params and isinstance(acc.params[key], int) and acc.params[key] > 0:
            variants[f"2x {key}"] = acc.with_params(**{key: acc.params[key] * 2})
    return variants


@pytest.mark.parametrize("template", TEMPLATES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=layers())
def test_model_properties(template, layer):
    acc = hwsim.load_template(template)
    batch, configs, costs = costs_of(layer, [acc])
    latency = costs.latency_cycles
    assert np.all(np.isfinite(latency)) and np.all(latency > 0)
    assert np.all(latency >= costs.compute_cycles * (1 - 1e-12))
    for level in costs.levels:
        bound = costs.traffic_bytes[level.name] / level.bw_bytes_per_cycle
        assert np.all(latency >= bound * (1 - 1e-9)), level.name
    outer = costs.levels[-1].name
    assert np.all(costs.traffic_bytes[outer] >= batch.compulsory_bytes * (1 - 1e-9))
    assert np.all(costs.utilization > 0) and np.all(costs.utilization <= 1 + 1e-9)
    energy = sum(costs.energy_pj.values())
    if configs.technology is not None:
        assert np.all(energy >= batch.macs * configs.technology.mac_pj(batch.bits) * (1 - 1e-12))
    assert np.all(energy > 0)
    again = costs_of(layer, [acc])[2]
    np.testing.assert_array_equal(again.latency_cycles, latency)
    np.testing.assert_array_equal(sum(again.energy_pj.values()), energy)


def test_template_groups():
    # every template is either sized by PEs or a GPU roofline: none escapes both monotonicity tests
    assert set(SIZED_TEMPLATES) | set(GPU_TEMPLATES) == set(TEMPLATES)
    assert SIZED_TEMPLATES and GPU_TEMPLATES


@pytest.mark.parametrize("template", SIZED_TEMPLATES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=layers())
def test_more_pes_never_increase_compute_cycles(template, layer):
    variants = scaled_variants(hwsim.load_template(template, **MONOTONE_OVERRIDES.get(template, {})))
    assert len(variants) > 1, template
    cycles = costs_of(layer, list(variants.values()))[2].compute_cycles[:, 0]
    assert np.all(cycles[1:] <= cycles[0] * (1 + 1e-12)), dict(zip(variants, cycles))


@pytest.mark.parametrize("template", GPU_TEMPLATES)
@pytest.mark.parametrize("param", ["peak_fp16_flops_per_s", "mem_bw_bytes_per_s"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=layers())
def test_faster_gpu_never_increases_latency(template, param, layer):
    base = hwsim.load_template(template)
    doubled = base.with_params(**{param: base.params[param] * 2})
    latency = costs_of(layer, [base, doubled])[2].latency_cycles[:, 0]
    assert latency[1] <= latency[0] * (1 + 1e-12), (param, latency)
