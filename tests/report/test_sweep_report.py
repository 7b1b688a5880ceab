"""Sweep and evaluation reports: real PNGs, an HTML page that parses and embeds every plot,
Markdown linking every plot, the Pareto set of a brute-force dominance check, infeasible
points counted and kept off the front, per-layer rows summed as evaluate_many's totals,
and bad input raising SpecError naming the argument or file."""

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import hwsim
from hwsim.errors import SpecError
from hwsim.report import sweep_report
from hwsim.report.sweep_report import BINS, summarize_sweep, write_evaluate_report, write_sweep_report

NET = "resnet18"
GRID = [(pes, l2, bw) for pes in (64, 256, 1024) for l2 in (256, 16384, 110592) for bw in (8.0, 32.0)]
PARAMS = ["pes", "l2_bytes", "dram_bw_bytes_per_cycle"]


def accelerators(grid):
    return [hwsim.load_template("dla", pes=p, l2_bytes=l2, dram_bw_bytes_per_cycle=bw) for p, l2, bw in grid]


@pytest.fixture(scope="module")
def totals():
    """A totals-mode sweep as hwsim.sweep writes it: ``point``, parameter columns, results."""
    frame = hwsim.evaluate_many(hwsim.zoo.get_network(NET), accelerators(GRID), per_layer=False)
    frame = frame.rename(columns={"config": "point"})
    for i, name in enumerate(PARAMS):
        frame[name] = [g[i] for g in GRID]
    return frame


@pytest.fixture(scope="module")
def layers():
    """evaluate_many's per-layer frame (one row per config and layer), 6 configs, 2 infeasible."""
    grid = [(pes, l2, 16.0) for pes in (64, 256, 1024) for l2 in (256, 110592)]
    return hwsim.evaluate_many(hwsim.zoo.get_network(NET), accelerators(grid))


def sweep_frame(grid, per_layer, networks=("resnet18", "alexnet")):
    """Rows shaped as hwsim.sweep writes them (its column names, not its code): ``point``,
    ``network``, the parameters, costs with ``edp_pj_s``; in layers mode the traffic
    ``<level>_bytes`` is ``<level>_traffic_bytes`` and a cost named like a parameter ``layer_*``."""
    frames = []
    for net in networks:
        f = hwsim.evaluate_many(hwsim.zoo.get_network(net), accelerators(grid), per_layer=per_layer)
        f = f.rename(columns={"config": "point"}).drop(columns="template")
        if per_layer:
            f = f.rename(columns={**{f"{v}_bytes": f"{v}_traffic_bytes" for v in ("l1", "l2", "dram")},
                                  "dram_bw_bytes_per_cycle": "layer_dram_bw_bytes_per_cycle"})
        f.insert(1, "network", net)
        for i, name in enumerate(PARAMS):
            f.insert(2 + i, name, np.array([g[i] for g in grid])[f["point"]])
        frames.append(f.assign(edp_pj_s=f["energy_pj"] * f["latency_s"]))
    return pd.concat(frames, ignore_index=True)


SWEEP_GRID = [(pes, l2, 16.0) for pes in (64, 256) for l2 in (256, 110592)]


@pytest.fixture(scope="module")
def reports(totals, tmp_path_factory):
    """Each report rendered once: totals from a Parquet file, a layers-mode sweep of two
    networks from a folder of parts, one evaluation."""
    root = tmp_path_factory.mktemp("reports")
    totals.to_parquet(root / "totals.parquet")
    (root / "parts").mkdir()
    layers = sweep_frame(SWEEP_GRID, per_layer=True)
    for i, net in enumerate(layers["network"].unique()):
        layers[layers["network"] == net].to_parquet(root / "parts" / f"part-{i}.parquet")
    report = hwsim.evaluate(hwsim.zoo.get_network(NET), accelerators([(256, 110592, 16.0)])[0])
    return {"totals": write_sweep_report(root / "totals.parquet", root / "t"),
            "layers": write_sweep_report(root / "parts", root / "l", title="layers <sweep> & co",
                                         objectives={"latency_cycles": "min", "energy_pj": "min"}),
            "evaluate": write_evaluate_report(report, root / "e")}


EXPECTED = {"totals": {"pareto.png", "sensitivity.png", "layer_energy.png"},
            "layers": {"pareto.png", "sensitivity.png", "layer_energy.png", "roofline.png"},
            "evaluate": {"layer_energy.png", "roofline.png"}}


