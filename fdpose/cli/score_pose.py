"""The pose step of ``fdpose score``: track-and-estimate run on the one clip to be scored.

Orchestration lives here, above the stages: :mod:`fdpose.aqa_model.score` scores frames and a
pose file and imports no pipeline module; ``fdpose score`` hands it :func:`pose_estimator`, which
runs :func:`fdpose.pipelines.runner.run_batch` when the model needs a pose the user did not give,
and :func:`read_clip_pose`, the pipeline's reader of its clip JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from fdpose.errors import InputError
from fdpose.pipelines.clip_json import validate_clip_doc
from fdpose.pipelines.runner import RunConfig, run_batch

log = logging.getLogger(__name__)

__all__ = ["estimate_pose", "pose_estimator", "read_clip_pose"]


def read_clip_pose(doc: dict[str, Any], path: Path) -> tuple[np.ndarray, Optional[list[str]]]:
    """A parsed pipeline clip JSON -> its keypoints (T, 16, 3) (NaN where missing) and frame-file
    names (None for a video); one-line errors naming ``path`` (``ScoreRequest.read_clip_pose``)."""
    clip = validate_clip_doc(doc, path)
    return clip.keypoints, clip.file_names


def estimate_pose(clip: Path, pipeline: RunConfig) -> Path:
    """Run track-and-estimate on the one clip into ``pipeline.out``; returns its clip JSON.

    Raises :class:`InputError` naming the clip when the pipeline failed or skipped it (no
    person, two divers, unreadable video).
    """
    summary = run_batch([clip], pipeline, progress=False)
    if len(summary.outcomes) != 1:
        raise InputError(f"expected one clip, found {len(summary.outcomes)} (pass a video or one frame folder)", clip)
    outcome = summary.outcomes[0]
    if outcome.status != "done":
        reason = str(outcome.reason or "")
        prefix = f"{clip}: "
        raise InputError(f"pose pipeline {outcome.status}: {reason[len(prefix):] if reason.startswith(prefix) else reason}",
                         clip)
    path = Path(pipeline.out) / f"{outcome.clip_id}.json"
    log.info("pose of %s estimated by the pipeline: %s", clip, path)
    return path


def pose_estimator(pipeline: RunConfig) -> Callable[[Path], Path]:
    """``ScoreRequest.estimate_pose`` for these pipeline settings."""
    def run(clip: Path) -> Path:
        return estimate_pose(clip, pipeline)
    return run
