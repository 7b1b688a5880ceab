"""Benchmark of the NumPy hash-grid encoder (run on demand):

    python tests/bench/bench_hashgrid.py       # writes reports/bench_hashgrid.md

Target (issue 10): >= 2 M 3-D queries/s for 16 levels on one core (instant-ngp's NeRF
setting: 2 features per level, 2^19 entries, base 16, scale 1.382). Best of 3 runs
after a warm-up, 2^18 random points.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hwsim.graphics.hashgrid import HashGridEncoding  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "reports" / "bench_hashgrid.md"


def rate(dtype, n=1 << 18) -> float:
    enc = HashGridEncoding(16, 2, 19, 16, 1.382)
    tables = enc.init_tables(0, dtype)
    points = np.random.default_rng(0).random((n, 3))
    enc.encode(points[:4096], tables)
    best = min(_timed(enc, points, tables) for _ in range(3))
    return n / best


def _timed(enc, points, tables) -> float:
    start = time.perf_counter()
    enc.encode(points, tables)
    return time.perf_counter() - start


def main() -> int:
    rows = [(np.dtype(d).name, rate(d)) for d in (np.float32, np.float16)]
    lines = ["# Hash-grid encoder benchmark", "",
             f"`python tests/bench/bench_hashgrid.py`, Python {platform.python_version()}, one core; 16 levels x 2 "
             "features, 2^19 entries, 2^18 random 3-D points, best of 3.", "",
             "| table dtype | M queries/s | target |", "|---|---|---|"]
    lines += [f"| {name} | {r / 1e6:.2f} | >= 2 |" for name, r in rows]
    OUT.write_text("\n".join(lines) + "\n")
    for name, r in rows:
        print(f"{name}: {r / 1e6:.2f} M queries/s (target 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
