"""Repeated frames (pipelines/tracking/repeats.py, the entry pipelines/tracking/clip.py): which
frames are repeats, how a track of the distinct frames is spread back, and the real clip A shown
with every frame twice (skips without ../shared)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from fdpose.pipelines.tracking import TrackDecision, TrackerConfig
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.clip import ClipPixels, track_clip
from fdpose.pipelines.tracking.repeats import distinct_camera, expand_track, find_repeats
from fdpose.pipelines.tracking.tracker import TrackResult, track_diver

CFG = TrackerConfig().repeats


def _scene(rng: np.random.Generator) -> np.ndarray:
    """A 360x640 grey-level texture (blurred noise: edges at many scales, like stands and a pool)."""
    noise = rng.integers(0, 256, size=(360, 640), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 3).astype(np.float64) * 3 - 200


def _frame(scene: np.ndarray, dx: float, diver_x: float, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """A 256x455 BGR view of ``scene`` panned by ``dx`` px, a bright 20x90 px diver at ``diver_x``
    (sub-pixel: drawn with an anti-aliased warp) and sensor noise of ``sigma`` grey levels."""
    m = np.float32([[1, 0, -dx], [0, 1, 0]])
    view = cv2.warpAffine(scene.astype(np.float32), m, (455, 256))
    diver = np.zeros((256, 455), np.float32)
    diver[100:190, 200:220] = 120.0
    diver = cv2.warpAffine(diver, np.float32([[1, 0, diver_x - 200], [0, 1, 0]]), (455, 256))
    grey = np.clip(view + diver + rng.normal(0, sigma, view.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


def _panning(rng: np.random.Generator, n: int = 10) -> list[np.ndarray]:
    scene = _scene(rng)
    return [_frame(scene, 6.0 * t, 200 + 3 * t, rng) for t in range(n)]


def test_exact_repeats_point_to_their_source(rng: np.random.Generator) -> None:
    frames = _panning(rng)
    shown = frames[:4] + [frames[3], frames[3]] + frames[4:7] + [frames[6]] + frames[7:]  # (a stall, a repeat)
    src = find_repeats(shown, CFG)
    assert src.tolist() == [0, 1, 2, 3, 3, 3, 6, 7, 8, 8, 10, 11, 12]
    assert find_repeats(frames, CFG).tolist() == list(range(10))  # (a panning clip: none)


def test_re_encoded_repeats_are_found(rng: np.random.Generator) -> None:
    """Every frame coded at JPEG 90 and each repeat coded again at 75 or at 30: not byte-identical,
    still repeats; the distinct frames stay distinct."""
    frames = [_jpeg(f, 90) for f in _panning(rng)]
    for q in (75, 30):
        shown = []
        for f in frames:
            shown += [f, _jpeg(f, q)]
        assert not np.array_equal(shown[0], shown[1])
        assert find_repeats(shown, CFG).tolist() == [t - t % 2 for t in range(20)], q


@pytest.mark.parametrize("times", [2, 3, 4, 6])
def test_a_picture_shown_many_times_re_encoded(rng: np.random.Generator, times: int) -> None:
    """12.5 fps delivered at 50 fps shows every picture 4 times: 3 in 4 steps are repeats, each coded
    again (JPEG 80). Before the typical step was taken over the steps that are not noise-like, the
    75th percentile of all steps was a repeat's own noise and 4 or more showings found none (review of
    session 9: 0 of 36)."""
    frames = [_jpeg(f, 90) for f in _panning(rng, 8)]
    shown = [f if k == 0 else _jpeg(f, 80) for f in frames for k in range(times)]
    assert find_repeats(shown, CFG).tolist() == [t - t % times for t in range(8 * times)]


def test_a_still_diver_on_a_still_camera_is_not_a_repeat(rng: np.random.Generator) -> None:
    """After a pan the camera stops and the diver stands on the board, swaying by 0.5 px a frame,
    under fresh sensor noise each frame: no frame is a repeat. The same still frame shown again
    (coded again at JPEG 75) is."""
    scene = _scene(rng)
    pan = [_frame(scene, 6.0 * t, 200.0, rng) for t in range(6)]
    still = [_frame(scene, 36.0, 200.0 + 0.5 * (t % 2), rng) for t in range(8)]
    assert find_repeats(pan + still, CFG).tolist() == list(range(14))
    again = pan + still[:3] + [_jpeg(still[2], 75)] + still[3:]
    assert find_repeats(again, CFG).tolist() == list(range(9)) + [8] + list(range(10, 15))


def test_a_fade_and_a_clip_where_nothing_moves_find_no_repeat(rng: np.random.Generator) -> None:
    """A brightness step of 5 grey levels changes every pixel alike (peak / median 1) but is no
    repeat (median over ``noise_max``); in a clip whose every step is at noise level, re-encoded
    repeats are far from below the clip's typical step, so nothing is called a repeat there."""
    frames = _panning(rng)
    faded = np.clip(frames[4].astype(np.int16) + 5, 0, 255).astype(np.uint8)
    assert find_repeats(frames[:5] + [faded] + frames[5:], CFG).tolist() == list(range(11))
    still = _frame(_scene(rng), 0.0, 200.0, rng, sigma=0.0)
    assert find_repeats([_jpeg(still, 90 - 5 * t) for t in range(8)], CFG).tolist() == list(range(8))
    # (switched off: no repeats at all)
    off = TrackerConfig().with_(repeats={"enabled": False}).repeats
    assert find_repeats([frames[0], frames[0]], off).tolist() == [0, 1]


