"""Reproduce the NGPC paper's studies with hwsim.graphics; write reports/neural_graphics.md + PNGs.

Run: ``python reports/neural_graphics.py`` (a few seconds). Every number is computed
here; the paper's figures come from ../shared/reference/ngpc.yaml.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from hwsim.report.text import markdown_table  # noqa: E402
from hwsim.graphics.apps import APPS, ENCODINGS, SAMPLES_PER_PIXEL  # noqa: E402
from hwsim.graphics.config import load_ngpc  # noqa: E402
from hwsim.graphics.ngpc import processor_rates  # noqa: E402
from hwsim.graphics.study import RESOLUTIONS, average_speedup, grid, saturation_point  # noqa: E402

OUT = Path(__file__).with_name("neural_graphics.md")
FIG = Path(__file__).with_name("neural_graphics")
REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ngpc.yaml"
SFS = (1, 2, 4, 8, 16, 32, 64, 128)


def gpu_section(df, paper) -> str:
    base = df[(df.scaling_factor == 8)]
    hd, uhd = base[base.resolution == "1080p"], base[base.resolution == "4k"]
    rows = [[r.app, r.encoding, f"{r.queries:,}", f"{r.gpu_encoding_s * 1e3:.1f}", f"{r.gpu_mlp_s * 1e3:.1f}",
             f"{r.gpu_rest_s * 1e3:.1f}", f"{r.gpu_frame_s * 1e3:.1f}", f"{r.gpu_encoding_plus_mlp_share:.1%}",
             f"{r.gpu_power_w:.0f}"] for r in hd.itertuples()]
    shares = {e: hd[hd.encoding == e].gpu_encoding_plus_mlp_share.mean() for e in ENCODINGS}
    gaps = uhd.gpu_frame_s * 60
    budget = load_ngpc().arvr_power_budget_w
    oom = np.log10(uhd.gpu_power_w * uhd.gpu_frame_s * 60 / budget)
    nerf = hd[(hd.app == "nerf") & (hd.encoding == "multires_hashgrid")].gpu_frame_s.iloc[0] * 1e3
    a = paper["abstract"]
    return "\n".join([
        "## GPU baseline (RTX 3090, per-kernel model)", "",
        f"1080p frames; samples per pixel {SAMPLES_PER_PIXEL} (assumptions). Times in ms, power in W.", "",
        markdown_table(["app", "encoding", "queries", "encoding", "MLP", "rest", "frame", "enc+MLP share", "power"], rows), "",
        "| encoding | hwsim share | paper |", "|---|---|---|",
        *[f"| {e} | {shares[e]:.2%} | {a['encoding_plus_mlp_share_of_time'][e]:.2%} |" for e in ENCODINGS], "",
        "The hash-grid share is the calibration (it sets each app's remaining kernels); the two dense-grid "
        "shares are predictions.", "",
        f"- NeRF 1080p frame: {nerf:.0f} ms (paper, unconfirmed: {paper['unconfirmed']['nerf_1080p_frame_ms_gpu']} ms).",
        f"- Gap to 4k at 60 FPS over apps x encodings: {gaps.min():.2f}x - {gaps.max():.1f}x "
        f"(paper {a['gap_to_4k_60fps'][0]}x - {a['gap_to_4k_60fps'][1]}x). The low end is GIA, which hwsim runs "
        "faster than 60 FPS at 4k (gap < 1): a strict xfail.",
        f"- AR/VR power gap (power to render 4k at 60 FPS over a {budget:g} W budget): {oom.min():.1f} - "
        f"{oom.max():.1f} orders of magnitude (paper {a['arvr_power_gap_orders_of_magnitude']}).", ""])


def speedup_plot(df) -> str:
    cfg = load_ngpc()
    from hwsim.graphics.ngpc import ngpc_frames
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, e in zip(axes, ENCODINGS):
        for a, style in zip(APPS, ("-o", "--s", ":^", "-.d")):   # NSDF and NVR coincide: dashes keep both visible
            ax.plot(SFS, ngpc_frames(a, e, 1920, 1080, SFS, cfg)["speedup"], style, label=a, markersize=5)
        ax.set_xscale("log", base=2)
        ax.set_title(e)
        ax.set_xlabel("scaling factor (processors)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("end-to-end speedup over the GPU")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(FIG / "speedup.png", dpi=110)
    plt.close(fig)
    return "![speedup vs scaling factor](neural_graphics/speedup.png)"


def breakdown_plot(df) -> str:
    sel = df[(df.resolution == "1080p") & (df.scaling_factor == 64) & (df.encoding == "multires_hashgrid")]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(sel))
    ax.bar(x - 0.2, sel.gpu_encoding_s * 1e3, 0.4, label="GPU: encoding")
    ax.bar(x - 0.2, sel.gpu_mlp_s * 1e3, 0.4, bottom=sel.gpu_encoding_s * 1e3, label="GPU: MLP")
    ax.bar(x - 0.2, sel.gpu_rest_s * 1e3, 0.4, bottom=(sel.gpu_encoding_s + sel.gpu_mlp_s) * 1e3, label="GPU: rest")
    ax.bar(x + 0.2, sel.ngpc_s * 1e3, 0.2, label="NGPC x64: encoding + MLP")
    ax.bar(x + 0.4, sel.rest_fused_s * 1e3, 0.2, label="GPU: fused rest (pipelined)")
    ax.set_xticks(x, sel.app)
    ax.set_yscale("log")
    ax.set_ylabel("ms per 1080p frame")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIG / "breakdown.png", dpi=110)
    plt.close(fig)
    return "![frame-time breakdown](neural_graphics/breakdown.png)"


def ngpc_section(df, paper) -> str:
    a = paper["abstract"]
    hash_df = df[(df.encoding == "multires_hashgrid") & (df.resolution == "1080p")]
    avg = average_speedup()
    rows = [[sf, f"{avg[i]:.1f}", a["hashgrid_avg_speedup_by_scaling_factor"][sf]] for i, sf in enumerate((8, 16, 32, 64))]
    sat = [[app, *saturation_point(app, "multires_hashgrid"), paper["unconfirmed"]["speedup_saturates_at"].get(app, "-")]
           for app in APPS]
    per_app = [[r.app, r.scaling_factor, f"{r.speedup:.1f}", r.bottleneck] for r in hash_df.itertuples()]
    rates = [[app, f"{r.encoding_queries_per_s / 1e9:.2f}", f"{r.mlp_queries_per_s / 1e9:.3f}",
              f"{r.l2_bytes_per_query:.0f}", f"{r.dram_bytes_per_query:.0f}", f"{r.table_hit_rate:.0%}"]
             for app, r in ((app, processor_rates(app, "multires_hashgrid")) for app in APPS)]
    return "\n".join([
        "## NGPC (templates/graphics/ngpc.yaml)", "",
        "Per processor, hash grid: encoding and MLP rates (G queries/s), bytes per query through the L2 port "
        "and from DRAM, and the engines' SRAM hit rate.", "",
        markdown_table(["app", "encoding G q/s", "MLP G q/s", "L2 B/query", "DRAM B/query", "SRAM hit"], rates), "",
        "Hash-grid average speedup over the four apps (1080p):", "",
        markdown_table(["scaling factor", "hwsim", "paper"], rows), "",
        f"Maximum end-to-end speedup (any app, encoding, SF <= 64): {df[df.scaling_factor <= 64].speedup.max():.1f}x "
        f"(paper {a['end_to_end_speedup_max']}x).", "",
        "Where each app stops scaling (first SF at which the engines no longer bind):", "",
        markdown_table(["app", "saturates at SF", "binding resource", "paper"], sat), "",
        markdown_table(["app", "SF", "speedup", "bottleneck"], per_app), "",
        speedup_plot(df), "", breakdown_plot(df), ""])


def fps_section(df) -> str:
    sel = df[(df.encoding == "multires_hashgrid") & (df.scaling_factor == 64)]
    rows = [[app, *[f"{sel[(sel.app == app) & (sel.resolution == r)].gpu_fps.iloc[0]:.2f} -> "
                    f"{sel[(sel.app == app) & (sel.resolution == r)].fps.iloc[0]:.1f}" for r in RESOLUTIONS]]
            for app in APPS]
    return "\n".join(["## Frames per second, GPU -> GPU + NGPC x64 (hash grid)", "",
                      markdown_table(["app", *RESOLUTIONS], rows), "",
                      "Paper: NeRF 4k at 30 FPS, the others 8k at 120 FPS.", ""])


def sensitivity_section() -> str:
    rows = []
    for label, over in (("default (2 MiB per engine)", {}), ("ngpc.yaml's 1 MiB per engine", {"sram_bytes_per_engine": 1 << 20}),
                        ("L2 port 4 TB/s", {"l2_bw_bytes_per_s": 4e12}), ("clock 2 GHz", {"clock_hz": 2e9}),
                        ("rest fused 20x", {"fused_rest_speedup": 20.0})):
        avg = average_speedup(load_ngpc(**over))
        rows.append([label, *[f"{v:.1f}" for v in avg]])
    return "\n".join(["## Sensitivity (hash-grid average speedup at SF 8 / 16 / 32 / 64)", "",
                      markdown_table(["configuration", "8", "16", "32", "64"], rows), "",
                      "With 1 MiB engines (ngpc.yaml's unconfirmed value) half of every hashed level's lookups leave "
                      "the processor and the cluster is DRAM-bound from SF 16; the L2 bandwidth is also the GPU's own gather "
                      "rate, so a faster L2 speeds the baseline up too (a lower ratio); a 2 GHz clock (or an MLP engine at full "
                      "MAC use) doubles the engine-bound speedups; the ceiling at SF 64 is the fused remaining kernels.",
                      ""])


def main() -> None:
    FIG.mkdir(exist_ok=True)
    paper = yaml.safe_load(REF.read_text())
    df = grid(scaling_factors=SFS)
    text = "\n".join([
        "# Neural graphics: NGPC against an RTX 3090 (hwsim.graphics)", "",
        "Generated by `python reports/neural_graphics.py`; the paper's figures from "
        "`../shared/reference/ngpc.yaml` (Mubarik et al., ISCA 2023). One calibration: the hash-grid "
        "encoding + MLP share (72.37 %) sets every app's remaining-kernel time. Model: docs/graphics.md.", "",
        gpu_section(df, paper), ngpc_section(df, paper), fps_section(df), sensitivity_section(),
        "## Gaps kept visible (strict xfails in tests/validation/test_ngpc_paper.py)", "",
        "- Average speedups at every SF and the 58x maximum: the 64 x 64 weight-stationary MLP engine "
        "streams one query per layer per cycle (5 cycles per NeRF query, 3 for the others), about half the "
        "rate the paper's figures imply; one measured share for every app caps each 3-D app at "
        f"9.94 / (1 - 0.7237) = {9.94 / (1 - 0.7237):.0f}x.",
        "- Saturation NSDF 32 / NVR 16: the two apps share engines and (with one share) remaining-kernel weight.",
        "- NSDF / NVR 8k at 120 FPS: their samples per pixel (16 / 32) are assumptions; the claim needs <= ~3.",
        "- The smallest 4k gap (1.51x): hwsim's GIA already reaches 60 FPS at 4k.", ""])
    OUT.write_text(text)
    print(f"wrote {OUT} and {FIG}/*.png; max speedup {df.speedup.max():.1f}x")


if __name__ == "__main__":
    main()
