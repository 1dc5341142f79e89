"""The mediapipe pose stage on the real labelled dev clip, and its TTA / candidate helpers.

The real-clip test skips without ../shared. Figures (docs/pose.md, ``benchmarks/pose_real.py``):
on ``finediving_10m_clipA`` (34 frames) the default backend (since session 10 the landmark model on the
box's ROI, ``roi_source="box"``) with the label-derived box scores PCKh@0.5 0.814 after the pipeline's
interpolation (the detector path: 0.809; its old default: 0.642).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from fdpose.metrics.pose import pckh  # noqa: E402
from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints  # noqa: E402
from fdpose.pipelines.pose.mediapipe import (FLIP_PAIRS, NUM_LANDMARKS, MediaPipePoseConfig,  # noqa: E402
                                             MediaPipePoseEstimator, merge_flip, select_candidate,
                                             unflip_landmarks)
from fdpose.pipelines.runner import RunConfig, interpolation_for  # noqa: E402


def _clip(shared_data: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    import cv2

    folder = shared_data / "real" / "finediving_10m_clipA"
    labels = json.loads((folder / "labels_mpii.json").read_text())
    frames = [cv2.imread(str(folder / r["image"])) for r in labels]
    return frames, np.array([r["joints"] for r in labels], float), np.array([r["joints_vis"] for r in labels], bool)


def _label_boxes(gt: np.ndarray, width: int, height: int) -> np.ndarray:
    """The benchmark's oracle box: label joint extent + 10% per side, clipped to the frame."""
    lo, hi = gt.min(axis=1), gt.max(axis=1)
    m = 0.1 * (hi - lo)
    box = np.concatenate([lo - m, hi + m], axis=1)
    return np.clip(box, 0, [width - 1, height - 1, width - 1, height - 1])


def test_default_pose_stage_on_real_clip(shared_data: Path, tmp_path: Path) -> None:
    frames, gt, vis = _clip(shared_data)
    boxes = _label_boxes(gt, frames[0].shape[1], frames[0].shape[0])
    with MediaPipePoseEstimator() as est:
        est.reset()
        pred = est.estimate_many([(f, b) for f, b in zip(frames, boxes)])
        icfg = interpolation_for(RunConfig(out=tmp_path, pose="mediapipe"), est)
    assert icfg.min_confidence == 0.0
    filled = interpolate_joints(pred, None, icfg)
    score = pckh(filled.keypoints[..., :2], gt, vis).mean
    assert score >= 0.78, score  # measured 0.814
    # the old rule (interpolate below 0.3) throws right joints away: measured 0.737
    old = interpolate_joints(pred, None, InterpolationConfig(min_confidence=0.3))
    assert pckh(old.keypoints[..., :2], gt, vis).mean < score


def test_interpolation_rule_of_a_run(tmp_path: Path) -> None:
    class Plain:
        pass

    class Hinted:
        interpolation_min_confidence = 0.0

    cfg = RunConfig(out=tmp_path)
    assert interpolation_for(cfg, Plain()) == InterpolationConfig()
    assert interpolation_for(cfg, Hinted()).min_confidence == 0.0
    own = RunConfig(out=tmp_path, interpolation=InterpolationConfig(min_confidence=0.5))
    assert interpolation_for(own, Hinted()).min_confidence == 0.5  # a rule the user set wins


def test_unflip_and_merge_flip(rng: np.random.Generator) -> None:
    width = 200
    lm = np.column_stack([rng.uniform(0, width - 1, NUM_LANDMARKS), rng.uniform(0, 100, NUM_LANDMARKS),
                          rng.uniform(0, 1, NUM_LANDMARKS)])
    mirrored = lm.copy()
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    for a, b in FLIP_PAIRS:
        mirrored[[a, b]] = mirrored[[b, a]]
    np.testing.assert_allclose(unflip_landmarks(mirrored, width), lm)
    noisy = lm + np.column_stack([rng.normal(0, 2, (NUM_LANDMARKS, 2)), np.zeros(NUM_LANDMARKS)])
    merged = merge_flip(lm, noisy)
    np.testing.assert_allclose(merged[:, :2], (lm[:, :2] + noisy[:, :2]) / 2)
    one = merge_flip(None, lm)
    np.testing.assert_allclose(one[:, :2], lm[:, :2])
    np.testing.assert_allclose(one[:, 2], lm[:, 2] / 2)
    assert merge_flip(None, None) is None


def test_select_candidate_keeps_the_most_confident(rng: np.random.Generator) -> None:
    poses = rng.uniform(0, 100, (4, 16, 3))
    poses[..., 2] = [[0.2], [0.7], [0.5], [0.7]]
    assert select_candidate(poses) == 1  # first of the tied best
    poses[2, :, 2] = np.nan
    poses[2, 0, 2] = 1.0
    assert select_candidate(poses) == 1  # NaN confidences count as 0
    with pytest.raises(ValueError, match="candidate"):
        select_candidate(np.zeros((0, 16, 3)))


def test_config_checks() -> None:
    from fdpose.errors import ConfigError

    with pytest.raises(ConfigError, match="model_complexity"):
        MediaPipePoseConfig(model_complexity=0)
    with pytest.raises(ConfigError, match="confidences"):
        MediaPipePoseConfig(interpolate_below=1.5)
