"""``nasaic.search``: the checkpointed co-search loop.

Each episode the controller proposes one network per task and up to ``1 +
hardware_retries`` hardware candidates; the loop evaluates them at once
(:meth:`nasaic.problem.Problem.evaluate`), keeps the first that meets every spec (else the
last), records every candidate and tells the controller. A progress bar (tqdm) shows the
episodes and the best accuracy meeting the specs so far.

Checkpoints: every ``checkpoint_every`` episodes the rows since the last checkpoint go to
``<out>/checkpoint/part-NNNNN.parquet`` and then ``checkpoint/state.json`` (the episode, the
controller's whole state including its random generator, the parts written, and a
fingerprint of the spec) is replaced atomically. ``resume=True`` reloads that state and
continues; since the controller's state and its generator are restored exactly, the
resumed run ends with the same designs and best design as an uninterrupted one. A part
written after the last state (a crash between the two writes) is ignored.

At the end :func:`nasaic.results.write_results` writes ``designs.parquet``,
``pareto.parquet``, ``best.json`` and the report.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.errors import SpecError

from .controllers import make_controller
from .controllers.base import Outcome, choose, reward
from .problem import Problem
from .results import design_rows
from .spec import Spec, spec_to_dict

STATE = "state.json"


@dataclass(frozen=True)
class SearchRun:
    """What a finished search leaves: every evaluated design and where it was written."""

    spec: Spec
    problem: Problem
    designs: pd.DataFrame
    out_dir: Path | None
    episodes_run: int           # episodes this call ran (after a resume: the remaining ones)


def fingerprint(spec: Spec) -> str:
    """A hash of everything that determines the result (not the file name)."""
    data = spec_to_dict(spec)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_search(spec: Spec, out_dir=None, *, resume: bool = False, progress: bool = True,
               problem: Problem | None = None, stop_after: int | None = None) -> SearchRun:
    """Run (or resume) the search of ``spec``; checkpoint into ``out_dir`` if given.

    ``stop_after``: stop (after checkpointing) once this many episodes have run in total —
    for tests of resumption; the designs so far stay in the checkpoint.
    """
    problem = problem or Problem(spec)
    settings = spec.search
    controller = make_controller(settings.controller, problem, settings, spec.seed)
    out = Path(out_dir) if out_dir is not None else None
    parts, rows, start = [], [], 0
    if resume:
        if out is None:
            raise SpecError("field 'resume' = true: needs an output directory to resume from")
        start, parts = _load_checkpoint(out, spec, controller)
    done = pd.concat([pd.read_parquet(out / "checkpoint" / p) for p in parts], ignore_index=True) \
        if parts else None
    best = _best_so_far(done)
    bar = _progress(progress, settings.episodes, start, spec.name, controller.name)
    episode = start
    try:
        while episode < settings.episodes and (stop_after is None or episode < stop_after):
            proposal = controller.propose()
            if proposal is None:
                break
            if len(proposal.genes) > 1 + settings.hardware_retries:
                raise SpecError(f"controller {controller.name!r} proposed {len(proposal.genes)} candidates; "
                                f"at most 1 + hardware_retries = {1 + settings.hardware_retries}")
            ev = problem.evaluate(proposal.genes)
            kept = choose(ev)
            r = reward(ev, kept, settings.slack_weight)
            controller.tell(proposal, Outcome(ev, kept, r))
            rows += design_rows(problem, ev, episode=episode, chosen=kept, reward=r,
                                controller=controller.name, seed=spec.seed)
            if ev.meets_specs[kept]:
                best = max(best, float(ev.objective_pct[kept]))
            episode += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(best_pct=f"{best:.2f}" if np.isfinite(best) else "-")
            if out is not None and episode % settings.checkpoint_every == 0:
                parts = _write_checkpoint(out, spec, controller, episode, rows, parts)
                rows = []
    finally:
        if bar is not None:
            bar.close()
    if out is not None and rows:
        parts = _write_checkpoint(out, spec, controller, episode, rows, parts)
        rows = []
    frames = ([pd.read_parquet(out / "checkpoint" / p) for p in parts] if out is not None
              else [pd.DataFrame(rows)] if rows else [])
    designs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return SearchRun(spec=spec, problem=problem, designs=designs, out_dir=out, episodes_run=episode - start)


def _best_so_far(done: pd.DataFrame | None) -> float:
    if done is None or done.empty:
        return -np.inf
    kept = done[done["chosen"] & done["meets_specs"]]
    return float(kept["objective_pct"].max()) if len(kept) else -np.inf


def _progress(enabled: bool, total: int, start: int, name: str, controller: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=start, desc=f"{name} [{controller}]", unit="episode", leave=False,
                mininterval=0.5, disable=None)          # None: no bar when stderr is not a terminal


def _write_checkpoint(out: Path, spec: Spec, controller, episode: int, rows: list[dict],
                      parts: list[str]) -> list[str]:
    """Write the rows since the last checkpoint as a new part, then the state naming it."""
    folder = out / "checkpoint"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"part-{len(parts):05d}.parquet"
    tmp = folder / (name + ".tmp")
    pd.DataFrame(rows).to_parquet(tmp, index=False)
    os.replace(tmp, folder / name)
    parts = parts + [name]
    state = {"fingerprint": fingerprint(spec), "episode": episode, "controller": controller.name,
             "parts": parts, "controller_state": controller.state()}
    tmp = folder / (STATE + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, folder / STATE)
    return parts


def _load_checkpoint(out: Path, spec: Spec, controller) -> tuple[int, list[str]]:
    path = out / "checkpoint" / STATE
    if not path.is_file():
        raise SpecError(f"{path}: no checkpoint to resume from (run without --resume first)")
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError(f"{path}: unreadable checkpoint ({exc}); delete the folder to start again") from None
    if state.get("fingerprint") != fingerprint(spec) or state.get("controller") != controller.name:
        raise SpecError(f"{path}: field 'fingerprint' = {state.get('fingerprint')!r}: the checkpoint belongs to "
                        "another spec, seed or controller; use a new --out folder")
    controller.load_state(state["controller_state"])
    return int(state["episode"]), list(state["parts"])


__all__ = ["SearchRun", "fingerprint", "run_search"]
