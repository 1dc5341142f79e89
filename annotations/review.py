"""Two-annotator review: agreement between two LabelMe folders and a merged, reviewed label set.

Frames are matched by the label file's relative path (the frame id of
:mod:`fdpose.annotations.dataset`, e.g. ``01/clip_a/00012``), which in the protocol's layout is
also the image's relative path.

Per matched frame:

* joint distance: ``|p_first - p_second| / head`` for joints both annotators placed. ``head`` is
  the head-size proxy |head_top - upper_neck| (fdpose.metrics.pose.head_size) averaged over the
  two annotators (one annotator's when only one has both head joints). Without head joints
  the fallback is 1/8 of the mean box diagonal (a head is about an eighth of body height); with
  neither the frame's distances are not normalised (NaN, never flagged).
* box IoU of the two diver boxes (None unless both drew one).
* visibility disagreements (both placed the joint, one flagged it occluded), joints placed by
  one annotator only (normal corrections: reported, not flagged).
* left/right swaps: a flip pair (fdpose.skeleton.FLIP_PAIRS) placed by both is swapped when its
  mean direct distance exceeds the threshold and the crossed distance (right of one vs left of
  the other) is below ``swap_ratio`` times the direct one.

A frame needs a third look when any joint lies beyond the threshold, the box IoU is below
``min_box_iou``, it has no counterpart in the other folder, or a pair is swapped.

Merge: per joint (and for the box) the preferred annotator's value when placed, else the
other's; frames with no counterpart are copied. Provenance goes into each merged file's
top-level ``fdpose_review`` key (:func:`merge_provenance`), which labelme keeps untouched.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.errors import ConfigError, InputError
from fdpose.io import write_json
from fdpose.metrics.boxes import iou
from fdpose.metrics.pose import head_size, pck
from fdpose.skeleton import FLIP_PAIRS, JOINT_NAMES, NUM_JOINTS
from fdpose.annotations.dataset import REVIEW_REPORT_NAME, LabelledFrame, frames_by_id, load_labelme_folder
from fdpose.annotations.labelme import write_labelme
from fdpose.annotations.protocol import VIS_ABSENT, ManualLabel, label_to_doc

log = logging.getLogger(__name__)

FIRST, SECOND = "first", "second"
#: Top-level key of merged LabelMe files holding the review provenance.
PROVENANCE_KEY = "fdpose_review"
#: Head size fallback: this fraction of the mean box diagonal.
BOX_HEAD_FRACTION = 1.0 / 8.0


@dataclass(frozen=True)
class ReviewConfig:
    """Review thresholds. threshold: normalised joint distance; min_box_iou; swap_ratio (see module doc)."""

    threshold: float = 0.5
    min_box_iou: float = 0.7
    swap_ratio: float = 0.5

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise ConfigError(f"threshold must be positive, got {self.threshold}")
        if not math.isfinite(self.threshold):  # inf: no disagreement would ever need a third look
            raise ConfigError(f"threshold must be finite, got {self.threshold}")
        if not 0 <= self.min_box_iou <= 1:
            raise ConfigError(f"min_box_iou must be in [0, 1], got {self.min_box_iou}")
        if not 0 < self.swap_ratio < 1:
            raise ConfigError(f"swap_ratio must be in (0, 1), got {self.swap_ratio}")


@dataclass
class FrameReview:
    """Agreement of the two annotators on one frame.

    distance: (16,) normalised joint distances (NaN unless both placed the joint and a head size exists).
    """

    id: str
    status: str  # "matched", "first_only", "second_only"
    head_size: float = float("nan")
    head_size_source: str = "none"  # "head", "box" or "none"
    distance: np.ndarray = field(default_factory=lambda: np.full(NUM_JOINTS, np.nan))
    box_iou: Optional[float] = None
    visibility_mismatch: list[str] = field(default_factory=list)
    only_first: list[str] = field(default_factory=list)
    only_second: list[str] = field(default_factory=list)
    swapped_pairs: list[str] = field(default_factory=list)
    beyond_threshold: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return bool(self.reasons)

    def worst_joint(self) -> tuple[Optional[str], float]:
        """(name, normalised distance) of the largest disagreement, (None, nan) when none measured."""
        if not np.isfinite(self.distance).any():
            return None, float("nan")
        j = int(np.nanargmax(self.distance))
        return JOINT_NAMES[j], float(self.distance[j])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "needs_review": self.needs_review,
            "reasons": list(self.reasons),
            "head_size": None if not np.isfinite(self.head_size) else float(self.head_size),
            "head_size_source": self.head_size_source,
            "box_iou": self.box_iou,
            "joint_distance": {n: (None if not np.isfinite(d) else float(d)) for n, d in zip(JOINT_NAMES, self.distance)},
            "beyond_threshold": list(self.beyond_threshold),
            "swapped_pairs": list(self.swapped_pairs),
            "visibility_mismatch": list(self.visibility_mismatch),
            "only_first": list(self.only_first),
            "only_second": list(self.only_second),
        }


@dataclass
class ReviewReport:
    """All frames' reviews plus per-joint agreement (share of joints within the threshold)."""

    first_root: str
    second_root: str
    config: ReviewConfig
    frames: list[FrameReview]
    joint_agreement: dict[str, Optional[float]]
    mean_agreement: Optional[float]

    @property
    def flagged(self) -> list[FrameReview]:
        return [f for f in self.frames if f.needs_review]

    def summary(self) -> dict[str, Any]:
        ious = [f.box_iou for f in self.frames if f.box_iou is not None]
        return {
            "frames": len(self.frames),
            "matched": sum(f.status == "matched" for f in self.frames),
            "first_only": sum(f.status == "first_only" for f in self.frames),
            "second_only": sum(f.status == "second_only" for f in self.frames),
            "needs_review": len(self.flagged),
            "swapped_frames": sum(bool(f.swapped_pairs) for f in self.frames),
            "visibility_mismatches": sum(len(f.visibility_mismatch) for f in self.frames),
            "mean_box_iou": float(np.mean(ious)) if ious else None,
            "mean_joint_agreement": self.mean_agreement,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first_root,
            "second": self.second_root,
            "config": {
                "threshold": self.config.threshold,
                "min_box_iou": self.config.min_box_iou,
                "swap_ratio": self.config.swap_ratio,
                "normaliser": "mean over annotators of |head_top - upper_neck| (fallback: mean box diagonal / 8)",
            },
            "summary": self.summary(),
            "joint_agreement": dict(self.joint_agreement),
            "needs_review": [f.id for f in self.flagged],
            "frames": [f.to_dict() for f in self.frames],
        }


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two xyxy boxes (4,) (0 for disjoint or degenerate boxes)."""
    return float(iou(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)[None])[0])


def frame_head_size(first: ManualLabel, second: ManualLabel) -> tuple[float, str]:
    """(head size px, source) for one frame pair (see the module docstring)."""
    sizes = head_size(np.stack([first.xy, second.xy]))
    sizes = sizes[np.isfinite(sizes) & (sizes > 1e-6)]
    if len(sizes):
        return float(sizes.mean()), "head"
    diags = [float(np.hypot(b.widths[0], b.heights[0])) for b in (first.box, second.box) if b is not None]
    diags = [d for d in diags if d > 1e-6]
    if diags:
        return float(np.mean(diags)) * BOX_HEAD_FRACTION, "box"
    return float("nan"), "none"


def _pair_name(r: int, l: int) -> str:
    return f"{JOINT_NAMES[r]}/{JOINT_NAMES[l]}"


def compare_frames(fid: str, first: ManualLabel, second: ManualLabel, cfg: ReviewConfig) -> FrameReview:
    """The review of one frame labelled by both annotators."""
    rev = FrameReview(fid, "matched")
    rev.head_size, rev.head_size_source = frame_head_size(first, second)
    both = first.present & second.present
    with np.errstate(invalid="ignore"):
        dist = np.linalg.norm(first.xy - second.xy, axis=1) / rev.head_size
    rev.distance = np.where(both, dist, np.nan)
    rev.only_first = [JOINT_NAMES[j] for j in np.flatnonzero(first.present & ~second.present)]
    rev.only_second = [JOINT_NAMES[j] for j in np.flatnonzero(second.present & ~first.present)]
    rev.visibility_mismatch = [JOINT_NAMES[j] for j in np.flatnonzero(both & (first.visibility != second.visibility))]
    if first.box is not None and second.box is not None:
        rev.box_iou = box_iou(first.box.xyxy[0], second.box.xyxy[0])
    for r, l in FLIP_PAIRS:
        if not (both[r] and both[l]) or not np.isfinite(rev.head_size):
            continue
        direct = (rev.distance[r] + rev.distance[l]) / 2
        crossed = (
            np.linalg.norm(first.xy[r] - second.xy[l]) + np.linalg.norm(first.xy[l] - second.xy[r])
        ) / (2 * rev.head_size)
        if direct > cfg.threshold and crossed < cfg.swap_ratio * direct:
            rev.swapped_pairs.append(_pair_name(r, l))
    with np.errstate(invalid="ignore"):
        rev.beyond_threshold = [JOINT_NAMES[j] for j in np.flatnonzero(rev.distance > cfg.threshold)]
    if rev.swapped_pairs:
        rev.reasons.append("left/right swap: " + ", ".join(rev.swapped_pairs))
    # Joints of a swapped pair are explained by the swap: the reason lists only the others.
    in_swaps = {n for pair in rev.swapped_pairs for n in pair.split("/")}
    unexplained = [n for n in rev.beyond_threshold if n not in in_swaps]
    if unexplained:
        rev.reasons.append(
            f"joints beyond {cfg.threshold:g} head: "
            + ", ".join(f"{n} ({rev.distance[JOINT_NAMES.index(n)]:.2f})" for n in unexplained)
        )
    if rev.box_iou is not None and rev.box_iou < cfg.min_box_iou:
        rev.reasons.append(f"box IoU {rev.box_iou:.2f} < {cfg.min_box_iou:g}")
    return rev


def _agreement(frames: list[FrameReview], pairs: dict[str, tuple[ManualLabel, ManualLabel]], cfg: ReviewConfig) -> tuple[dict[str, Optional[float]], Optional[float]]:
    matched = [f for f in frames if f.status == "matched"]
    if not matched:
        return {n: None for n in JOINT_NAMES}, None
    first = np.stack([pairs[f.id][0].xy for f in matched])
    second = np.stack([pairs[f.id][1].xy for f in matched])
    both = np.stack([pairs[f.id][0].present & pairs[f.id][1].present for f in matched])
    norm = np.array([f.head_size for f in matched])
    res = pck(second, first, both, norm, cfg.threshold, "mean head size of the two annotators")
    per = {n: (None if np.isnan(v) else float(v)) for n, v in zip(JOINT_NAMES, res.per_joint)}
    return per, (None if np.isnan(res.mean) else res.mean)


def review_folders(
    first_root: str | os.PathLike[str],
    second_root: str | os.PathLike[str],
    cfg: ReviewConfig = ReviewConfig(),
    progress: bool = False,
) -> tuple[ReviewReport, dict[str, LabelledFrame], dict[str, LabelledFrame]]:
    """Compare two labelled folders; returns the report and both folders' frames by id."""
    first = frames_by_id(load_labelme_folder(first_root, progress=progress))
    second = frames_by_id(load_labelme_folder(second_root, progress=progress))
    if not first and not second:
        raise InputError("no LabelMe files in either folder", first_root)
    frames: list[FrameReview] = []
    pairs: dict[str, tuple[ManualLabel, ManualLabel]] = {}
    for fid in sorted(set(first) | set(second)):
        if fid in first and fid in second:
            pairs[fid] = (first[fid].label, second[fid].label)
            frames.append(compare_frames(fid, first[fid].label, second[fid].label, cfg))
        else:
            who, other = (FIRST, SECOND) if fid in first else (SECOND, FIRST)
            rev = FrameReview(fid, f"{who}_only")
            rev.reasons.append(f"missing counterpart: no {other} annotation")
            frames.append(rev)
    per, mean = _agreement(frames, pairs, cfg)
    report = ReviewReport(str(first_root), str(second_root), cfg, frames, per, mean)
    log.info("reviewed %d frame(s): %d need a third look", len(frames), len(report.flagged))
    return report, first, second