def assert_real_png(path):
    assert path.exists() and path.stat().st_size > 5000
    image = imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    assert (image != image[0, 0]).any()                                      # more than one colour


class Page(HTMLParser):
    """Collects the tags and checks that every non-void element is closed in order."""
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.images, self.problems, self.doctype = [], [], [], [], None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unexpected </{tag}>")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reports_write_real_pngs(reports, name):
    result = reports[name]
    assert {p.name for p in result["plots"]} == EXPECTED[name]
    for path in result["plots"]:
        assert_real_png(path)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_html_is_a_valid_standalone_page_embedding_every_plot(reports, name):
    result = reports[name]
    page = Page()
    page.feed(result["html"].read_text(encoding="utf-8"))
    page.close()
    assert page.doctype.lower() == "doctype html" and not page.problems and not page.stack
    assert "table" in page.tags and page.tags.count("img") == len(result["plots"])
    embedded = [base64.b64decode(img["src"].split(",", 1)[1]) for img in page.images]
    assert embedded == [p.read_bytes() for p in result["plots"]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_markdown_links_every_plot(reports, name):
    result = reports[name]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", result["markdown"].read_text(encoding="utf-8"))
    assert links == [p.name for p in result["plots"]]
    assert all((result["markdown"].parent / link).exists() for link in links)


def test_title_is_escaped_in_html(reports):
    text = reports["layers"]["html"].read_text(encoding="utf-8")
    assert "<title>layers &lt;sweep&gt; &amp; co</title>" in text and "<sweep>" not in text


def brute_front(values, goals, ok):
    v = np.where(np.array(goals) == "max", -values, values)
    return {i for i in range(len(v)) if ok[i] and not any(
        ok[j] and (v[j] <= v[i]).all() and (v[j] < v[i]).any() for j in range(len(v)))}


@pytest.mark.parametrize("seed", range(8))
def test_pareto_set_equals_brute_force_dominance(seed):
    rng = np.random.default_rng(seed)
    n = 60
    frame = pd.DataFrame({"point": np.arange(n), "a": rng.integers(0, 5, n).astype(float),
                          "b": rng.integers(0, 5, n).astype(float), "c": rng.integers(0, 5, n).astype(float),
                          "feasible": rng.random(n) > 0.2, "knob": rng.integers(0, 3, n)})   # ties, duplicates
    frame.loc[rng.random(n) < 0.05, "b"] = np.nan
    goals = {"a": "min", "b": "max", "c": "min"}
    s = summarize_sweep(frame, objectives=goals)
    ok = frame["feasible"].to_numpy() & frame[list(goals)].notna().all(axis=1).to_numpy()
    assert set(s.front["point"]) == brute_front(frame[list(goals)].to_numpy(), list(goals.values()), ok)
    assert s.parameters == ["knob"]
    assert list(s.front["a"]) == sorted(s.front["a"])                        # best first objective first


def test_rendered_pareto_table_is_the_front(reports, totals):
    s = summarize_sweep(totals)
    md = reports["totals"]["markdown"].read_text(encoding="utf-8")
    section = md.split("## Pareto front")[1].split("## ")[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if re.match(r"\| \d", line)]
    assert rows == [str(p) for p in s.front["point"]]
    values = totals[["latency_cycles", "energy_pj", "area_mm2"]].to_numpy()
    ok = totals["feasible"].to_numpy()
    assert set(s.front["point"]) == brute_front(values, ["min"] * 3, ok)
    assert reports["totals"]["pareto_points"] == len(s.front) >= 2


def test_infeasible_points_are_counted_and_never_on_the_front(reports, totals):
    bad = totals.loc[~totals["feasible"], "point"]
    assert len(bad) == 6                                                     # l2_bytes = 256 cannot map
    md = reports["totals"]["markdown"].read_text(encoding="utf-8")
    assert "| infeasible | 6 |" in md and "| feasible | 12 |" in md and "| design points | 18 |" in md
    assert "| 6 | model 'weight_stationary'" in md                           # the most common reason
    assert not set(summarize_sweep(totals).front["point"]) & set(bad)


def test_an_infeasible_point_is_off_the_front_even_with_the_best_numbers():
    frame = pd.DataFrame({"latency_cycles": [1.0, 5.0, 6.0], "energy_pj": [1.0, 5.0, 4.0],
                          "feasible": [False, True, True], "error": ["too big", "", ""]})
    assert set(summarize_sweep(frame).front["design"]) == {1, 2}


def test_per_layer_rows_sum_to_evaluate_many_totals(layers):
    s = summarize_sweep(layers)
    net = hwsim.zoo.get_network(NET)
    grid = [(pes, l2, 16.0) for pes in (64, 256, 1024) for l2 in (256, 110592)]
    totals = hwsim.evaluate_many(net, accelerators(grid), per_layer=False)
    assert s.per_layer and s.key == "config" and len(s.designs) == 6
    np.testing.assert_array_equal(s.designs["feasible"], totals["feasible"])
    for column in ("latency_cycles", "energy_pj", "energy_dram_pj", "area_mm2"):
        np.testing.assert_allclose(s.designs[column], totals[column], rtol=1e-12)
    ok = totals["feasible"].to_numpy()
    np.testing.assert_allclose(s.designs.loc[ok, "utilization"], totals.loc[ok, "utilization"], rtol=1e-12)
    assert (s.designs.loc[~s.designs["feasible"], "error"] != "").all()


def test_default_parameters_are_the_swept_columns(totals, layers):
    assert summarize_sweep(totals).parameters == PARAMS                      # l2_bytes: the buffer size
    assert summarize_sweep(layers).parameters == []     # evaluate_many: l2_bytes is traffic, bandwidths per level
    assert summarize_sweep(sweep_frame(SWEEP_GRID, per_layer=True)).parameters == PARAMS


def test_a_missing_plot_is_a_note_and_an_old_png_is_removed(tmp_path):
    frame = pd.DataFrame({"latency_cycles": [3.0, 2.0, 1.0], "energy_pj": [1.0, 2.0, 3.0]})
    (tmp_path / "roofline.png").write_bytes(b"old")
    result = write_sweep_report(frame, tmp_path)
    assert [p.name for p in result["plots"]] == ["pareto.png"] and not (tmp_path / "roofline.png").exists()
    md = result["markdown"].read_text(encoding="utf-8")
    assert "energy by level skipped: no energy_<level>_pj columns" in md
    assert "no parameter takes two values" in md and result["pareto_points"] == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"objectives": {"latency_cycles": "min", "power_mw": "min"}}, r"objectives'\]?\['power_mw'\]|power_mw"),
    ({"objectives": {"latency_cycles": "fast", "energy_pj": "min"}}, "'fast'"),
    ({"objectives": {"latency_cycles": "min"}}, "2 to 4"),
    ({"parameters": ["pes", "voltage"]}, "parameters' = 'voltage'"),
    ({"parameters": "pes"}, "field 'parameters'"),
])
def test_bad_arguments_raise_spec_error_naming_them(totals, tmp_path, kwargs, match):
    with pytest.raises(SpecError, match=match):
        write_sweep_report(totals, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()                                  # checked before any work


def test_a_per_layer_result_named_as_a_parameter_is_refused(layers, tmp_path):
    with pytest.raises(SpecError, match="'l2_bytes': varies between the layers"):
        write_sweep_report(layers, tmp_path, parameters=["l2_bytes"])


def test_bad_sources_raise_spec_error_naming_the_file(tmp_path):
    garbage = tmp_path / "results.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(SpecError, match=re.escape(str(garbage)) + ": cannot read as Parquet"):
        write_sweep_report(garbage, tmp_path / "out")
    with pytest.raises(SpecError, match="no such file or folder"):
        write_sweep_report(tmp_path / "missing.parquet", tmp_path / "out")
    with pytest.raises(SpecError, match="field 'source'.*no rows"):
        write_sweep_report(pd.DataFrame({"latency_cycles": [], "energy_pj": []}), tmp_path / "out")
    with pytest.raises(SpecError, match="field 'source' = list"):
        write_sweep_report([1, 2], tmp_path / "out")
    with pytest.raises(SpecError, match="default objectives"):
        write_sweep_report(pd.DataFrame({"accuracy": [0.5]}), tmp_path / "out")
    with pytest.raises(SpecError, match="field 'report'"):
        write_evaluate_report(pd.DataFrame({"latency_cycles": [1.0]}), tmp_path / "out")


def test_no_feasible_point_still_writes_counts(tmp_path):
    frame = pd.DataFrame({"latency_cycles": [np.inf, np.inf], "energy_pj": [np.nan, np.nan],
                          "feasible": [False, False], "error": ["e1", "e1"]})
    result = write_sweep_report(frame, tmp_path)
    md = result["markdown"].read_text(encoding="utf-8")
    assert result["plots"] == [] and result["pareto_points"] == 0
    assert "| infeasible | 2 |" in md and "| 2 | e1 |" in md and "no feasible design point" in md


def test_importing_the_report_module_stays_light():
    code = ("import sys, hwsim, hwsim.report.sweep_report; "
            "print(sorted(m for m in ('matplotlib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sensitivity_panels_show_best_and_median_per_value(tmp_path, monkeypatch):
    """One panel per (objective, parameter); a numeric parameter with many values is binned;
    the best of a value's points is never worse than their median."""
    figures = []
    finish = sweep_report._finish

    def keep(fig, title, notes, out):
        figures.append(fig)
        fig.savefig = lambda *args, **kwargs: None          # inspect what is drawn, skip rendering
        return finish(fig, title, notes, out)
    monkeypatch.setattr(sweep_report, "_finish", keep)
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({"bw": rng.uniform(1, 100, n), "dataflow": rng.choice(["ws", "os", "rs"], n),
                          "latency_cycles": rng.uniform(1, 10, n), "accuracy": rng.uniform(0, 1, n)})
    goals = {"latency_cycles": "min", "accuracy": "max"}
    sweep_report._sensitivity(frame, ["bw", "dataflow"], goals, tmp_path / "s.png")
    axes = figures[0].axes
    assert len(axes) == 4
    for ax, goal in zip(axes, ["min", "min", "max", "max"]):     # row-major: objective x parameter
        best, median = (line.get_ydata() for line in ax.lines)
        assert (best <= median).all() if goal == "min" else (best >= median).all()
    assert len(axes[0].lines[0].get_xdata()) == BINS and len(axes[1].lines[0].get_xdata()) == 3
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["os", "rs", "ws"]
    by_flow = frame.groupby("dataflow")["latency_cycles"].min().sort_index().to_numpy()
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), by_flow)


