"""Benchmark of the NGPC study grid (run on demand, not by pytest):

    python tests/bench/bench_ngpc.py            # writes reports/bench_ngpc.md

Target (issue): the full app x encoding x scaling-factor grid in <= 1 s. Measured here
with 3 resolutions too (4 x 3 x 4 x 3 = 144 frames), cold (first call in the process:
every MLP costed through the per-kernel GPU model and the systolic model) and warm
(per-query costs cached; a frame is then arithmetic).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench_ngpc.md"
TARGET_S = 1.0


def main() -> None:
    from hwsim.graphics.study import grid

    start = time.perf_counter()
    df = grid()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        grid()
        warm.append(time.perf_counter() - start)
    best_warm = min(warm)
    verdict = "meets" if cold <= TARGET_S else "MISSES"
    REPORT.write_text("\n".join([
        "# NGPC grid benchmark (hwsim.graphics.study.grid)", "",
        f"{len(df)} frames (4 apps x 3 encodings x 3 resolutions x 4 scaling factors); python "
        f"{platform.python_version()} on {platform.machine()}.", "",
        "| run | seconds |", "|---|---|",
        f"| cold (first call: caches empty, lazy imports of pandas and the models included) | {cold:.3f} |",
        f"| warm (best of 5) | {best_warm:.3f} |", "",
        f"Target <= {TARGET_S} s for the full grid: cold run {verdict} it.", ""]))
    print(f"cold {cold:.3f} s, warm {best_warm:.3f} s -> {REPORT}")


if __name__ == "__main__":
    main()
