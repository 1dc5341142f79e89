"""The simulated detector's per-frame record: Boxes plus the truth behind each box."""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.records import Boxes
from fdpose.synth.detections import DetectorModel, FrameDetections, detect_frame, mot_lines


def test_build_sorts_by_score_keeping_ties_in_order() -> None:
    fr = FrameDetections.build([((0.0, 0.0, 10.0, 20.0), 0.5, "spectator", "s1"),
                                ((5.0, 5.0, 9.0, 9.0), 0.9, "diver", "diver"),
                                ((1.0, 1.0, 2.0, 3.0), 0.5, "false_positive", "clutter")])
    assert isinstance(fr.boxes, Boxes) and len(fr) == 3
    assert fr.boxes.score.tolist() == [0.9, 0.5, 0.5]
    assert fr.role == ("diver", "spectator", "false_positive") and fr.source == ("diver", "s1", "clutter")
    more = fr.plus([((3.0, 3.0, 4.0, 8.0), 0.7, "false_positive", "splash")])
    assert more.source == ("diver", "splash", "s1", "clutter") and len(fr) == 3  # (fr itself unchanged)
    assert fr.scores_of(["diver"]) == [0.9] and fr.scores_of(["judge"]) == []
    assert mot_lines(4, fr)[0] == "5,-1,5.00,5.00,4.00,4.00,0.9000,-1,-1,-1"
    assert fr.gt_json()[1] == {"box": [0.0, 0.0, 10.0, 20.0], "score": 0.5, "role": "spectator", "source": "s1"}
    empty = FrameDetections.build([])
    assert len(empty) == 0 and mot_lines(0, empty) == [] and empty.gt_json() == []
    with pytest.raises(ValueError, match="2 boxes with 1 roles"):
        FrameDetections(Boxes(np.zeros((2, 4)), np.zeros(2)), ("diver",), ("a", "b"))


def test_detect_frame_returns_valid_boxes() -> None:
    persons = [("diver", "diver", (100.0, 50.0, 140.0, 150.0), 0.9),
               ("s1", "spectator", (10.0, 10.0, 30.0, 60.0), 0.7)]
    fr = detect_frame(np.random.default_rng(0), DetectorModel(miss_rate=0.0, person_miss_rate=0.0,
                                                              false_positive_rate=2.0), persons, 0.0, (455, 256))
    assert {"diver", "s1"} <= set(fr.source)
    assert (fr.boxes.xyxy[:, 2] <= 454).all() and (np.diff(fr.boxes.score) <= 0).all()
    d = fr.role.index("diver")
    assert fr.boxes.iou(Boxes.from_rows([100.0, 50.0, 140.0, 150.0]))[d, 0] > 0.7  # jittered by 4% of its size
