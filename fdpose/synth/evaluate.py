"""Pipeline accuracy against a synthetic world's ground truth (``fdpose synth`` output).

Here, beside the generator, because only the simulator knows its ground-truth files; the
pipeline stages never read them.

*Tracking accuracy* of a clip: the share of frames where the tracker's decision is right.
A frame is right when the chosen box overlaps the true diver box with IoU >= ``iou_min``
while the detector found the diver there (some candidate has IoU >= ``iou_min`` with the
true box), and when no box is chosen while the detector did not find the diver.

*PCKh@0.5* of the estimated joints (``fdpose.metrics.pose.pckh``; head size proxy
``|head_top - upper_neck|`` of the ground truth) over the joints the ground truth marks in
view (visibility 1 or 2) in frames with a true diver box. Joints the pipeline left missing
count as wrong.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.errors import InputError
from fdpose.io import read_json
from fdpose.metrics.boxes import iou
from fdpose.metrics.pose import pckh
from fdpose.pipelines.clip_json import read_clip_json
from fdpose.pipelines.detectors.file import FileDetector
from fdpose.records import Boxes

__all__ = ["ClipScore", "gt_path", "load_gt", "tracking_correct", "evaluate_clip", "evaluate_run"]


@dataclass
class ClipScore:
    """Scores of one clip: tracking (frames right / frames) and PCKh@0.5 (correct / joints)."""

    clip_id: str
    frames: int
    tracking_correct: int
    pckh_correct: int
    pckh_joints: int

    @property
    def tracking_accuracy(self) -> float:
        return self.tracking_correct / self.frames if self.frames else float("nan")

    @property
    def pckh(self) -> float:
        return self.pckh_correct / self.pckh_joints if self.pckh_joints else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tracking_accuracy": round(self.tracking_accuracy, 6), "pckh": round(self.pckh, 6)}


def gt_path(world: Path, clip_id: str) -> Path:
    """``{world}/gt/{match}/{idx}.json`` of a ``{match}__{idx}`` clip id."""
    match, idx = clip_id.rsplit("__", 1)
    return Path(world) / "gt" / match / f"{idx}.json"


def load_gt(world: Path, clip_id: str) -> dict[str, Any]:
    path = gt_path(world, clip_id)
    if not path.is_file():
        raise InputError(f"no ground truth for clip {clip_id!r}", path)
    return read_json(path)


def _gt_box(frame: dict[str, Any]) -> Optional[np.ndarray]:
    box = (frame.get("diver") or {}).get("box")
    return None if box is None else np.asarray(box, dtype=np.float64)


def tracking_correct(gt: dict[str, Any], candidates: Sequence[Boxes | np.ndarray], boxes: np.ndarray,
                     iou_min: float = 0.5) -> np.ndarray:
    """(T,) bool: the tracker's decision is right in frame t (see the module docstring).

    candidates: T detector :class:`Boxes` (or (K_t, 5) rows); boxes: (T, >=4) chosen boxes, NaN rows for none.
    """
    out = np.zeros(len(gt["frames"]), dtype=bool)
    for t, frame in enumerate(gt["frames"]):
        g = _gt_box(frame)
        c = np.asarray(candidates[t], dtype=np.float64) if t < len(candidates) else np.zeros((0, 5))
        detected = g is not None and len(c) > 0 and float(iou(g, c).max()) >= iou_min
        chosen = t < len(boxes) and bool(np.isfinite(boxes[t][0]))
        if detected and g is not None:  # (detected implies a true box; said for the type checker)
            out[t] = chosen and float(iou(g, boxes[t][None, :4])[0]) >= iou_min
        else:
            out[t] = not chosen
    return out


def evaluate_clip(world: Path, clip_json: Path, detections: Optional[Path] = None, iou_min: float = 0.5,
                  threshold: float = 0.5) -> ClipScore:
    """Score one pipeline output against the world's ground truth (``detections``: the folder the
    run used, default ``{world}/detections``)."""
    clip = read_clip_json(clip_json)
    gt = load_gt(world, clip.clip_id)
    n = len(gt["frames"])
    cands = FileDetector(detections or Path(world) / "detections").for_clip(clip.clip_id).all_frames(n)
    right = tracking_correct(gt, cands, clip.boxes, iou_min)
    pred, true, vis = [], [], []
    for t, frame in enumerate(gt["frames"]):
        if _gt_box(frame) is None or t >= clip.frame_count:
            continue
        joints = np.asarray(frame["diver"]["joints"], dtype=np.float64)  # (16, 3) x, y, visibility
        pred.append(clip.keypoints[t, :, :2])
        true.append(joints[:, :2])
        vis.append(joints[:, 2] > 0)
    correct = joints_total = 0
    if pred:
        p = np.nan_to_num(np.stack(pred), nan=1e9)  # a missing joint is a miss, not a skip
        res = pckh(p, np.stack(true), np.stack(vis), threshold)
        joints_total = int(np.sum(res.count))
        correct = int(round(res.mean * joints_total)) if joints_total else 0
    return ClipScore(clip.clip_id, n, int(right.sum()), correct, joints_total)


def evaluate_run(world: Path, out: Path, detections: Optional[Path] = None) -> dict[str, Any]:
    """Scores of every ``{out}/*.json`` clip output, plus frame- and joint-weighted totals."""
    scores = [evaluate_clip(world, p, detections) for p in sorted(Path(out).glob("*.json"))]
    frames = sum(s.frames for s in scores)
    joints = sum(s.pckh_joints for s in scores)
    return {
        "clips": [s.to_dict() for s in scores],
        "tracking_accuracy": sum(s.tracking_correct for s in scores) / frames if frames else float("nan"),
        "pckh": sum(s.pckh_correct for s in scores) / joints if joints else float("nan"),
    }
