"""Run the demo's steps in order, timed, resumable (``DEMO_DIR/demo_state.json``), then report.

The state file records the plan and every finished step's measurements; ``resume`` skips the
steps it lists when the plan is unchanged (a different plan is an error, not a silent mix).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Optional

from fdpose.demo import steps
from fdpose.demo.plan import DemoPlan
from fdpose.demo.report import write_report
from fdpose.demo.result import DemoResult
from fdpose.demo.steps import STEP_NAMES, DemoContext
from fdpose.errors import ConfigError, InputError
from fdpose.io import read_json, write_json

log = logging.getLogger(__name__)

STATE_NAME = "demo_state.json"
SUMMARY_NAME = "summary.json"


def _state_path(out: Path) -> Path:
    return out / STATE_NAME


def _load_state(out: Path, plan: DemoPlan) -> dict[str, Any]:
    path = _state_path(out)
    if not path.is_file():
        return {"plan": plan.to_dict(), "steps": {}, "seconds": {}}
    state = read_json(path)
    stored = state.get("plan") if isinstance(state, dict) else None
    if stored != _plain(plan.to_dict()):
        raise ConfigError("holds a demo run with a different plan (quick/default, seed or threads): "
                          "use another -o or --overwrite", out)
    return state


def stored_threads(out: Path) -> Optional[int]:
    """The torch thread count of the demo run in ``out`` (None when there is none): a resumed demo keeps
    it, since the figures depend on it."""
    path = _state_path(out)
    if not path.is_file():
        return None
    state = read_json(path)
    threads = state.get("plan", {}).get("threads") if isinstance(state, dict) else None
    return threads if isinstance(threads, int) and threads >= 1 else None


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """The plan as it reads back from JSON (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix a new run into an old folder unless told (``resume`` or ``overwrite``); refuse
    ``resume`` where no demo started (the rule of train-aqa and finetune-hrnet: nothing to resume)."""
    if resume and not overwrite and not _state_path(out).is_file():
        raise InputError(f"nothing to resume: no {STATE_NAME} (a demo writes it as it starts); run without --resume",
                         out)
    if out.exists() and any(out.iterdir()):
        if overwrite:
            if not _state_path(out).is_file():
                raise ConfigError("--overwrite only replaces a folder made by fdpose demo (no demo_state.json)", out)
            shutil.rmtree(out)
        elif not resume:
            raise ConfigError("output folder is not empty: pass --resume to continue it or --overwrite", out)
    out.mkdir(parents=True, exist_ok=True)


def run_demo(ctx: DemoContext, resume: bool = False, on_step: Optional[Callable[[str, str], None]] = None
             ) -> DemoResult:
    """Run (or resume) every step; ``on_step(name, "start"|"done"|"skipped")`` reports progress."""
    import torch

    torch.set_num_threads(ctx.plan.threads)
    state = _load_state(ctx.out, ctx.plan) if resume else {"plan": ctx.plan.to_dict(), "steps": {}, "seconds": {}}
    if not resume:  # at once: a demo killed in its first step is still recognised (--resume, --overwrite)
        write_json(_state_path(ctx.out), state)
    result = DemoResult(ctx.out, ctx.plan)
    calls: dict[str, Callable[[], dict[str, Any]]] = {
        "synth": lambda: steps.step_synth(ctx),
        "validate": lambda: steps.step_validate(ctx),
        "finetune": lambda: steps.step_finetune(ctx),
        "track": lambda: steps.step_track(ctx, result.steps["finetune"]),
        "export": lambda: steps.step_export(ctx, result.steps.get("track")),
        "train_aqa": lambda: steps.step_train_aqa(ctx),
        "eval": lambda: steps.step_eval(ctx),
    }
    redo = False  # once a step runs again, every later step must too (its inputs changed)
    ran_now = False  # a step ran in this call: later steps' old outputs are stale
    for name in STEP_NAMES:
        if not redo and name in state["steps"]:
            result.steps[name] = state["steps"][name]
            result.seconds[name] = float(state["seconds"][name])
            if on_step:
                on_step(name, "skipped")
            continue
        redo = True
        if name == "track" and ran_now and ctx.track.exists():
            # The track step resumes clip by clip; outputs of an older checkpoint must not count.
            shutil.rmtree(ctx.track)
        ran_now = True
        if on_step:
            on_step(name, "start")
        log.info("demo step %s", name)
        t0 = time.perf_counter()
        result.steps[name] = calls[name]()
        result.seconds[name] = time.perf_counter() - t0
        state["steps"][name] = result.steps[name]
        state["seconds"][name] = round(result.seconds[name], 3)
        write_json(_state_path(ctx.out), state)
        if on_step:
            on_step(name, "done")
    result.report = write_report(result)
    write_json(ctx.out / SUMMARY_NAME, result.as_dict())
    return result
