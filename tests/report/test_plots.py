"""Plots: each writes a real PNG; what is highlighted is exactly the Pareto set; bad
input raises SpecError naming the argument; NaN rows are dropped and counted."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from hwsim.errors import SpecError
from hwsim.report import plots
from hwsim.report.pareto import pareto_mask
from hwsim.report.plots import (axis_label, best_so_far, curve_summary, front_points, pareto_projections,
                                pareto_rows, roof, roofline, scatter_vs_metric, stacked_bars)

OBJECTIVES = {"latency_cycles": "min", "accuracy": "max", "energy_pj": "min", "area_mm2": "min"}


def designs(n=200, seed=0, nan_rows=(3, 17)):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"latency_cycles": rng.integers(1, 40, n) * 1e4, "accuracy": rng.integers(60, 95, n) / 100,
                          "energy_pj": rng.uniform(1e6, 1e8, n), "area_mm2": rng.uniform(1, 10, n)})
    frame["meets_specs"] = frame["energy_pj"] < 5e7
    frame.loc[list(nan_rows), "accuracy"] = [np.nan, np.inf][:len(nan_rows)]
    return frame


def layers(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"layer": np.repeat([f"conv{i}" for i in range(n)], 3), "level": ["dram", "sram", "reg"] * n,
                         "energy_pj": rng.uniform(1, 100, 3 * n)})


def layer_points(n=15, seed=2):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"layer": [f"l{i}" for i in range(n)], "ops_per_byte": rng.uniform(1, 1000, n)})
    frame["ops_per_cycle"] = roof(frame["ops_per_byte"], 1024, 64) * rng.uniform(0.2, 1.0, n)
    return frame


def curves(seed=3):
    rng = np.random.default_rng(seed)
    raw = {"rl": rng.uniform(0.6, 0.9, (4, 60)), "random": rng.uniform(0.5, 0.9, (4, 60))}
    raw["rl"][:, :5] = np.nan          # no feasible design in the first episodes
    return {name: np.fmax.accumulate(v, axis=1) for name, v in raw.items()}


CALLS = {
    "scatter": lambda out: scatter_vs_metric(
        designs(), "latency_cycles", "accuracy", out, spec=2e5, feasible_col="meets_specs", log_x=True,
        highlight={"co-search best": (1e5, 0.9), "successive": (2e5, 0.8), "optimum": (5e4, 0.93)}, title="t"),
    "projections": lambda out: pareto_projections(designs(), OBJECTIVES, out, title="projections"),
    "bars": lambda out: stacked_bars(layers(), "layer", "level", "energy_pj", out, top=5),
    "best_so_far": lambda out: best_so_far(curves(), out, optimum=0.95),
    "roofline": lambda out: roofline(layer_points(), out, peak_ops_per_cycle=1024, bw_bytes_per_cycle=64,
                                     label_col="layer"),
}


def assert_real_png(path):
    assert path.exists() and path.suffix == ".png"
    assert path.stat().st_size > 5000
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4) and min(image.shape[:2]) > 100
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 1


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plots hand to ``_finish``, to inspect what was drawn (not
    rendered: the PNG tests above do that)."""
    figures = []
    finish = plots._finish

    def keep(fig, title, notes, out):
        figures.append(fig)
        fig.savefig = lambda *args, **kwargs: None
        return finish(fig, title, notes, out)
    monkeypatch.setattr(plots, "_finish", keep)
    return figures


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_plot_writes_a_real_png(tmp_path, name):
    out = tmp_path / "sub" / f"{name}.png"
    path = CALLS[name](out)
    assert path == out
    assert_real_png(path)


def brute_front(xy, goals):
    v = np.where(np.array(goals) == "max", -xy, xy)
    ok = np.isfinite(v).all(axis=1)
    on = [ok[i] and not any(ok[j] and (v[j] <= v[i]).all() and (v[j] < v[i]).any() for j in range(len(v)))
          for i in range(len(v))]
    return {tuple(p) for p in xy[np.array(on, dtype=bool)]}


@pytest.mark.parametrize("goals", [("min", "max"), ("min", "min"), ("max", "max"), ("max", "min")])
def test_front_points_match_brute_force_dominance(goals):
    for seed in range(25):
        rng = np.random.default_rng(seed)
        xy = rng.integers(0, 6, (30, 2)).astype(float)        # small integers: many ties and duplicates
        xy[rng.random(30) < 0.1, rng.integers(0, 2)] = np.nan
        frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
        front = front_points(frame, "x", "y", x_goal=goals[0], y_goal=goals[1])
        assert {tuple(p) for p in front} == brute_front(xy, goals)
        assert len(front) == len({tuple(p) for p in front})             # distinct vertices
        assert (np.diff(front[:, 0]) > 0).all()                          # one vertex per x, sorted
        dy = np.diff(front[:, 1])
        assert (dy > 0).all() if goals[0] != goals[1] else (dy < 0).all()   # a staircase


