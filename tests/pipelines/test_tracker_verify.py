"""The crop check of the kept box (:mod:`fdpose.pipelines.tracking.verify`): which box the track
keeps when several candidates lie on the diver.

The detector below is a tiny real detector (a threshold on a painted figure), so the boxes are
checked against pixels, not against the code's own arithmetic.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np
import pytest

from fdpose.errors import ConfigError
from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking import TrackerConfig
from fdpose.pipelines.tracking.config import RedetectConfig, VerifyConfig
from fdpose.pipelines.tracking.pass2 import TrackDecision
from fdpose.pipelines.tracking.redetect import local_boxes, track_with_redetect
from fdpose.pipelines.tracking.settings import tracker_config
from fdpose.pipelines.tracking.tracker import TrackResult
from fdpose.pipelines.tracking.verify import same_person, verify_kept


def _painted(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A black (h, w, 3) frame with the pixels of ``box`` [x1, y1, x2, y2) painted."""
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 200
    return img


class ThresholdDetector:
    """Boxes the painted pixels of the image it is given (whatever the crop: a real person stays put)."""

    def __init__(self) -> None:
        self.calls = 0

    def detect_one(self, img: np.ndarray) -> np.ndarray:
        self.calls += 1
        ys, xs = np.nonzero(img[..., 0] > 60)
        if not len(xs):
            return np.zeros((0, 5))
        return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 0.8]], dtype=float)


def test_same_person_is_a_box_overlapping_nearly_as_much_as_nms_allows() -> None:
    kept = np.array([187.0, 95, 254, 248])  # (real clip A frame 23: the loose kept box ...)
    others = np.array([[188.0, 99, 242, 187],  # ... and the tight one inside it: IoU 0.46 between them
                       [230.0, 95, 297, 248],  # a person beside, overlapping a third of him
                       [205.0, 110, 230, 165],  # a smaller person behind him, inside his box (IoU 0.14)
                       [187.0, 95, 254, 248]])
    assert same_person(kept, others, 0.4).tolist() == [True, False, False, True]
    assert same_person(kept, others, 0.5).tolist() == [False, False, False, True]
    assert same_person(kept, np.zeros((0, 4)), 0.4).shape == (0,)


def _clip(n: int = 8) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[int, int, int, int]]]:
    """A figure moving down 2 px a frame; the whole-frame detector boxes it loosely in every frame
    (IoU 0.49, the box hanging 55 px below it) and in frames 3 and 4 also tightly, inside the loose box."""
    figures = [(100, 40 + 2 * t, 124, 160 + 2 * t) for t in range(n)]
    images = [_painted(240, 320, f) for f in figures]
    cands = []
    for t, (x1, y1, x2, y2) in enumerate(figures):
        rows = [[x1 - 4.0, y1 - 10, x2 + 4, y2 + 55, 0.6]]
        if t in (3, 4):
            rows.append([x1 + 1.0, y1 + 1, x2 - 1, y2 + 1, 0.3])
        cands.append(np.array(rows))
    return images, cands, figures


def test_two_boxes_on_the_diver_keep_the_crop_verified_one() -> None:
    images, cands, figures = _clip()

    def run(cfg: TrackerConfig) -> tuple[TrackResult, list[int]]:
        res, _, stats = track_with_redetect([c.copy() for c in cands], cfg, lambda idx: [images[i] for i in idx],
                                            ThresholdDetector(), image_size=(320, 240))
        return res, stats.verified

    on, verified = run(TrackerConfig().with_(thin_aspect=0.0))  # (two boxes on him; lone thin boxes: below)
    off, none = run(TrackerConfig().without("verify"))
    fig = [np.asarray(f, dtype=float) for f in figures]
    assert none == [] and verified == [3, 4]
    for t in (3, 4):  # off: Eq. 25 keeps the loose box (confidence, its tracklet); on: the figure's own box
        assert float(iou(fig[t], off.boxes[t][None, :4])[0]) < 0.5
        np.testing.assert_allclose(on.boxes[t, :4], fig[t])
        assert on.candidate_index[t] == off.candidate_index[t] and on.decisions[t] == off.decisions[t]
    for t in (0, 1, 2, 5, 6, 7):  # one box on him: not checked (thin_aspect 0), the whole-frame box kept
        np.testing.assert_array_equal(on.boxes[t], off.boxes[t])


