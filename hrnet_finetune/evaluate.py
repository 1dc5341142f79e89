"""Accuracy of a checkpoint on LabelMe folders: ``fdpose finetune-hrnet eval CHECKPOINT LABELME_DIR``.

Each labelled frame is estimated on its ground-truth diver box (the top-down protocol: pose
accuracy apart from detection), with flip test, and scored with PCKh@0.5, PCKh@0.1 (head-size
proxy |head_top - upper_neck|) and PCK@0.2 of the box diagonal, per joint and mean
(:mod:`fdpose.hrnet_finetune.metric`). Frames without a box use the box the MPII export would
use (:func:`fdpose.annotations.mpii.crop_box`).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from fdpose.errors import InputError
from fdpose.annotations.dataset import LabelledFrame
from fdpose.annotations.mpii import crop_box
from fdpose.annotations.protocol import VIS_ABSENT
from fdpose.hrnet_finetune.data import read_folders
from fdpose.hrnet_finetune.inference import DEFAULT_BATCH, PoseModel, estimate_many, load_pose_model
from fdpose.hrnet_finetune.metric import PoseScores, pose_scores

log = logging.getLogger(__name__)


@dataclass
class EvalReport:
    """Scores of ``checkpoint`` on ``frames`` labelled frames of ``sources``.

    predictions: (N, 16, 3) [x, y, score] per evaluated frame, in the order of ``frame_ids``.
    """

    checkpoint: str
    sources: list[str]
    scores: PoseScores
    frame_ids: list[str]
    predictions: np.ndarray
    flip_test: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "sources": self.sources,
            "flip_test": self.flip_test,
            "head_size": "|head_top - upper_neck| of the ground truth (fdpose.metrics.pose)",
            **self.scores.to_dict(),
        }


def _read_image(frame: LabelledFrame) -> np.ndarray:
    path = frame.image_file()
    if path is None:
        raise InputError("label has no imagePath", frame.json_path)
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"image not found or unreadable: {path}", frame.json_path)
    return image


def evaluate_frames(pm: PoseModel, frames: Sequence[LabelledFrame], flip_test: bool = True,
                    batch_size: int = DEFAULT_BATCH, progress: bool = False) -> tuple[PoseScores, np.ndarray, list[str]]:
    """Scores, predictions (N, 16, 3) and ids of the frames that have a box to crop."""
    usable = [(f, crop_box(f.label)) for f in frames]
    usable = [(f, b) for f, b in usable if b is not None]
    if not usable:
        raise InputError("no frame has a box or joints to evaluate", frames[0].root if frames else None)
    preds: list[np.ndarray] = []
    it = range(0, len(usable), batch_size)
    if progress:
        from fdpose.progress import tqdm

        it = tqdm(it, desc="evaluating", unit="batch", file=sys.stderr, leave=False)
    for i in it:
        chunk = usable[i:i + batch_size]
        preds.append(estimate_many(pm, [(_read_image(f), b) for f, b in chunk], flip_test, batch_size))
    pred = np.concatenate(preds)
    gt = np.stack([f.label.xy for f, _ in usable])
    present = np.stack([f.label.visibility > VIS_ABSENT for f, _ in usable])
    boxes = np.stack([b for _, b in usable])
    return pose_scores(pred[..., :2], gt, present, boxes), pred, [f.id for f, _ in usable]


def evaluate_checkpoint(checkpoint: str | os.PathLike[str], labelme_dirs: Sequence[str | os.PathLike[str]],
                        config: Optional[str | os.PathLike[str]] = None, device: str = "auto", flip_test: bool = True,
                        batch_size: int = DEFAULT_BATCH, progress: bool = False) -> EvalReport:
    """Evaluate ``checkpoint`` (its embedded config unless ``config``) on every frame of the folders."""
    roots = read_folders([Path(d) for d in labelme_dirs], progress=progress)
    pm = load_pose_model(config, checkpoint, device)
    frames = [f for r in roots for f in r]
    scores, pred, ids = evaluate_frames(pm, frames, flip_test, batch_size, progress)
    log.info("evaluated %s on %d frames: PCKh@0.5 %.4f", checkpoint, scores.frames, scores.pckh_05.mean)
    return EvalReport(str(checkpoint), [os.fspath(d) for d in labelme_dirs], scores, ids, pred, flip_test)
