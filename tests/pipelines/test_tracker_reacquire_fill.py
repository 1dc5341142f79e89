"""Re-acquisition in the image after a gap (tracking.reacquire) and the short-gap fill (tracking.fill).

Unit tests on hand-made candidate lists, the rules inside :func:`track_diver`, and the real
armstand clip (skips without ../shared or the SSD model): measured there (docs/tracker.md) the
defaults re-acquire the diver on frames 14-15 after the 7-frame gap of the fast tilt (13 of 21
frames right against 11 without the rule) and give no box from the entry (16-20); the fill
(off by default) boxes frames 7-13 of which 10 and 12 overlap the GT box by IoU >= 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import ConfigError, ValidationError
from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking import TrackDecision, TrackerConfig, track_diver
from fdpose.pipelines.tracking.camera import CameraMotion, motion_from_frames
from fdpose.pipelines.tracking.config import FillConfig
from fdpose.pipelines.tracking.fill import fill_gaps
from fdpose.pipelines.tracking.reacquire import image_reacquire
from fdpose.pipelines.tracking.redetect import track_with_redetect

REPO = Path(__file__).resolve().parents[2]


# ---- the image rule on hand-made candidates ------------------------------------------------

LAST = np.array([100.0, 100.0, 160.0, 180.0, 0.5])  # 60 x 80: diagonal 100 px, centre (130, 140)
CANDS = np.array([
    [105.0, 98.0, 165.0, 178.0, 0.4],   # 5 px right, 2 up: the diver again
    [180.0, 100.0, 240.0, 180.0, 0.6],  # 80 px right: 0.8 diagonals, beyond image_reach 0.5
    [100.0, 100.0, 160.0, 180.0, 0.7],  # at the same place but a known person (static)
    [70.0, 60.0, 190.0, 220.0, 0.5],    # same centre, twice the size: still within the 8-frame size gate
    [40.0, 20.0, 220.0, 260.0, 0.5],    # same centre, 3 times the size: refused
    [103.0, 100.0, 163.0, 180.0, 0.01],  # below min_conf
])
PERSON = np.array([False, False, True, False, False, False])


def test_image_rule_admits_a_lone_box_near_the_last_image_place_when_the_camera_was_not_measured() -> None:
    cfg = TrackerConfig().flat()
    ok, dist = image_reacquire(cfg, LAST, 8, CANDS, camera_known=False, fallen=False, person=PERSON)
    assert ok.tolist() == [True, False, False, True, False, False]
    np.testing.assert_allclose(dist[:2], [np.hypot(5, 2) / 100, 0.8])
    assert cfg.size_gate(8) == pytest.approx(1.6 * 1.7)  # (2.0 passes, 3.0 does not)


@pytest.mark.parametrize("camera_known, fallen, gap", [(True, False, 8), (False, True, 8), (False, False, 11)])
def test_image_rule_is_idle_with_a_measured_camera_after_the_fall_or_after_a_long_gap(
        camera_known: bool, fallen: bool, gap: int) -> None:
    ok, _ = image_reacquire(TrackerConfig().flat(), LAST, gap, CANDS, camera_known, fallen, PERSON)
    assert not ok.any()


def test_image_rule_off_admits_nothing() -> None:
    ok, _ = image_reacquire(TrackerConfig().without("reacquire").flat(), LAST, 2, CANDS, False, False, PERSON)
    assert not ok.any()


# ---- inside the tracker ------------------------------------------------------------------------

def _gap_clip(n: int = 18) -> list[np.ndarray]:
    """A diver drifting right on frames 0-6, nothing on 7-13, lone boxes near his last image place
    on 14 and 15 (each its own pass-1 tracklet: too far apart for the link gate)."""
    cands = [np.zeros((0, 5)) for _ in range(n)]
    for t in range(7):
        cands[t] = np.array([[100.0 + 4 * t, 100.0, 160.0 + 4 * t, 180.0, 0.6]])
    cands[14] = np.array([[118.0, 104.0, 178.0, 184.0, 0.4]])
    cands[15] = np.array([[126.0, 170.0, 186.0, 250.0, 0.4]])  # (70 px lower: another tracklet)
    return cands


def _camera(n: int, unknown: range) -> CameraMotion:
    known = np.ones(n, dtype=bool)
    known[list(unknown)] = False
    return CameraMotion.from_steps(np.ones(n), np.zeros((n, 2)), known)


def test_lone_boxes_after_an_unmeasured_tilt_are_reacquired() -> None:
    cands = _gap_clip()
    cam = _camera(18, range(10, 15))
    on = track_diver(cands, TrackerConfig(), camera=cam)
    assert on.decisions[14] == TrackDecision.REACQUIRED and on.candidate_index[14] == 0
    assert on.decisions[15] == TrackDecision.MATCHED and on.candidate_index[15] == 0
    off = track_diver(cands, TrackerConfig().without("reacquire"), camera=cam)
    assert off.box(14) is None and off.box(15) is None  # (confirmation: a lone box after 7 missed frames)
    measured = track_diver(cands, TrackerConfig(), camera=_camera(18, range(0)))
    assert measured.box(14) is None  # (the camera measured: the scene gates hold)


def test_no_image_reacquisition_after_the_track_has_fallen() -> None:
    """A diver falling 3 diagonals, then a gap with the camera unmeasured: a box at his last image
    place (here a person in the foreground after a cut) is not taken, though the entry end
    (8 missed frames) has not come yet."""
    n = 20
    cands = [np.zeros((0, 5)) for _ in range(n)]
    for t in range(8):
        cands[t] = np.array([[100.0, 40.0 * t, 160.0, 40.0 * t + 80, 0.6]])
    cands[12] = np.array([[100.0, 282.0, 160.0, 362.0, 0.6]])
    cam = _camera(n, range(9, 13))
    res = track_diver(cands, TrackerConfig(), camera=cam)
    assert all(res.box(t) is not None for t in range(8))
    assert res.box(12) is None


# ---- the fill ----------------------------------------------------------------------------------

def test_fill_interpolates_short_gaps_in_the_image_where_the_camera_is_unknown() -> None:
    boxes = np.full((12, 5), np.nan)
    boxes[0] = [0.0, 0.0, 10.0, 10.0, 0.8]
    boxes[4] = [40.0, 0.0, 50.0, 20.0, 0.4]
    boxes[10] = [0.0, 0.0, 10.0, 10.0, 0.9]  # 5 missed frames: longer than fill_max_gap 4
    cam = _camera(12, range(2, 3))
    filled = fill_gaps(boxes, cam, FillConfig(enabled=True, fill_max_gap=4))
    assert filled == [1, 2, 3]
    np.testing.assert_allclose(boxes[2], [20.0, 0.0, 30.0, 15.0, 0.4])  # halfway, the lower score
    assert np.isnan(boxes[5:10, 0]).all()
    assert fill_gaps(boxes.copy(), cam, FillConfig(enabled=False)) == []


def test_fill_in_the_scene_follows_the_measured_camera() -> None:
    """A still person (scene box fixed) while the camera pans 10 px a frame: the scene fill puts
    the box where the pan carries it; the image fill would not."""
    n = 5
    cam = CameraMotion.from_steps(np.ones(n), np.array([[0.0, 0.0]] + [[-10.0, 0.0]] * (n - 1)), np.ones(n, bool))
    boxes = np.full((n, 5), np.nan)
    boxes[0] = [100.0, 50.0, 120.0, 90.0, 0.5]
    boxes[4] = [60.0, 50.0, 80.0, 90.0, 0.5]  # (the same scene box, 4 steps of -10 px later)
    scene = boxes.copy()
    fill_gaps(scene, cam, FillConfig(enabled=True, fill_space="scene"))
    np.testing.assert_allclose(scene[1:4, 0], [90.0, 80.0, 70.0])
    auto = boxes.copy()
    fill_gaps(auto, cam, FillConfig(enabled=True))  # (every step measured: the scene)
    np.testing.assert_allclose(auto[1:4], scene[1:4])
    zoom = CameraMotion.from_steps(np.array([1.0, 2.0, 0.5]), np.zeros((3, 2)), np.ones(3, bool))
    b = np.full((3, 5), np.nan)
    b[0], b[2] = [10.0, 10.0, 20.0, 20.0, 1.0], [10.0, 10.0, 20.0, 20.0, 1.0]
    fill_gaps(b, zoom, FillConfig(enabled=True, fill_space="scene"))
    np.testing.assert_allclose(b[1, :4], [20.0, 20.0, 40.0, 40.0])  # (zoomed in 2x in frame 1)


def test_fill_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="fill_space"):
        FillConfig(fill_space="pixels")
    with pytest.raises(ConfigError, match="fill_max_gap"):
        TrackerConfig().with_(fill_max_gap=-1)


def test_tracker_fill_marks_filled_frames_and_never_fills_past_the_last_box() -> None:
    cands = _gap_clip()
    cfg = TrackerConfig().with_(fill={"enabled": True})
    res = track_diver(cands, cfg, camera=_camera(18, range(10, 15)))
    assert [res.decisions[t] for t in range(7, 14)] == [TrackDecision.FILLED] * 7
    assert (res.candidate_index[7:14] == -1).all()
    np.testing.assert_allclose(res.boxes[10, :4], (cands[6][0, :4] + cands[14][0, :4]) / 2)  # (image, halfway)
    assert all(res.box(t) is None for t in (16, 17))
    assert res.summary()["filled"] == 7
    off = track_diver(cands, TrackerConfig(), camera=_camera(18, range(10, 15)))
    assert TrackDecision.FILLED not in off.decisions


# ---- real footage --------------------------------------------------------------------------

@pytest.fixture
def armstand(shared_data: Path, ssd):  # type: ignore[no-untyped-def]
    import cv2

    folder = shared_data / "real" / "mtlaqa_10m_armstand"
    doc = json.loads((REPO / "benchmarks" / "data" / "mtlaqa_10m_armstand_diver.json").read_text())
    images = [cv2.imread(str(f)) for f in sorted(folder.glob("*.jpg"))]
    cands = ssd.detect(images, list(range(len(images))))
    cam = motion_from_frames(images, cands, TrackerConfig().camera)

    def run(cfg: TrackerConfig):  # type: ignore[no-untyped-def]
        return track_with_redetect(cands, cfg, lambda idx: [images[i] for i in idx], ssd,
                                   image_size=(images[0].shape[1], images[0].shape[0]), camera=cam)[0]
    gt = [None if f["box"] is None else np.asarray(f["box"], dtype=float) for f in doc["frames"]]
    return run, gt, doc["entry_frame"]


def _on_diver(res, gt) -> set[int]:  # type: ignore[no-untyped-def]
    return {t for t, g in enumerate(gt) if g is not None and res.box(t) is not None
            and iou(g, res.box(t)[None, :4])[0] >= 0.5}


def test_ssd_armstand_reacquires_the_diver_after_the_tilt(armstand) -> None:  # type: ignore[no-untyped-def]
    run, gt, entry = armstand
    res = run(TrackerConfig())
    assert {14, 15} <= _on_diver(res, gt)
    assert {0, 2, 3, 4, 5, 6} <= _on_diver(res, gt)
    assert all(res.box(t) is None for t in range(entry, len(gt)))
    off = run(TrackerConfig().without("reacquire"))
    assert off.box(14) is None and off.box(15) is None


def test_ssd_armstand_fill_boxes_the_tucked_flight(armstand) -> None:  # type: ignore[no-untyped-def]
    run, gt, entry = armstand
    res = run(TrackerConfig().with_(fill={"enabled": True}))
    assert [t for t, d in enumerate(res.decisions) if d == TrackDecision.FILLED] == list(range(7, 14))
    assert _on_diver(res, gt) & set(range(7, 14)) == {10, 12}  # (the SSD's end boxes are looser than the tuck)
    assert all(res.box(t) is None for t in range(entry, len(gt)))


def test_fill_stops_once_the_track_has_fallen() -> None:
    """Gaps of 2 frames, the diver falling faster and faster, then boxes high up again (a replay
    after a cut): no gap after the box that lies 4.8 diagonals below the highest point is filled
    (the diver may have gone under in it), not even between the later high boxes."""
    n = 16
    boxes = np.full((n, 5), np.nan)
    for t in (0, 3, 6, 9):
        boxes[t] = [100.0, 20.0 * t * t / 3, 130.0, 20.0 * t * t / 3 + 40, 0.5]  # (diagonal 50 px)
    boxes[12] = boxes[15] = boxes[0]
    cam = _camera(n, range(0))
    assert fill_gaps(boxes.copy(), cam, FillConfig(enabled=True), entry_min_drop=1.5) == [1, 2, 4, 5]
    # (frame 3 fell 60 px = 1.2 diagonals: not yet; frame 6, 240 px, has)
    assert fill_gaps(boxes.copy(), cam, FillConfig(enabled=True, fill_after_fall=True),
                     entry_min_drop=1.5) == [1, 2, 4, 5, 7, 8, 10, 11, 13, 14]


# ---- the thin-box refinement of the re-detection --------------------------------------------

class _PaintedDetector:
    """A tiny real detector: the box of the pixels brighter than 60 in the image it is given."""

    def detect_one(self, img: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(img[..., 0] > 60)
        if not len(xs):
            return np.zeros((0, 5))
        return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 0.8]], dtype=float)


def test_refine_thin_replaces_a_too_wide_box_of_a_thin_figure() -> None:
    from fdpose.pipelines.tracking.config import RedetectConfig
    from fdpose.pipelines.tracking.redetect import RedetectStats, refine_thin

    img = np.zeros((240, 320, 3), np.uint8)
    img[40:160, 100:120] = 200  # a 20 x 120 figure (a handstand)
    wide = [90.0, 42.0, 130.0, 158.0, 0.4]  # 40 x 116: (116/240) / (40/320) = 3.9 in the square input
    square = [20.0, 170.0, 80.0, 230.0, 0.6]  # aspect 1.3 there: never searched
    cands = [np.array([wide, square]), np.array([[200.0, 20.0, 215.0, 120.0, 0.3]])]  # (nothing painted there)
    stats = RedetectStats()
    out = refine_thin([c.copy() for c in cands], lambda idx: [img for _ in idx], _PaintedDetector(),
                      RedetectConfig(refine_thin=True), stats)
    np.testing.assert_allclose(out[0][0], [100.0, 40.0, 120.0, 160.0, 0.4])  # (the detector's score kept)
    np.testing.assert_allclose(out[0][1], square)
    np.testing.assert_allclose(out[1], cands[1])  # searched, nothing found: unchanged
    assert stats.searched == [0, 1] and stats.refined == [0]
    stats = RedetectStats()
    same = refine_thin([c.copy() for c in cands], lambda idx: [img for _ in idx], _PaintedDetector(),
                       RedetectConfig(refine_thin=True, refine_aspect=5.0), stats)
    np.testing.assert_allclose(same[0], cands[0])  # (3.9 < 5: left alone)


def test_ssd_armstand_thin_box_refinement_boxes_the_handstand(armstand) -> None:  # type: ignore[no-untyped-def]
    """Frame 1: the whole-frame SSD box is 61 px wide for the 30 px handstand diver (IoU 0.48);
    refined by the crop search it is right (measured: 14 of 21 frames against 13). (The defaults'
    kept-box check narrows it too: tests/pipelines/test_tracker_verify.py; here it is off.)"""
    run, gt, entry = armstand
    assert 1 not in _on_diver(run(TrackerConfig().with_(thin_aspect=0.0)), gt)
    res = run(TrackerConfig().with_(refine_thin=True, thin_aspect=0.0))
    assert {0, 1, 2, 3, 4, 5, 6, 14, 15} <= _on_diver(res, gt)
    assert all(res.box(t) is None for t in range(entry, len(gt)))


def test_track_with_redetect_takes_the_detectors_boxes_records() -> None:
    """Boxes records (the detectors' output) and (K, 5) rows give the same grown candidates and track."""
    from fdpose.records import Boxes

    img = np.zeros((240, 320, 3), np.uint8)
    img[60:180, 100:140] = 200  # a 40 x 120 figure, detected only in frame 0
    rows = [np.array([[100.0, 60.0, 140.0, 180.0, 0.7]]), np.zeros((0, 5)), np.zeros((0, 5))]
    runs = [track_with_redetect(c, TrackerConfig(), lambda idx: [img for _ in idx], _PaintedDetector(),
                                image_size=(320, 240))
            for c in (rows, [Boxes.from_rows(r) for r in rows])]
    (res_a, grown_a, _), (res_b, grown_b, _) = runs
    assert [len(g) for g in grown_a] == [1, 1, 1]  # (grown into frames 1 and 2)
    for a, b in zip(grown_a, grown_b):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(res_a.boxes, res_b.boxes)
    assert np.isfinite(res_a.boxes[:, 0]).all()


# ---- the clip JSON ---------------------------------------------------------------------------

def test_clip_json_keeps_filled_frames_and_older_summaries_stay_valid(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))  # (as the export tests import their helpers)
    from test_pipeline_clip_json import make_clip

    from fdpose.pipelines.clip_json import read_clip_json, validate_clip_doc, write_clip_json

    clip = make_clip(np.random.default_rng(0))
    clip.track[20:23] = ["filled"] * 3
    back = read_clip_json(write_clip_json(tmp_path / "a.json", clip))
    assert back.track[20:23] == ["filled"] * 3
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["summary"]["track"] == {"init": 1, "matched": 34, "re-acquired": 1, "lost": 1, "filled": 3}
    # a file written before the fill existed has no "filled" count: still valid
    plain = make_clip(np.random.default_rng(0))
    old = json.loads(write_clip_json(tmp_path / "b.json", plain).read_text())
    assert "filled" not in old["summary"]["track"]
    assert validate_clip_doc(old, tmp_path / "b.json").track == plain.track
    bad = json.loads((tmp_path / "a.json").read_text())  # (a filled frame without a box is refused)
    bad["frames"][21]["bbox"] = None
    with pytest.raises(ValidationError, match="track is 'filled' but bbox is null"):
        validate_clip_doc(bad, tmp_path / "a.json")
