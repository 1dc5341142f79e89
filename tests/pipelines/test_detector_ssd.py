"""The ``ssd`` detector: anchors, TF-OD box decoding, NMS, and the diver found on the real dev clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import DependencyError
from fdpose.metrics.boxes import iou
from fdpose.pipelines.detectors.ssd import SSDConfig, decode_boxes, nms, person_class_index, ssd_anchors

REPO = Path(__file__).resolve().parents[2]


def test_anchors_follow_the_ssd_mobilenetv2_grid() -> None:
    a = ssd_anchors()
    assert a.shape == (1917, 4)
    # layer 0: 19x19 cells x 3 anchors; first = scale-0.1 square at the first cell's centre
    np.testing.assert_allclose(a[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1], rtol=1e-6)
    # second anchor of the cell: scale 0.2 at aspect ratio 2 (w / h = 2)
    np.testing.assert_allclose(a[1, 2:], [0.2 / np.sqrt(2), 0.2 * np.sqrt(2)], rtol=1e-6)
    # layer 1 starts after 19*19*3 = 1083 anchors: 10x10 cells x 6, scale 0.35
    np.testing.assert_allclose(a[1083], [0.05, 0.05, 0.35, 0.35], rtol=1e-6)
    np.testing.assert_allclose(a[1083 + 5, 2:], [np.sqrt(0.35 * 0.5)] * 2, rtol=1e-6)
    # the last anchor: the 1x1 map's interpolated square sqrt(0.95 * 1.0)
    np.testing.assert_allclose(a[-1], [0.5, 0.5, np.sqrt(0.95), np.sqrt(0.95)], rtol=1e-6)


def test_decode_uses_the_tfod_coder_scales() -> None:
    anchors = np.array([[0.5, 0.4, 0.2, 0.1], [0.5, 0.4, 0.2, 0.1], [0.5, 0.4, 0.2, 0.1]])
    enc = np.array([[0.0, 0.0, 0.0, 0.0],             # the anchor itself
                    [10.0, -10.0, 0.0, 0.0],          # centre moves by one anchor height down, width left
                    [0.0, 0.0, 5 * np.log(2), 5 * np.log(0.5)]])  # height doubled, width halved
    out = decode_boxes(enc, anchors)
    np.testing.assert_allclose(out[0], [0.35, 0.4, 0.45, 0.6])
    np.testing.assert_allclose(out[1], [0.25, 0.6, 0.35, 0.8])
    np.testing.assert_allclose(out[2], [0.375, 0.3, 0.425, 0.7])


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], dtype=float)
    scores = np.array([0.6, 0.9, 0.5, 0.4])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.95).tolist() == [1, 0, 2, 3]


def test_config_is_checked() -> None:
    from fdpose.errors import ConfigError

    with pytest.raises(ConfigError):
        SSDConfig(score_threshold=1.5).validate()


def _detector(**kw: object):  # type: ignore[no-untyped-def]
    from fdpose.pipelines.detectors.ssd import SSDDetector

    try:
        return SSDDetector(SSDConfig(**kw))  # type: ignore[arg-type]
    except DependencyError as err:
        pytest.skip(f"ssd model not installed: {err}")


def test_label_map_has_person_at_4() -> None:
    from fdpose.model_files import SSD_OIDV4_LABELS, model_file

    try:
        path = model_file(SSD_OIDV4_LABELS)
    except DependencyError:
        pytest.skip("ssd label map not installed")
    assert person_class_index(path) == 4


def test_finds_the_diver_on_real_clip_a(shared_data: Path) -> None:
    import cv2

    clip = shared_data / "real" / "finediving_10m_clipA"
    labels = {Path(r["image"]).name: r for r in json.loads((clip / "labels_mpii.json").read_text())}
    det = _detector()
    frames = sorted(clip.glob("*.jpg"))[::3]  # 12 of 34 frames keep the test short
    found = 0
    for path in frames:
        rec = labels[path.name]
        j, vis = np.asarray(rec["joints"], float), np.asarray(rec["joints_vis"], bool)
        gt = np.r_[j[vis].min(0), j[vis].max(0)]
        boxes = det.detect_one(cv2.imread(str(path)))
        assert (boxes.score >= 0.3).all()
        found += int(len(boxes) > 0 and (iou(gt, boxes.xyxy) >= 0.3).any())
    # measured: 34/34 on all frames (benchmarks/detector_real.py), 12/12 on this subset
    assert found >= len(frames) - 1


def test_finds_the_armstand_diver_in_some_frames(shared_data: Path) -> None:
    import cv2

    gt = json.loads((REPO / "benchmarks" / "data" / "mtlaqa_10m_armstand_diver.json").read_text())
    det = _detector()
    clip = shared_data / "real" / "mtlaqa_10m_armstand"
    found = 0
    for fr in gt["frames"]:
        if fr["box"] is None:
            continue
        boxes = det.detect_one(cv2.imread(str(clip / fr["file_name"])))
        found += int(len(boxes) > 0 and (iou(np.asarray(fr["box"], float), boxes.xyxy) >= 0.3).any())
    # measured: 5 of the 17 frames with the diver in view (a small 500x281 frame: the diver is ~30 px wide)
    assert found >= 4