def test_scatter_draws_the_front_of_the_feasible_designs(tmp_path, drawn):
    frame = designs()
    scatter_vs_metric(frame, "latency_cycles", "accuracy", tmp_path / "s.png", feasible_col="meets_specs")
    (step,) = [line for line in drawn[0].axes[0].lines if line.get_label().startswith("Pareto")]
    feasible = frame[frame["meets_specs"]]
    front = front_points(feasible, "latency_cycles", "accuracy")
    assert np.array_equal(np.unique(step.get_xydata(), axis=0), front)
    assert step.get_drawstyle() == "steps-post"
    assert front[:, 0].min() >= feasible["latency_cycles"].min()
    assert "2 rows with NaN/inf dropped" in drawn[0].get_suptitle()


def test_pareto_projections_highlight_exactly_the_pareto_rows(tmp_path, drawn):
    frame = designs()
    mask = pareto_rows(frame, OBJECTIVES)
    values = frame[list(OBJECTIVES)].to_numpy()
    assert np.array_equal(mask, pareto_mask(values, maximize=[1]))
    assert not mask[[3, 17]].any() and 0 < mask.sum() < len(frame)
    pareto_projections(frame, OBJECTIVES, tmp_path / "p.png")
    axes = [ax for ax in drawn[0].axes if ax.get_visible()]
    assert len(axes) == 6                                            # every pair of 4 objectives
    for ax in axes:
        dominated, front = ax.collections
        a, b = (label.split(" ")[0] for label in (ax.get_xlabel(), ax.get_ylabel()))
        cols = [c for c in OBJECTIVES if c.startswith(a)][0], [c for c in OBJECTIVES if c.startswith(b)][0]
        assert np.array_equal(front.get_offsets(), frame.loc[mask, list(cols)].to_numpy())
        assert len(dominated.get_offsets()) == len(frame) - 2 - mask.sum()


def test_pareto_projections_of_two_objectives_is_one_panel(tmp_path, drawn):
    pareto_projections(designs(), {"latency_cycles": "min", "accuracy": "max"}, tmp_path / "p.png")
    assert len([ax for ax in drawn[0].axes if ax.get_visible()]) == 1


def test_stacked_bars_keep_the_top_entries_and_sum_the_rest(tmp_path, drawn):
    frame = layers()
    stacked_bars(frame, "layer", "level", "energy_pj", tmp_path / "b.png", top=4)
    ax = drawn[0].axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    totals = frame.groupby("layer", sort=False)["energy_pj"].sum()
    biggest = set(totals.nlargest(4).index)
    assert labels == [name for name in totals.index if name in biggest] + ["other"]
    heights = np.array([p.get_height() for p in ax.patches])
    assert heights.sum() == pytest.approx(frame["energy_pj"].sum())
    assert len(heights) == 5 * 3


def test_stacked_bars_sum_repeated_rows_and_drop_nan(tmp_path, drawn):
    frame = pd.concat([layers(3), layers(3)], ignore_index=True)
    frame.loc[0, "energy_pj"] = np.nan
    stacked_bars(frame, "layer", "level", "energy_pj", tmp_path / "b.png")
    heights = [p.get_height() for p in drawn[0].axes[0].patches]
    assert len(heights) == 9 and sum(heights) == pytest.approx(frame["energy_pj"].sum())
    assert "1 row with NaN/inf or missing dropped" in drawn[0].get_suptitle()


