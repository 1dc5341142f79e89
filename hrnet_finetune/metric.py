"""Pose accuracy of a model on labelled frames: PCKh@0.5, PCKh@0.1 and PCK@0.2 of the box diagonal.

The numbers come from :mod:`fdpose.metrics.pose` (head-size proxy |head_top - upper_neck|,
documented there). Evaluated joints: every joint with a position (visible or occluded; absent
joints are skipped). :class:`DiverPCKhMetric` is the mmengine metric the training loop's
validation uses (and the best checkpoint is selected on); :func:`pose_scores` is the same
computation for the ``eval`` command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS

from fdpose.metrics.pose import PCKResult, pck_bbox, pckh
from fdpose.skeleton import NUM_JOINTS

#: Metric keys (as logged and as stored in history/metrics JSON).
PCKH_05 = "PCKh@0.5"
PCKH_01 = "PCKh@0.1"
PCK_BOX_02 = "PCK@0.2"
#: Prefix mmengine puts before the keys of :class:`DiverPCKhMetric`.
METRIC_PREFIX = "pose"


@dataclass
class PoseScores:
    """The three accuracy figures over ``frames`` poses."""

    frames: int
    pckh_05: PCKResult
    pckh_01: PCKResult
    pck_box_02: PCKResult

    def summary(self) -> dict[str, float]:
        """Mean values by metric key."""
        return {PCKH_05: self.pckh_05.mean, PCKH_01: self.pckh_01.mean, PCK_BOX_02: self.pck_box_02.mean}

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "evaluated_joints": "present (visible or occluded)",
            PCKH_05: self.pckh_05.to_dict(),
            PCKH_01: self.pckh_01.to_dict(),
            PCK_BOX_02: self.pck_box_02.to_dict(),
        }


def pose_scores(pred_xy: np.ndarray, gt_xy: np.ndarray, present: np.ndarray, boxes_xyxy: np.ndarray) -> PoseScores:
    """Scores of predictions against ground truth.

    pred_xy, gt_xy: (N, 16, 2) image pixels; present: (N, 16) bool joints to evaluate;
    boxes_xyxy: (N, 4) ground-truth diver boxes (normaliser of PCK@0.2).
    """
    pred = np.asarray(pred_xy, dtype=np.float64).reshape(-1, NUM_JOINTS, 2)
    gt = np.asarray(gt_xy, dtype=np.float64).reshape(-1, NUM_JOINTS, 2)
    vis = np.asarray(present, dtype=bool).reshape(-1, NUM_JOINTS)
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    # Absent joints carry placeholder coordinates in mmpose data (0, 0): make them NaN so a pose
    # without head_top or upper_neck has no head size (skipped) instead of a huge one.
    gt = np.where(vis[..., None], gt, np.nan)
    return PoseScores(
        frames=len(pred),
        pckh_05=pckh(pred, gt, vis, 0.5),
        pckh_01=pckh(pred, gt, vis, 0.1),
        pck_box_02=pck_bbox(pred, gt, vis, boxes, 0.2),
    )


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


@METRICS.register_module()
class DiverPCKhMetric(BaseMetric):
    """PCKh@0.5 / PCKh@0.1 / PCK@0.2 (box) of top-down predictions, via :func:`pose_scores`.

    Reads ``pred_instances.keypoints`` and ``gt_instances.{keypoints, keypoints_visible, bboxes}``
    (one instance per sample, original image pixels) of each data sample. mmengine logs the
    keys as ``pose/PCKh@0.5`` ...; the checkpoint hook selects the best epoch on ``pose/PCKh@0.5``.
    """

    default_prefix: Optional[str] = METRIC_PREFIX

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt = sample["gt_instances"]
            self.results.append((
                _numpy(sample["pred_instances"]["keypoints"])[0, :, :2],
                _numpy(gt["keypoints"])[0, :, :2],
                _numpy(gt["keypoints_visible"]).reshape(-1)[:NUM_JOINTS] > 0,
                _numpy(gt["bboxes"]).reshape(-1)[:4],
            ))

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, vis, boxes = (np.stack(col) for col in zip(*results))
        return pose_scores(pred, gt, vis, boxes).summary()
