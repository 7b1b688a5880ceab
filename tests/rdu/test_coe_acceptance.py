"""The issue's two CoE acceptance checks on the shipped systems (the helper-level unit
tests of the simulator are in test_coe.py)."""

import pytest

from hwsim.rdu.coe import Workload, closed_form, simulate
from hwsim.rdu.systems import serving_system


@pytest.mark.parametrize("name", ["sn40l-node", "dgx-h100"])
def test_simpy_equals_the_closed_form_on_a_single_request_stream(name):
    system = serving_system(name)
    workload = Workload(experts=80, requests=300, seed=3)
    sim, closed = simulate(system, workload).summary(), closed_form(system, workload).summary()
    assert sim["hbm_hit_rate"] == closed["hbm_hit_rate"] < 1
    for key in ("mean_latency_s", "mean_switch_s", "mean_execute_s", "makespan_s"):
        assert sim[key] == pytest.approx(closed[key], rel=1e-12)


def test_a_cache_holding_every_expert_switches_nothing_after_warm_up():
    system = serving_system("sn40l-node")
    experts = int(system.hbm_cache_bytes // system.expert_bytes)
    result = simulate(system, Workload(experts=experts, requests=400, seed=1), warmup_requests=300)
    summary = result.summary()
    assert summary["hbm_hit_rate"] == 1.0 and summary["mean_switch_s"] == 0.0
    cold = simulate(system, Workload(experts=experts, requests=400, seed=1)).summary()
    assert cold["mean_switch_s"] > 0          # the warm-up is what removed it


def test_more_experts_than_hbm_holds_cost_switching_and_per_device_links_cut_it():
    node, per_device = serving_system("dgx-a100"), serving_system("dgx-a100", per_device_links=True)
    workload = Workload(experts=75, requests=300, seed=0)
    slow, fast = (simulate(s, workload, warmup_requests=100).summary() for s in (node, per_device))
    assert slow["hbm_hit_rate"] < 1 and slow["mean_switch_s"] > 0
    assert slow["mean_switch_s"] / fast["mean_switch_s"] == pytest.approx(8, rel=1e-9)