def test_evaluate_report_from_a_layers_frame(layers, tmp_path):
    one = layers[layers["config"] == 1]                                   # feasible: pes 64, l2 110592
    result = write_evaluate_report(one, tmp_path, title="one config")
    assert [p.name for p in result["plots"]] == ["layer_energy.png", "roofline.png"]   # bw from the column
    md = result["markdown"].read_text(encoding="utf-8")
    assert md.startswith("# one config") and f"| latency_cycles | {one['latency_cycles'].sum():.4g} |" in md
    with pytest.raises(SpecError, match="field 'report'"):
        write_evaluate_report(layers, tmp_path)                           # six configs: not one evaluation


def test_a_sweep_of_two_networks_sums_each_point_over_them():
    totals, layers = sweep_frame(SWEEP_GRID, per_layer=False), sweep_frame(SWEEP_GRID, per_layer=True)
    by_point = totals.groupby("point")[["latency_cycles", "energy_pj", "latency_s"]].sum()
    for s in (summarize_sweep(totals), summarize_sweep(layers)):
        assert s.grouped and len(s.designs) == len(SWEEP_GRID) and s.parameters == PARAMS
        ok = s.designs["feasible"].to_numpy()
        assert list(ok) == list(totals.groupby("point")["feasible"].all())
        for column in ("latency_cycles", "energy_pj"):
            np.testing.assert_allclose(s.designs.loc[ok, column], by_point.loc[ok, column], rtol=1e-12)
        np.testing.assert_allclose(s.designs.loc[ok, "edp_pj_s"], (by_point["energy_pj"] * by_point["latency_s"])[ok])
    assert summarize_sweep(layers).designs["dram_traffic_bytes"].notna().any()


def test_objectives_as_a_list_of_names():
    frame = sweep_frame(SWEEP_GRID, per_layer=False, networks=("alexnet",))
    s = summarize_sweep(frame, objectives=["latency_cycles", "utilization:max"])
    assert s.objectives == {"latency_cycles": "min", "utilization": "max"}
    with pytest.raises(SpecError, match="'best'"):
        summarize_sweep(frame, objectives=["latency_cycles", "utilization:best"])