def test_a_crop_box_beside_the_kept_person_is_not_taken() -> None:
    """The two candidates nest, but what the crop finds lies mostly beside the kept box (another
    person, 16 px off, IoU 0.30): the kept box stays."""
    image = _painted(240, 320, (116, 40, 146, 160))
    cands = [np.array([[100.0, 40, 130, 160, 0.6], [102.0, 42, 128, 158, 0.3]])]
    track = TrackResult(cands[0][:1].copy(), [TrackDecision.MATCHED], np.array([0]), 0)
    stats = verify_kept(track, cands, lambda idx: [image for _ in idx],
                        lambda img, box: local_boxes(ThresholdDetector(), img, box, RedetectConfig()), VerifyConfig())
    assert stats.checked == [0] and stats.changed == []
    np.testing.assert_array_equal(track.boxes[0], [100.0, 40, 130, 160, 0.6])
    np.testing.assert_array_equal(cands[0][0], [100.0, 40, 130, 160, 0.6])


def test_a_lone_thin_box_is_checked_only_past_thin_aspect() -> None:
    """A lone box 62 px wide where the figure is 49 px wide (the armstand's frame 1 in a 500x281
    frame, the figure painted where the SSD's crop boxes the handstand diver: the kept box is 5.2
    times taller than wide in the stretched square input)."""
    figure = (210, 14, 259, 207)
    image = _painted(281, 500, figure)
    loose = np.array([201.0, 30, 263, 209, 0.37])

    def check(cfg: VerifyConfig) -> tuple[np.ndarray, list[int]]:
        cands = [loose[None].copy()]
        track = TrackResult(cands[0].copy(), [TrackDecision.MATCHED], np.array([0]), 0)
        det = ThresholdDetector()
        stats = verify_kept(track, cands, lambda idx: [image for _ in idx],
                            lambda img, box: local_boxes(det, img, box, RedetectConfig()), cfg)
        return track.boxes[0], stats.changed

    box, changed = check(VerifyConfig(thin_aspect=0.0))  # (lone boxes never checked)
    assert changed == [] and box.tolist() == loose.tolist()
    box, changed = check(VerifyConfig(thin_aspect=6.0))
    assert changed == []
    box, changed = check(VerifyConfig())  # (the default: the anchors' 3:1)
    assert changed == [0]
    np.testing.assert_allclose(box[:4], figure)


@pytest.mark.parametrize("figure, thin_iou, changed", [
    ((195, 30, 270, 209), 0.5, False),  # wider than the kept box (75 against 62 px): no correction of it
    ((212, 75, 250, 209), 0.5, False),  # narrower, but keeps little of it (IoU 0.46: a part of the body)
    ((212, 75, 250, 209), 0.45, True),
    ((210, 60, 250, 209), 0.5, True),  # narrower, IoU 0.54
])
def test_a_lone_thin_box_is_replaced_only_by_a_narrower_box_on_most_of_it(
        figure: tuple[int, int, int, int], thin_iou: float, changed: bool) -> None:
    """The thin-box assumption is that the whole-frame box is too wide."""
    image = _painted(281, 500, figure)
    cands = [np.array([[201.0, 30, 263, 209, 0.37]])]
    track = TrackResult(cands[0].copy(), [TrackDecision.MATCHED], np.array([0]), 0)
    stats = verify_kept(track, cands, lambda idx: [image for _ in idx],
                        lambda img, box: local_boxes(ThresholdDetector(), img, box, RedetectConfig()),
                        VerifyConfig(thin_aspect=3.0, thin_iou=thin_iou))
    assert stats.checked == [0] and stats.changed == ([0] if changed else [])
    if changed:
        np.testing.assert_allclose(track.boxes[0, :4], figure)
    else:
        np.testing.assert_array_equal(track.boxes[0], [201.0, 30, 263, 209, 0.37])


