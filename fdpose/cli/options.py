"""Option parsers shared by several command modules (each module imports these, never another command module)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Optional

import click

from fdpose.errors import ConfigError

#: What track-and-estimate (and score without --pose) run with no backend flag: models install.sh places, so
#: nothing else is needed (docs/detector.md and docs/pose.md hold the real-footage measurements behind them).
DEFAULT_DETECTOR = "ssd"
DEFAULT_POSE = "mediapipe"

#: ``--seed`` of every command: what numpy, torch and mmengine (np.random.seed: 32 bits) all accept.
SEED = click.IntRange(0, 2 ** 32 - 1)


def pick_backends(detector: Optional[str], detections: Optional[object], pose: Optional[str],
                  pose_checkpoint: Optional[object], pose_config: Optional[object]) -> tuple[str, str]:
    """(detector, pose) backends: the flags only one backend takes pick it when the backend flag is absent."""
    if detector is None:
        detector = "file" if detections is not None else DEFAULT_DETECTOR
    if pose is None:
        pose = "hrnet" if pose_checkpoint is not None or pose_config is not None else DEFAULT_POSE
    return detector, pose


def parse_box(text: Optional[str], option: str = "--init-box") -> Optional[tuple[float, float, float, float]]:
    """``"x1,y1,x2,y2"`` -> a box with x2 > x1 and y2 > y1 (None stays None); else a one-line :class:`ConfigError`."""
    if text is None:
        return None
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= values[0] or values[3] <= values[1]:
        raise ConfigError(f"{option} must be x1,y1,x2,y2 with x2 > x1 and y2 > y1, got {text!r}")
    return values[0], values[1], values[2], values[3]


def finite(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> Optional[float]:
    """click callback: refuse NaN and infinities (``click.FloatRange`` lets them through); None passes."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}")
    return value


def threads_option(more: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--threads``, one rule for every command that runs torch: absent or 0 = chosen for the machine
    (:func:`fdpose.runtime.choose_threads`: the usable cores minus those other processes keep busy, unless
    OMP_NUM_THREADS is set); a negative count is a usage error (exit 2). ``more``: what else the command says."""
    return click.option(
        "--threads", type=click.IntRange(min=0), default=None,
        help="Torch CPU threads per process (absent or 0: automatic, the cores other processes leave free"
             f"{more}; env FDPOSE_THREADS).")


def set_threads(threads: Optional[int]) -> Optional[int]:
    """Apply ``--threads`` by :mod:`fdpose.runtime`'s rule (the one helper of every torch command): the count
    set, or None when the user's OMP_NUM_THREADS governs (torch read it; left as is)."""
    from fdpose.runtime import apply_threads, resolve_threads

    if resolve_threads(threads) is None:
        return None
    return apply_threads(threads)


def tracker_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--tracker PRESET``, ``--tracker-config FILE``, ``--tracker-set KEY=VALUE`` (repeatable): the diver
    tracker's settings, applied in that order (:mod:`fdpose.pipelines.tracking.settings`; read with
    :func:`tracker_from_options`)."""
    func = click.option("--tracker-set", "tracker_set", multiple=True, metavar="SECTION.FIELD=VALUE",
                        help="Change one tracker setting (repeatable), e.g. fill.enabled=true or gates.max_jump=2; "
                             "the sections and what each field does: docs/tracker.md.")(func)
    func = click.option("--tracker-config", "tracker_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="JSON of tracker changes {section: {field: value}}, or a clip JSON of an earlier run "
                             "(its tracker).")(func)
    func = click.option("--tracker", "tracker_preset", type=click.Choice(["default", "paper"]), default="default",
                        show_default=True,
                        help="Tracker preset: default (every refinement measured on real footage) or paper "
                             "(Eq. 25 alone: nearest neighbour, no refinement).")(func)
    return func


def tracker_from_options(preset: str, file: Optional[Path], assignments: tuple[str, ...]) -> Any:
    """The :class:`~fdpose.pipelines.tracking.config.TrackerConfig` of :func:`tracker_options`' values."""
    from fdpose.pipelines.tracking.settings import tracker_config

    return tracker_config(preset, file, assignments)


def pose_set_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--pose-set NAME=VALUE`` (repeatable): a field of the mediapipe pose backend's config for this run
    (:mod:`fdpose.pipelines.pose.options`; read with :func:`pose_options_from`)."""
    return click.option("--pose-set", "pose_set", multiple=True, metavar="NAME=VALUE",
                        help="Change one setting of the mediapipe pose backend (repeatable), e.g. model_complexity=2 "
                             "(BlazePose heavy) or consensus_angles=[120,240]; fields and measurements: "
                             "docs/pose.md.")(func)


def pose_options_from(backend: str, assignments: tuple[str, ...]) -> dict[str, Any]:
    """The checked ``{field: value}`` of :func:`pose_set_option`'s pairs for ``backend``."""
    from fdpose.pipelines.pose.options import parse_pose_options

    return parse_pose_options(backend, assignments)
