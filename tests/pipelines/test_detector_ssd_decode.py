"""The ``ssd`` detector's post-processing against a stored small input/output: the raw outputs of
the real model on one real frame (29 anchors, no footage: tests/pipelines/data/) -> the boxes
``detect_one`` gave. The decode, threshold, clip and NMS run without the model; with the model
and ../shared installed, the model still gives those raw outputs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import DependencyError
from fdpose.pipelines.detectors.ssd import SSDConfig, boxes_from_outputs, ssd_anchors

CASE = Path(__file__).resolve().parent / "data" / "ssd_clipA_frame0_raw.json"


def _case() -> dict:
    return json.loads(CASE.read_text())


def _outputs(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h, w = case["image_hw"]
    return (np.asarray(case["box_encodings"], np.float32), np.asarray(case["person_logits"], np.float64),
            np.asarray(case["anchors_yxhw"], np.float32), np.array([w, h, w, h], np.float64))


def test_stored_anchors_are_the_generated_ones() -> None:
    case = _case()
    np.testing.assert_allclose(ssd_anchors()[case["anchor_index"]], case["anchors_yxhw"], rtol=0, atol=1e-7)


def test_raw_outputs_decode_to_the_stored_boxes() -> None:
    case = _case()
    enc, logits, anchors, scale = _outputs(case)
    boxes = boxes_from_outputs(enc, logits, anchors, scale, np.zeros(4), tuple(case["image_hw"]), SSDConfig())
    expected = np.asarray(case["expected_boxes_xyxy_score"])
    assert len(boxes) == 3  # 6 anchors above 0.3, NMS keeps 3: the diver and two spectators
    np.testing.assert_allclose(boxes.rows(), expected, atol=1e-3)
    # the diver box: x 176-241, the full height of the take-off (10-216 px)
    assert boxes.xyxy[0, 0] == pytest.approx(176.3, abs=0.1) and boxes.xyxy[0, 3] == pytest.approx(215.8, abs=0.1)


def test_threshold_and_nms_change_the_stored_case() -> None:
    case = _case()
    enc, logits, anchors, scale = _outputs(case)
    args = (enc, logits, anchors, scale, np.zeros(4), tuple(case["image_hw"]))
    assert len(boxes_from_outputs(*args, replace(SSDConfig(), score_threshold=0.35))) == 1  # the diver only (0.356)
    assert len(boxes_from_outputs(*args, replace(SSDConfig(), score_threshold=0.9))) == 0
    assert len(boxes_from_outputs(*args, replace(SSDConfig(), nms_iou=1.0))) == 6  # no suppression
    low = boxes_from_outputs(*args, replace(SSDConfig(), score_threshold=0.2, max_boxes=50))
    assert len(low) > 3 and (np.diff(low.score) <= 0).all()
    assert (low.xyxy[:, [0, 2]] >= 0).all() and (low.xyxy[:, [0, 2]] <= 454).all() and (low.xyxy[:, [1, 3]] <= 255).all()


def test_the_model_still_gives_the_stored_raw_outputs(shared_data: Path) -> None:
    import cv2

    from fdpose.pipelines.detectors.ssd import SSDDetector

    try:
        det = SSDDetector(SSDConfig())
    except DependencyError as err:
        pytest.skip(f"ssd model not installed: {err}")
    case = _case()
    img = cv2.imread(str(shared_data / "real" / "finediving_10m_clipA" / "00000.jpg"))
    enc, logits = det.raw_outputs(img)
    idx = case["anchor_index"]
    np.testing.assert_allclose(enc[idx], case["box_encodings"], atol=1e-3)
    np.testing.assert_allclose(logits[idx, case["person_class_index"]], case["person_logits"], atol=1e-3)
    scores = 1 / (1 + np.exp(-logits[:, case["person_class_index"]].astype(np.float64)))
    assert set(np.nonzero(scores >= 0.2)[0].tolist()) == set(idx)  # the stored anchors are all of them
    np.testing.assert_allclose(det.detect_one(img).rows(), case["expected_boxes_xyxy_score"], atol=1e-3)
