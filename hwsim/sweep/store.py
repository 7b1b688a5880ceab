"""A sweep's output folder: Parquet parts written chunk by chunk, and a manifest.

    out/
      part-00000.parquet      # chunk 0: points 0 .. chunk_points - 1
      part-00001.parquet
      _sweep.json             # the manifest: spec, fingerprint, chunks done

Each part is written to a hidden temporary file in the same folder and renamed
into place (``os.replace`` is atomic), and only then is the chunk added to the
manifest (itself rewritten the same way). So whenever the process dies -- even
by SIGKILL -- every part the manifest lists is complete, and ``--resume``
recomputes only the others; chunks are deterministic, so the resumed dataset
equals an uninterrupted run's. Names starting with ``_`` or ``.`` are skipped by
``pyarrow.dataset`` and ``pandas.read_parquet(out)``, which read the parts only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import SpecError

MANIFEST = "_sweep.json"
MANIFEST_VERSION = 1


def part_name(chunk: int) -> str:
    return f"part-{chunk:05d}.parquet"


def _write_atomic(path: Path, write) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path`` (same folder, so atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class ResultStore:
    """The output folder of one sweep (identified by its spec's fingerprint)."""

    def __init__(self, out, fingerprint: str, meta: dict, chunks: int, resume: bool):
        self.out = Path(out)
        self.fingerprint, self.chunks = fingerprint, chunks
        self.manifest_path = self.out / MANIFEST
        existing = self._read_manifest()
        if existing is not None and not resume:
            raise SpecError(f"field '--out' = '{self.out}': holds a sweep already ({MANIFEST}); pass --resume to "
                            "continue it, or choose another folder")
        if existing is not None and existing.get("fingerprint") != fingerprint:
            raise SpecError(f"field '--out' = '{self.out}': holds a different sweep (fingerprint "
                            f"{existing.get('fingerprint')}, this spec {fingerprint}): --resume needs the same "
                            "spec, template and networks")
        if existing is None and self.out.exists() and any(self.out.glob("part-*.parquet")):
            raise SpecError(f"field '--out' = '{self.out}': holds Parquet parts but no {MANIFEST}; choose an "
                            "empty or new folder")
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(".*.tmp"):         # a killed run's half-written part or manifest
            stale.unlink()
        listed = set(existing.get("done", [])) if existing else set()
        self.done = {c for c in listed if (self.out / part_name(c)).is_file()}
        self.meta = {**meta, "version": MANIFEST_VERSION, "fingerprint": fingerprint, "chunks": chunks}
        self._save()

    def _read_manifest(self) -> dict | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise SpecError(f"{self.manifest_path}: unreadable sweep manifest ({exc}); choose another --out") from None

    def _save(self) -> None:
        data = {**self.meta, "done": sorted(self.done), "complete": len(self.done) == self.chunks}
        _write_atomic(self.manifest_path, lambda tmp: tmp.write_text(json.dumps(data, indent=1)))

    def todo(self) -> list[int]:
        return [c for c in range(self.chunks) if c not in self.done]

    def write(self, chunk: int, table) -> None:
        """Write chunk ``chunk``'s table as its part, then record it as done."""
        import pyarrow.parquet as pq

        _write_atomic(self.out / part_name(chunk), lambda tmp: pq.write_table(table, tmp))
        self.done.add(chunk)
        self._save()


def read_results(out, columns=None):
    """The dataset of sweep folder ``out`` as one DataFrame, rows in point order
    (then network, then layer): the same whatever order the chunks were written in."""
    import pyarrow.dataset as ds

    out = Path(out)
    if not out.exists():
        raise SpecError(f"field 'results' = '{out}': no such file or folder")
    frame = ds.dataset(str(out), format="parquet").to_table(columns=columns).to_pandas()
    keys = [k for k in ("point", "network", "layer_index") if k in frame.columns]
    if keys and not frame.empty:
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return frame


__all__ = ["MANIFEST", "ResultStore", "part_name", "read_results"]
