"""``nasaic.space``: search spaces whose networks have real, measured accuracy.

* :mod:`nasaic.space.nb201` -- NAS-Bench-201 cells (15,625 networks, CIFAR-10/100 and
  ImageNet16-120 accuracy from NATS-Bench);
* :mod:`nasaic.space.mnasnet` -- the MnasNet-like (EfficientNet-B0 skeleton) space of
  Accel-NASBench (5,138 tabulated networks, ImageNet top-1).

Both build :class:`hwsim.Network` DAGs from the ``hwsim.workload`` constructors, so every
network can be costed by ``hwsim.evaluate`` / ``evaluate_many`` / ``hwsim.system``.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwsim.errors import SpecError

#: ../shared/reference beside the repository, as tests/refdata.py resolves it.
DEFAULT_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def reference_dir(path=None) -> Path:
    """The reference-data folder (``path``, else ``$NASAIC_REFERENCE``, else the repository's
    ../shared/reference);
    a clear SpecError if it or its ``nasbench/`` subfolder is missing."""
    if path is None:
        path = os.environ.get("NASAIC_REFERENCE") or DEFAULT_REFERENCE
    root = Path(path)
    if not (root / "nasbench").is_dir():
        raise SpecError(f"field 'reference_dir' = '{root}': no nasbench/ folder there; set $NASAIC_REFERENCE to (or pass) the folder "
                        "holding nasbench/nb201_accuracy.csv and nasbench/accel_nasbench_mnas.csv")
    return root


from . import mnasnet, nb201  # noqa: E402  (they import reference_dir above)

__all__ = ["DEFAULT_REFERENCE", "mnasnet", "nb201", "reference_dir"]
