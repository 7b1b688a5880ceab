"""``write_gantt(report, path)``: a Gantt chart (PNG) of a chip's schedule.

One row per sub-accelerator, one bar per schedule row of the report (a layer in
a simulated report, a whole task in a closed-form one), coloured by task, with a
dashed line at the makespan. matplotlib is imported inside the function (Agg
backend, no display needed), so importing hwsim.system never loads it.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import HwsimError
from .report import ChipReport


def write_gantt(report: ChipReport, path, *, title: str | None = None, dpi: int = 120) -> Path:
    """Draw ``report.schedule`` into the PNG file ``path``; returns the path.

    Times are in ms. A report with no schedule rows (nothing ran) still gives a
    chart with the sub-accelerator rows and a note."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    path = Path(path)
    subs = [s.name for s in report.subs] or sorted({r.sub for r in report.schedule})
    row_of = {name: i for i, name in enumerate(subs)}
    tasks = [t.name for t in report.tasks] or list(dict.fromkeys(r.task for r in report.schedule))
    cmap = plt.get_cmap("tab10" if len(tasks) <= 10 else "tab20")
    colour = {name: cmap(i % cmap.N) for i, name in enumerate(tasks)}
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.6 * len(subs)))
    try:
        span = max((r.finish_s for r in report.schedule if math.isfinite(r.finish_s)), default=0.0) * 1e3
        for row in report.schedule:
            start, finish = row.start_s * 1e3, row.finish_s * 1e3
            if not (math.isfinite(start) and math.isfinite(finish)):
                continue
            y = row_of.setdefault(row.sub, len(row_of))
            width = max(finish - start, 0.0)
            outline = 0.3 if width > span / 200 else 0.0     # an outline would hide a very short bar's colour
            ax.barh(y, width, left=start, height=0.7, color=colour.get(row.task, "grey"),
                    edgecolor="black", linewidth=outline)
        makespan_ms = report.latency_s * 1e3
        if math.isfinite(makespan_ms) and makespan_ms > 0:
            ax.axvline(makespan_ms, color="black", linestyle="--", linewidth=1)
            ax.text(makespan_ms, 1.0, f"makespan {makespan_ms:.3f} ms", transform=ax.get_xaxis_transform(),
                    ha="right", va="bottom", fontsize=8)
        elif not report.feasible:
            ax.text(0.5, 0.5, "infeasible: " + report.error[:120], transform=ax.transAxes, ha="center",
                    fontsize=8, color="red")
        if not report.schedule:
            ax.text(0.5, 0.5, "no schedule rows", transform=ax.transAxes, ha="center", fontsize=9)
        names = sorted(row_of, key=row_of.get)
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.5, -0.5)              # first sub-accelerator on top
        ax.set_xlabel("time (ms)")
        ax.set_xlim(left=0)
        ax.set_title(title or f"{report.chip}: {report.method}, DRAM {report.dram_policy}")
        ax.legend(handles=[Patch(color=colour[t], label=t) for t in tasks], loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title="task")
        fig.tight_layout()
        try:
            fig.savefig(path, dpi=dpi, format="png")
        except OSError as exc:
            raise HwsimError(f"{path}: cannot write the Gantt chart: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path


__all__ = ["write_gantt"]
