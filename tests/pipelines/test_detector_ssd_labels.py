"""Our labels of the ``ssd`` detector's boxes on the real dev clips
(benchmarks/data/ssd_dev_false_positives.json; the simulated detector's ``ssd-dev`` profile is
computed from them) still describe what the detector gives: every box of a fresh run matches a
stored one and every stored one is found. Skips without ../shared or the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import DependencyError
from fdpose.metrics.boxes import iou

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "benchmarks" / "data" / "ssd_dev_false_positives.json"


def test_labelled_boxes_are_the_detectors(shared_data: Path) -> None:
    import cv2

    from fdpose.pipelines.detectors.ssd import SSDConfig, SSDDetector

    try:
        det = SSDDetector(SSDConfig())
    except DependencyError as err:
        pytest.skip(f"ssd model not installed: {err}")
    doc = json.loads(LABELS.read_text())
    assert doc["detector"] == {"backend": "ssd", "score_threshold": 0.3, "input": "stretch"}
    total = 0
    for clip, c in doc["clips"].items():
        frames = sorted((shared_data / "real" / clip).glob("*.jpg"))
        assert len(frames) == len(c["frames"])
        for fr in c["frames"]:
            stored = [fp for fp in fr["false_positives"]] + ([fr["diver_box"]] if fr["diver_box"] else [])
            boxes = det.detect_one(cv2.imread(str(frames[fr["frame"]])))
            assert len(boxes) == len(stored), (clip, fr["frame"])
            for s in stored:
                u = iou(np.asarray(s["box"], dtype=float), boxes.xyxy)
                k = int(u.argmax())
                assert u[k] >= 0.9 and boxes.score[k] == pytest.approx(s["score"], abs=2e-3), (clip, fr["frame"], s)
            total += len(stored)
    assert total == 91  # 39 diver boxes + 52 false positives