def test_filled_boxes_and_frames_without_a_box_are_left_alone() -> None:
    image = _painted(240, 320, (100, 40, 124, 160))
    cands = [np.array([[96.0, 30, 128, 215, 0.6], [101.0, 41, 123, 161, 0.3]])] * 2
    boxes = np.full((2, 5), np.nan)
    boxes[1] = [98.0, 35, 126, 190, 0.6]
    track = TrackResult(boxes.copy(), [TrackDecision.LOST, TrackDecision.FILLED], np.array([-1, -1]), 1)
    det = ThresholdDetector()
    stats = verify_kept(track, [c.copy() for c in cands], lambda idx: [image for _ in idx],
                        lambda img, box: local_boxes(det, img, box, RedetectConfig()), VerifyConfig())
    assert stats.checked == [] and det.calls == 0
    np.testing.assert_array_equal(track.boxes, boxes)


def test_verify_settings_reach_the_config_and_are_checked() -> None:
    cfg = tracker_config(assignments=["verify.thin_aspect=4", "same_iou=0.45"])
    assert cfg.verify.thin_aspect == 4.0 and cfg.verify.same_iou == 0.45
    assert not tracker_config(assignments=["verify.enabled=false"]).verify.enabled
    assert not TrackerConfig.paper().verify.enabled and TrackerConfig().verify.enabled
    assert TrackerConfig.from_dict(TrackerConfig().to_dict()) == TrackerConfig()
    with pytest.raises(ConfigError, match="same_iou"):
        VerifyConfig(same_iou=0.0)
    with pytest.raises(ConfigError, match="thin_aspect"):
        tracker_config(assignments=["verify.thin_aspect=-1"])


# ---- real footage --------------------------------------------------------------------------

def test_ssd_clip_a_keeps_the_better_of_two_boxes_on_the_diver(shared_data: Path, ssd,  # type: ignore[no-untyped-def]
                                                                benchmark_module: Callable[[str], ModuleType]) -> None:
    """Measured (benchmarks/tracker_ablation.py, docs/tracker.md): on real clip A the defaults are
    right on 34 of 34 frames; without the check on 32 (frames 23 and 32 keep the box with IoU 0.45 /
    0.47 while the other whole-frame box on the diver has 0.73 / 0.68)."""
    import cv2

    from fdpose.pipelines.tracking.camera import motion_from_frames

    bench = benchmark_module("tracker_ablation")
    [(name, folder, gt, under)] = [c for c in bench.real_clips(shared_data) if c[0] == "finediving_10m_clipA"]
    images = [cv2.imread(str(f)) for f in sorted(folder.glob("*.jpg"))]
    cands = [np.asarray(c, dtype=np.float64).reshape(-1, 5) for c in ssd.detect(images, list(range(len(images))))]
    cam = motion_from_frames(images, cands, TrackerConfig().camera)

    def right(cfg: TrackerConfig) -> np.ndarray:
        res, _, _ = track_with_redetect(cands, cfg, lambda idx: [images[i] for i in idx], ssd,
                                        image_size=(images[0].shape[1], images[0].shape[0]), camera=cam)
        return bench.real_right(gt, under, cands, res.boxes)[0]

    on, off = right(TrackerConfig()), right(TrackerConfig().without("verify"))
    assert on.all()
    assert np.flatnonzero(~off).tolist() == [23, 32]