def test_curve_summary_ignores_seeds_without_a_feasible_design():
    values = np.array([[np.nan, np.nan, 0.5, 0.7], [np.nan, 0.2, 0.4, 0.4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # no all-NaN-slice warnings
        mean, lo, hi = curve_summary(values)
    nan = np.nan
    np.testing.assert_array_equal(mean, [nan, 0.2, 0.45, 0.55])
    np.testing.assert_array_equal(lo, [nan, 0.2, 0.4, 0.4])
    np.testing.assert_array_equal(hi, [nan, 0.2, 0.5, 0.7])


def test_roof_is_memory_bound_then_flat():
    intensity = np.array([1.0, 8.0, 16.0, 32.0, 1000.0])
    np.testing.assert_array_equal(roof(intensity, 1024, 64), [64, 512, 1024, 1024, 1024])


def test_roofline_counts_points_above_the_roof_and_non_positive_rows(tmp_path, drawn):
    frame = layer_points()
    frame.loc[0, "ops_per_cycle"] = 5000.0                           # impossible: above the peak
    frame.loc[1, "ops_per_byte"] = 0.0
    roofline(frame, tmp_path / "r.png", peak_ops_per_cycle=1024, bw_bytes_per_cycle=64)
    title = drawn[0].get_suptitle()
    assert "1 above the roof" in title and "1 row with values <= 0 (log scale) dropped" in title


@pytest.mark.parametrize("column, unit", [("latency_cycles", "latency [cycles]"), ("energy_pj", "energy [pJ]"),
                                          ("area_mm2", "area [mm²]"), ("bw_bytes_per_cycle", "bw [bytes/cycle]"),
                                          ("ops_per_byte", "ops/byte"), ("accuracy", "accuracy"),
                                          ("top1_acc", "top1 acc")])
def test_axis_label_reads_the_unit_from_the_name(column, unit):
    assert axis_label(column) == unit


BAD = [
    (lambda o: scatter_vs_metric(designs(), "latency_s", "accuracy", o), "'x' = 'latency_s': no such column"),
    (lambda o: scatter_vs_metric(designs().assign(a="x"), "latency_cycles", "a", o), "'y' = 'a': column has dtype"),
    (lambda o: scatter_vs_metric(designs().iloc[:0], "latency_cycles", "accuracy", o), "'frame': empty"),
    (lambda o: scatter_vs_metric(designs(), "latency_cycles", "accuracy", o, feasible_col="area_mm2"),
     "'feasible_col' = 'area_mm2': expected booleans"),
    (lambda o: scatter_vs_metric(designs(), "latency_cycles", "accuracy", o, spec="fast"), "'spec' = 'fast'"),
    (lambda o: scatter_vs_metric(designs(), "latency_cycles", "accuracy", o, highlight={"best": 3}),
     r"'highlight'\['best'\] = 3"),
    (lambda o: scatter_vs_metric(designs(), "latency_cycles", "accuracy", o.with_suffix(".pdf")), "'out' = "),
    (lambda o: pareto_projections(designs(), {"latency_cycles": "min", "accuracy": "up"}, o),
     r"'objectives'\['accuracy'\] = 'up'"),
    (lambda o: pareto_projections(designs(), {"latency_cycles": "min"}, o), "'objectives' = .*2 to 4"),
    (lambda o: pareto_projections(designs(), {"latency_cycles": "min", "power_mw": "min"}, o),
     r"'objectives\['power_mw'\]' = 'power_mw': no such column"),
    (lambda o: pareto_projections(pd.DataFrame(), OBJECTIVES, o), "'frame': empty"),
    (lambda o: stacked_bars(layers(), "name", "level", "energy_pj", o), "'index' = 'name': no such column"),
    (lambda o: stacked_bars(layers(), "layer", "level", "level", o), "'value' = 'level': column has dtype"),
    (lambda o: stacked_bars(layers().assign(energy_pj=-1.0), "layer", "level", "energy_pj", o), "negative"),
    (lambda o: stacked_bars(layers(), "layer", "level", "energy_pj", o, top=0), "'top' = 0"),
    (lambda o: best_so_far({"rl": np.zeros(5)}, o), r"'curves'\['rl'\]: shape \(5,\)"),
    (lambda o: best_so_far({}, o), "'curves' = {}"),
    (lambda o: best_so_far(curves(), o, optimum=np.nan), "'optimum' = nan"),
    (lambda o: roofline(layer_points(), o, peak_ops_per_cycle=0, bw_bytes_per_cycle=64),
     "'peak_ops_per_cycle' = 0"),
    (lambda o: roofline(layer_points(), o, peak_ops_per_cycle=1, bw_bytes_per_cycle=1, perf_col="gops"),
     "'perf_col' = 'gops': no such column"),
    (lambda o: front_points(designs(), "latency_cycles", "accuracy", y_goal="maximize"), "'y_goal' = 'maximize'"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_input_raises_one_line_naming_the_argument(tmp_path, call, message):
    with pytest.raises(SpecError, match=message) as info:
        call(tmp_path / "bad.png")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "bad.png").exists()


def test_all_nan_rows_draw_an_empty_plot_without_crashing(tmp_path, drawn):
    frame = designs(n=5, nan_rows=())
    frame["accuracy"] = np.nan
    scatter_vs_metric(frame, "latency_cycles", "accuracy", tmp_path / "s.png", log_x=True, spec=1e5)
    drawn[0].canvas.draw()                                           # renders without error
    assert "5 rows with NaN/inf dropped" in drawn[0].get_suptitle()


def test_plots_leave_no_pyplot_state_and_import_hwsim_stays_light(tmp_path):
    code = ("import sys, hwsim, hwsim.report\n"
            "assert 'matplotlib' not in sys.modules and 'pandas' not in sys.modules\n"
            "import pandas as pd; from hwsim.report import scatter_vs_metric\n"
            f"scatter_vs_metric(pd.DataFrame({{'x_s': [1.0, 2.0], 'y': [2.0, 1.0]}}), 'x_s', 'y', r'{tmp_path}/a.png')\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_missing_values_in_nullable_columns_are_dropped_too(tmp_path, drawn):
    frame = pd.DataFrame({"latency_cycles": pd.array([1, 2, None, 4], dtype="Int64"), "accuracy": [0.1, 0.3, 0.2, 0.5],
                          "ok": pd.array([True, None, True, False], dtype="boolean")})
    scatter_vs_metric(frame, "latency_cycles", "accuracy", tmp_path / "s.png", feasible_col="ok")
    assert "2 rows with NaN/inf dropped" in drawn[0].get_suptitle()
    styled = [c for c in drawn[0].axes[0].collections if c.get_label() in ("meets specs", "violates specs")]
    assert len(styled) == 2 and sum(len(c.get_offsets()) for c in styled) == 2
