"""Plain-text tables for the terminal (the ``hwsim`` command prints these)."""

from __future__ import annotations

from ..evaluate import CostReport
from ..hardware.accelerator import Accelerator
from ..units import pj_to_uj

LAYER_COLUMNS = ["layer", "op", "macs", "latency_cycles", "utilization", "energy_uj", "bound"]


def _cells(columns, max_layers):
    """The per-layer table's cells as strings, one list per column."""
    n = len(columns["layer"]) if max_layers is None else min(max_layers, len(columns["layer"]))
    formats = {
        "layer": str, "op": str, "bound": str, "macs": "{:,}".format,
        "latency_cycles": "{:,.0f}".format, "utilization": "{:.3f}".format, "energy_uj": "{:,.2f}".format,
    }
    values = dict(columns, energy_uj=pj_to_uj(columns["energy_pj"]))
    return {name: [formats[name](v) for v in values[name][:n]] for name in LAYER_COLUMNS}


def _table(cells) -> str:
    """Right-aligned columns under their names (text columns left-aligned)."""
    widths = {name: max(len(name), *(len(c) for c in col)) for name, col in cells.items()}
    left = {"layer", "op", "bound"}
    align = lambda name, text: text.ljust(widths[name]) if name in left else text.rjust(widths[name])
    rows = [" ".join(align(name, name) for name in cells)]
    rows += [" ".join(align(name, cells[name][i]) for name in cells) for i in range(len(cells["layer"]))]
    return "\n".join(row.rstrip() for row in rows)


def format_report(report: CostReport, max_layers: int | None = None) -> str:
    """Per-layer table, then totals: latency (cycles, ms), energy (uJ, split by level), area."""
    t = report.total
    split = ", ".join(f"{name} {pj_to_uj(value):,.2f}" for name, value in t.energy_breakdown_pj.items())
    lines = [
        f"{report.network} on {report.accelerator.name} ({report.accelerator.describe()})",
        _table(_cells(report.columns, max_layers)),
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


def markdown_table(header, rows) -> str:
    """A GitHub-flavoured Markdown table (the generated reports' tables)."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])