def test_ssd_armstand_handstand_box_is_narrowed(shared_data: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    """Measured (docs/tracker.md): the armstand's frame 1, where the whole-frame SSD box is 62 px
    wide for the 30 px handstand diver (IoU 0.48 with the eye-set box), becomes the crop-verified
    box (0.57) with the defaults; 13 -> 14 of 21 frames right."""
    import json

    import cv2

    from fdpose.pipelines.tracking.camera import motion_from_frames

    repo = Path(__file__).resolve().parents[2]
    doc = json.loads((repo / "benchmarks" / "data" / "mtlaqa_10m_armstand_diver.json").read_text())
    gt = [None if f["box"] is None else np.asarray(f["box"], dtype=float) for f in doc["frames"]]
    images = [cv2.imread(str(f)) for f in sorted((shared_data / "real" / "mtlaqa_10m_armstand").glob("*.jpg"))]
    cands = ssd.detect(images, list(range(len(images))))
    cam = motion_from_frames(images, cands, TrackerConfig().camera)

    def on_diver(cfg: TrackerConfig) -> set[int]:
        res = track_with_redetect(cands, cfg, lambda idx: [images[i] for i in idx], ssd,
                                  image_size=(images[0].shape[1], images[0].shape[0]), camera=cam)[0]
        return {t for t, g in enumerate(gt) if g is not None and res.box(t) is not None
                and iou(g, res.box(t)[None, :4])[0] >= 0.5}

    on, off = on_diver(TrackerConfig()), on_diver(TrackerConfig().with_(thin_aspect=0.0))
    assert 1 in on and 1 not in off
    assert on - {1} == off


def test_only_frames_with_a_thin_or_second_box_are_fetched_when_the_size_is_known() -> None:
    """The runner re-decodes the frames the check asks for: with the frame size given, a frame whose
    kept box is neither thin nor shares the diver with a second box is never fetched."""
    image = _painted(281, 500, (210, 14, 259, 207))
    cands = [np.array([[201.0, 30, 263, 209, 0.37]]),  # thin: 5.2 in the stretched input
             np.array([[150.0, 60, 300, 200, 0.5]]),  # squat
             np.array([[150.0, 60, 300, 200, 0.5]])]
    asked: list[int] = []

    def frames(idx: list[int]) -> list[np.ndarray]:
        asked.extend(idx)
        return [image for _ in idx]

    def run(size: tuple[int, int] | None) -> list[int]:
        asked.clear()
        track = TrackResult(np.array([c[0] for c in cands]), [TrackDecision.MATCHED] * 3, np.zeros(3, dtype=int), 0)
        stats = verify_kept(track, [c.copy() for c in cands], frames,
                            lambda img, box: local_boxes(ThresholdDetector(), img, box, RedetectConfig()),
                            VerifyConfig(), size)
        assert stats.checked == [0] and stats.changed == [0]
        return list(asked)

    assert run((500, 281)) == [0]
    assert run(None) == [0, 1, 2]


def test_frames_are_fetched_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long clip's checked frames are never asked for all at once (memory stays bounded by the chunk)."""
    import fdpose.pipelines.tracking.verify as verify

    monkeypatch.setattr(verify, "FETCH_CHUNK", 2)
    image = _painted(281, 500, (210, 14, 259, 207))
    cands = [np.array([[201.0, 30, 263, 209, 0.37]]) for _ in range(5)]  # thin: every frame is checked
    calls: list[list[int]] = []

    def frames(idx: list[int]) -> list[np.ndarray]:
        calls.append(list(idx))
        return [image for _ in idx]

    track = TrackResult(np.array([c[0] for c in cands]), [TrackDecision.MATCHED] * 5, np.zeros(5, dtype=int), 0)
    stats = verify_kept(track, [c.copy() for c in cands], frames,
                        lambda img, box: local_boxes(ThresholdDetector(), img, box, RedetectConfig()),
                        VerifyConfig(), None)
    assert calls == [[0, 1], [2, 3], [4]]
    assert stats.checked == [0, 1, 2, 3, 4] and stats.changed == [0, 1, 2, 3, 4]