def merge_provenance(
    joints: list[Optional[str]], box: Optional[str], preferred: str, rev: FrameReview, sources: dict[str, str]
) -> dict[str, Any]:
    """The ``fdpose_review`` value of one merged file.

    joints: per joint (MPII order) the annotator it came from (None when absent in both);
    box: the annotator of the box; sources: annotator -> label file it came from.
    """
    return {
        "preferred": preferred,
        "box": box,
        "joints": dict(zip(JOINT_NAMES, joints)),
        "sources": dict(sources),
        "needs_review": rev.needs_review,
        "reasons": list(rev.reasons),
    }


def merge_labels(preferred: ManualLabel, other: ManualLabel, pref_name: str, other_name: str) -> tuple[ManualLabel, list[Optional[str]], Optional[str]]:
    """Joint-wise merge: the preferred annotator's joint/box where placed, else the other's.

    Returns the merged label (image fields from ``preferred``), per-joint provenance and box provenance.
    """
    merged = copy.copy(preferred)
    merged.xy = preferred.xy.copy()
    merged.visibility = preferred.visibility.copy()
    prov: list[Optional[str]] = []
    for j in range(NUM_JOINTS):
        if preferred.visibility[j] != VIS_ABSENT:
            prov.append(pref_name)
        elif other.visibility[j] != VIS_ABSENT:
            merged.xy[j], merged.visibility[j] = other.xy[j], other.visibility[j]
            prov.append(other_name)
        else:
            prov.append(None)
    box_src: Optional[str] = pref_name if preferred.box is not None else (other_name if other.box is not None else None)
    merged.box = preferred.box if preferred.box is not None else other.box
    return merged, prov, box_src


