"""Pose accuracy: PCKh (MPII convention, with a documented head-size proxy) and box-normalised PCK.

MPII's PCKh normalises by 0.6 x the diagonal of a head box drawn by annotators. Our labels
(and FineDiving-Pose) have no head box, so the head size used here is the proxy
``|head_top - upper_neck|`` of the *ground-truth* pose (method.md 3.6). For a typical
MPII annotation the two agree within ~10%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fdpose.metrics.boxes import diags
from fdpose.skeleton import HEAD_TOP, JOINT_NAMES, NUM_JOINTS, UPPER_NECK


def head_size(gt_xy: np.ndarray) -> np.ndarray:
    """Head-size proxy |head_top - upper_neck| per pose.

    gt_xy: (N, 16, 2) ground-truth coordinates. Returns (N,) float64 (NaN when either joint is NaN).
    """
    gt_xy = np.asarray(gt_xy, dtype=np.float64)
    return np.linalg.norm(gt_xy[:, HEAD_TOP] - gt_xy[:, UPPER_NECK], axis=-1)


@dataclass
class PCKResult:
    """Per-joint and mean correct-keypoint rates at one threshold.

    per_joint: (16,) share of evaluated joints within the threshold (NaN where none evaluated).
    mean: mean over all evaluated joints (not over the per-joint means).
    count: (16,) number of evaluated joints.
    """

    threshold: float
    normaliser: str
    per_joint: np.ndarray
    mean: float
    count: np.ndarray

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "normaliser": self.normaliser,
            "mean": self.mean,
            "per_joint": {n: (None if np.isnan(v) else float(v)) for n, v in zip(JOINT_NAMES, self.per_joint)},
            "count": {n: int(c) for n, c in zip(JOINT_NAMES, self.count)},
        }


def pck(
    pred_xy: np.ndarray,
    gt_xy: np.ndarray,
    visible: np.ndarray,
    normaliser: np.ndarray,
    threshold: float,
    normaliser_name: str = "custom",
) -> PCKResult:
    """Share of joints whose prediction lies within ``threshold * normaliser`` of the truth.

    pred_xy, gt_xy: (N, 16, 2); visible: (N, 16) bool (only these joints are evaluated);
    normaliser: (N,) per-pose length (poses with a non-positive or NaN length are skipped).
    """
    pred_xy = np.asarray(pred_xy, dtype=np.float64)
    gt_xy = np.asarray(gt_xy, dtype=np.float64)
    if pred_xy.shape != gt_xy.shape or pred_xy.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"pred and gt must both be (N, {NUM_JOINTS}, 2), got {pred_xy.shape} and {gt_xy.shape}")
    norm = np.asarray(normaliser, dtype=np.float64)
    valid = np.asarray(visible, dtype=bool) & np.isfinite(gt_xy).all(-1)
    valid &= (np.isfinite(norm) & (norm > 0))[:, None]
    dist = np.linalg.norm(pred_xy - gt_xy, axis=-1)
    # A missing prediction (NaN) counts as wrong, not as skipped.
    with np.errstate(invalid="ignore", divide="ignore"):
        correct = np.where(np.isfinite(dist), dist <= threshold * norm[:, None], False) & valid
    count = valid.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(count > 0, correct.sum(0) / np.maximum(count, 1), np.nan)
    total = int(valid.sum())
    mean = float(correct.sum() / total) if total else float("nan")
    return PCKResult(threshold, normaliser_name, per_joint, mean, count)


def pckh(pred_xy: np.ndarray, gt_xy: np.ndarray, visible: np.ndarray, threshold: float = 0.5) -> PCKResult:
    """PCKh@threshold with the head-size proxy |head_top - upper_neck| of the ground truth."""
    return pck(pred_xy, gt_xy, visible, head_size(gt_xy), threshold, "head_top-upper_neck")


def pck_bbox(
    pred_xy: np.ndarray, gt_xy: np.ndarray, visible: np.ndarray, boxes_xyxy: np.ndarray, threshold: float = 0.2
) -> PCKResult:
    """PCK@threshold of the ground-truth box diagonal."""
    return pck(pred_xy, gt_xy, visible, diags(boxes_xyxy, floor=0.0), threshold, "box_diagonal")
