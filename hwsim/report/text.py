"""Plain-text tables for the terminal (the ``hwsim`` command prints these)."""

from __future__ import annotations

import pandas as pd

from ..evaluate import CostReport
from ..hardware.accelerator import Accelerator
from ..units import pj_to_uj

LAYER_COLUMNS = ["layer", "op", "macs", "latency_cycles", "utilization", "energy_pj", "bound"]


def format_report(report: CostReport, max_layers: int | None = None) -> str:
    """Per-layer table, then totals: latency (cycles, ms), energy (uJ, split by level), area."""
    layers = report.layers
    table = layers[LAYER_COLUMNS].copy()
    table["latency_cycles"] = table["latency_cycles"].map("{:,.0f}".format)
    table["macs"] = table["macs"].map("{:,}".format)
    table["utilization"] = table["utilization"].map("{:.3f}".format)
    table["energy_uj"] = pd.Series(pj_to_uj(layers["energy_pj"]), index=layers.index).map("{:,.2f}".format)
    table = table.drop(columns=["energy_pj"])
    if max_layers is not None and len(table) > max_layers:
        table = table.head(max_layers)
    t = report.total
    split = ", ".join(f"{name} {pj_to_uj(value):,.2f}" for name, value in t.energy_breakdown_pj.items())
    lines = [
        f"{report.network} on {report.accelerator.name} ({report.accelerator.describe()})",
        table.to_string(index=False),
        "",
        f"latency   {t.latency_cycles:,.0f} cycles = {t.latency_ms:,.4f} ms",
        f"energy    {t.energy_uj:,.2f} uJ  ({split} uJ)",
        f"area      {t.area_mm2:,.3f} mm2",
        f"MACs      {t.macs:,}   utilization {t.utilization:.3f}",
    ]
    return "\n".join(lines)


def format_templates(accelerators: list[Accelerator], docs: dict[str, dict[str, str]]) -> str:
    """One block per template: summary, then each parameter with its default and meaning."""
    blocks = []
    for acc in accelerators:
        rows = [f"{acc.name}  [dataflow: {acc.dataflow}]  {acc.summary}".rstrip()]
        for key, value in acc.params.items():
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            rows.append(f"    {key:<28} {shown:<16} {docs[acc.name].get(key, '')}")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)