def write_merge(
    report: ReviewReport,
    first: dict[str, LabelledFrame],
    second: dict[str, LabelledFrame],
    out: str | os.PathLike[str],
    prefer: str = SECOND,
    overwrite: bool = False,
) -> list[Path]:
    """Write the merged LabelMe files under ``out`` (same relative paths) and ``out/review_report.json``.

    ``imagePath`` is rewritten relative to the new location so the image still resolves.
    Returns the written label files.
    """
    if prefer not in (FIRST, SECOND):
        raise ConfigError(f"prefer must be '{FIRST}' or '{SECOND}', got {prefer!r}")
    out_p = Path(out)
    for root in (report.first_root, report.second_root):
        if out_p.resolve() == Path(root).resolve():
            raise ConfigError(f"--merge folder {out_p} is an input folder; choose a new folder")
    other_name = FIRST if prefer == SECOND else SECOND
    by_name = {FIRST: first, SECOND: second}
    jobs: list[tuple[Path, LabelledFrame, ManualLabel, dict[str, Any]]] = []
    for rev in report.frames:
        have = [n for n in (prefer, other_name) if rev.id in by_name[n]]
        base = by_name[have[0]][rev.id]
        sources = {n: by_name[n][rev.id].rel_json for n in have}
        if len(have) == 2:
            label, prov, box_src = merge_labels(base.label, by_name[other_name][rev.id].label, prefer, other_name)
        else:
            label = copy.copy(base.label)
            prov = [have[0] if p else None for p in base.label.present]
            box_src = have[0] if base.label.box is not None else None
        jobs.append((out_p / base.rel_json, base, label, merge_provenance(prov, box_src, prefer, rev, sources)))
    if not overwrite:
        for path in [j[0] for j in jobs] + [out_p / REVIEW_REPORT_NAME]:
            if path.exists():
                raise InputError("output exists (use --overwrite to replace it)", path)
    written: list[Path] = []
    for dst, base, label, provenance in jobs:
        img = base.doc.image_file()
        if img is not None:
            label.image_path = Path(os.path.relpath(os.path.abspath(img), os.path.abspath(dst.parent))).as_posix()
        doc = label_to_doc(label, base.doc)
        doc.extra[PROVENANCE_KEY] = provenance
        written.append(write_labelme(doc, dst))
    write_json(out_p / REVIEW_REPORT_NAME, report.to_dict())
    log.info("merged %d frame(s) into %s (preferring %s)", len(written), out_p, prefer)
    return written
