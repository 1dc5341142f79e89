"""annotations/mpii.py: MPII records without ``bbox`` (real labels) get a box that holds their joints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fdpose.annotations import mpii
from fdpose.annotations.convert import convert
from fdpose.annotations.validate import validate_paths


def _raised_arms_record() -> dict:
    # A standing person whose wrists (indices 10, 15) are raised above mmpose's square box.
    joints = [[50.0, 90.0]] * 10 + [[45.0, 1.0]] + [[50.0, 40.0]] * 4 + [[55.0, 1.5]]
    return {"image": "000001.jpg", "joints": joints, "joints_vis": [1] * 16, "center": [51.0, 41.0], "scale": 0.4}


def test_box_without_bbox_contains_raised_joints_and_stays_in_image(tmp_path: Path) -> None:
    rec = _raised_arms_record()
    # mmpose's square: centre (50, 41 + 15 * 0.4 - 1) = (50, 46), side 80 -> [10, 6, 90, 86].
    c0, side = mpii.mmpose_center_scale(rec["center"], rec["scale"])
    np.testing.assert_allclose(mpii.square_box(c0, side), [10.0, 6.0, 90.0, 86.0])
    label = mpii.record_to_label(rec, tmp_path / "x.json", 0)
    # Joints span y 1..90 (89 px): margin 0.05 * 89 = 4.45 px, clipped at the image's top row.
    np.testing.assert_allclose(label.box.xyxy[0], [10.0, 0.0, 90.0, 94.45])
    # With the image size known (100 x 92), the margin stops at the last row too.
    rec["image_size"] = [100, 92]
    label = mpii.record_to_label(rec, tmp_path / "x.json", 0)
    np.testing.assert_allclose(label.box.xyxy[0], [10.0, 0.0, 90.0, 91.0])
    # An exact bbox is kept as written (the round trip of our own exports).
    rec["bbox"] = [40.0, 0.5, 60.0, 91.0]
    np.testing.assert_allclose(mpii.record_to_label(rec, tmp_path / "x.json", 0).box.xyxy[0], [40.0, 0.5, 60.0, 91.0])


def test_real_dev_clip_labels_convert_and_validate_without_errors(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "real" / "finediving_10m_clipA"
    report = convert(clip / "labels_mpii.json", tmp_path / "lm", "labelme", images=clip)
    assert report.frames == 34 and report.images_placed == 34
    result = validate_paths([tmp_path / "lm"])
    assert result.files_checked == 34
    assert result.errors == 0, [str(p) for p in result.problems][:3]
    # Frame 1 is the raised-arms frame (wrists at y = 2.4 px, above the center/scale square):
    # its box now reaches the image's top row and holds both wrists.
    doc = json.loads((tmp_path / "lm" / "00001.json").read_text())
    box = np.array(next(s["points"] for s in doc["shapes"] if s["label"] == "diver"))
    wrists = np.array([s["points"][0] for s in doc["shapes"] if s["label"] in ("r_wrist", "l_wrist")])
    assert box[:, 1].min() == 0.0 and len(wrists) == 2
    assert (wrists >= box.min(0)).all() and (wrists <= box.max(0)).all()