def test_clip_pixels_measure_what_the_tools_measure(rng: np.random.Generator) -> None:
    frames = _panning(rng, 6)
    shown = frames[:3] + [frames[2]] + frames[3:]
    pixels = ClipPixels(TrackerConfig())
    for f in shown:
        pixels.add(f, np.zeros((0, 5)))
    cam = pixels.camera()
    assert pixels.sources().tolist() == [0, 1, 2, 2, 4, 5, 6]
    assert cam is not None and cam.known.all()
    assert abs(cam.offset[3, 0] - cam.offset[2, 0]) < 0.5 and abs(cam.offset[2, 0] + 12.0) < 1.0  # (pan 6 px/frame)
    assert ClipPixels(TrackerConfig().without("camera", "repeats")).sources() is None


def test_distinct_camera_composes_the_steps_it_spans() -> None:
    scale = np.array([1.0, 1.1, 1.0, 0.9, 1.0])
    shift = np.array([[0, 0], [2, 1], [0, 0], [3, -1], [1, 1]], dtype=float)
    known = np.array([True, True, True, False, True])
    cam = CameraMotion.from_steps(scale, shift, known)
    sub = distinct_camera(cam, np.array([0, 2, 4]))
    assert np.allclose(sub.scale, cam.scale[[0, 2, 4]]) and np.allclose(sub.offset, cam.offset[[0, 2, 4]])
    assert sub.known.tolist() == [True, True, False]  # (the step 2 -> 4 spans the unmeasured step 3)
    assert sub.step_scale is not None and sub.step_shift is not None
    again = CameraMotion.from_steps(sub.step_scale, sub.step_shift, sub.known)
    assert np.allclose(again.scale, sub.scale) and np.allclose(again.offset, sub.offset)


def test_the_track_of_the_distinct_frames_is_spread_back_to_every_frame() -> None:
    boxes = np.array([[0, 0, 10, 20, 0.9], [np.nan] * 5, [4, 0, 14, 20, 0.8]])
    sub = TrackResult(boxes, [TrackDecision.INIT, TrackDecision.LOST, TrackDecision.MATCHED], np.array([0, -1, 1]), 2,
                      [np.array([False]), np.zeros(0, bool), np.array([True, False])])
    keep, sources = np.array([0, 2, 3]), np.array([0, 0, 2, 3, 3, 3])
    full = expand_track(sub, keep, sources)
    assert np.array_equal(full.boxes[[0, 1, 2]], boxes[[0, 0, 1]], equal_nan=True)
    assert np.array_equal(full.boxes[[3, 4, 5]], boxes[[2, 2, 2]])
    assert full.decisions == [TrackDecision.INIT] * 2 + [TrackDecision.LOST] + [TrackDecision.MATCHED] * 3
    assert full.candidate_index.tolist() == [0, 0, -1, 1, 1, 1] and full.seed_frame == 3
    assert [len(s) for s in full.static] == [1, 1, 0, 2, 2, 2] and full.pass1 is None


def _walker(n: int) -> list[np.ndarray]:
    """Candidates of n frames: a diver crossing the frame (8 px a frame) and a still spectator."""
    return [np.array([[40 + 8.0 * t, 60, 70 + 8.0 * t, 150, 0.9], [300, 40, 330, 120, 0.7]]) for t in range(n)]


def test_track_clip_tracks_the_distinct_frames_and_copies_the_repeats() -> None:
    cfg = TrackerConfig()
    distinct = _walker(12)
    plain = track_diver(distinct, cfg, image_size=(455, 256))
    sources = np.arange(24) // 2 * 2  # (every frame twice: 0, 0, 2, 2, ...)
    cands = [distinct[t // 2] for t in range(24)]
    out = track_clip(cands, cfg, sources=sources, image_size=(455, 256))
    assert out.repeats == 12 and out.partner is None
    assert np.array_equal(out.track.boxes, np.repeat(plain.boxes, 2, axis=0), equal_nan=True)
    assert out.track.decisions == [d for d in plain.decisions for _ in range(2)]
    assert all(np.array_equal(out.candidates[t], distinct[t // 2]) for t in range(24))
    # (no sources, or the section off: the tracker on every frame as before)
    same = track_clip(cands, cfg.without("repeats"), sources=sources, image_size=(455, 256))
    assert same.repeats == 0
    assert np.array_equal(same.track.boxes, track_diver(cands, cfg, image_size=(455, 256)).boxes, equal_nan=True)
    with pytest.raises(ValueError, match="earlier distinct frame"):
        track_clip(cands, cfg, sources=np.arange(24)[::-1].copy())


def test_clip_a_shown_twice_keeps_the_original_boxes(shared_data: Path,
                                                     robustness_bench: tuple[ModuleType, object]) -> None:
    """Real clip A with every frame twice (``dup2``): the default pipeline
    (benchmarks/real_robustness.py::track_default, the runner's entry) finds the 34 repeats and
    gives every frame, repeated or not, the box of the untransformed run."""
    mod, det = robustness_bench
    clip = mod.load_clips(shared_data)["finediving_10m_clipA"]
    doubled = mod.TRANSFORMS["dup2"](clip)
    assert find_repeats(doubled.images, CFG).tolist() == [t - t % 2 for t in range(68)]
    plain, _, _ = mod.track_default(clip, det)
    twice, _, _ = mod.track_default(doubled, det)
    assert np.array_equal(twice[1::2], plain, equal_nan=True) and np.array_equal(twice[0::2], plain, equal_nan=True)
    assert mod.score(doubled, twice, *mod.track_default(doubled, det)[1:])["right"] == 68  # (2 x 34: all right, docs/tracker_robustness.md)
