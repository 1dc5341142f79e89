"""The tracker's core is Eq. 25 alone; the refinements added since are each switchable.

Hand-built scenes (seeded): with every refinement off (:meth:`TrackerConfig.paper`) the track is
exactly the paper's rule, re-implemented here in a few lines; the entry end and the pixel camera
each change a result that they alone decide.
"""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.errors import ConfigError
from fdpose.pipelines.tracking import TrackDecision, TrackerConfig, track_diver
from fdpose.pipelines.tracking.camera import CameraMotion, PixelCamera, pixel_step
from fdpose.pipelines.tracking.config import REFINEMENTS


def _box(cx: float, cy: float, w: float, h: float, conf: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, conf]


def _eq25(cands: list[np.ndarray], seed_t: int, seed_row: int) -> list[int]:
    """The paper's rule written out: from the last box, argmax of conf - centre distance / diagonal."""
    rows = [-1] * len(cands)
    rows[seed_t] = seed_row
    for order in (range(seed_t + 1, len(cands)), range(seed_t - 1, -1, -1)):
        last = cands[seed_t][seed_row]
        for t in order:
            if not len(cands[t]):
                continue
            c = cands[t]
            dist = np.hypot((c[:, 0] + c[:, 2]) / 2 - (last[0] + last[2]) / 2,
                            (c[:, 1] + c[:, 3]) / 2 - (last[1] + last[3]) / 2)
            j = int(np.argmax(c[:, 4] - dist / np.hypot(last[2] - last[0], last[3] - last[1])))
            rows[t], last = j, c[j]
    return rows


def test_paper_config_is_eq25_exactly() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        cands = []
        for _t in range(15):
            k = int(rng.integers(0, 5))
            cands.append(np.array([_box(*rng.uniform(20, 400, 2), *rng.uniform(10, 80, 2), rng.uniform(0.05, 1))
                                   for _ in range(k)]).reshape(k, 5))
        res = track_diver(cands, TrackerConfig.paper())
        if res.seed_frame is None:
            continue
        # (the core's seed: the most confident box of the first frame with candidates)
        first = next(t for t, c in enumerate(cands) if len(c))
        assert res.seed_frame == first
        seed_row = int(np.argmax(cands[first][:, 4]))
        assert list(res.candidate_index) == _eq25(cands, first, seed_row)


def test_paper_rule_weighs_confidence_against_distance() -> None:
    """From a 20x40 box: a 0.5 box 0.2 diagonals away beats a 0.9 box 1.0 diagonal away
    (0.3 > -0.1); a 0.9 box 0.3 diagonals away beats the near 0.5 one (0.6 > 0.3)."""
    diag = np.hypot(20, 40)
    seed = np.array([_box(100, 100, 20, 40, 1.0)])
    f1 = np.array([_box(100 + 0.2 * diag, 100, 20, 40, 0.5), _box(100, 100 + 1.0 * diag, 20, 40, 0.9)])
    near = f1[0]
    f2 = np.array([_box(near[0] + 10 + 0.2 * diag, 100, 20, 40, 0.5),
                   _box(near[0] + 10, 100 + 0.3 * diag, 20, 40, 0.9)])
    res = track_diver([seed, f1, f2], TrackerConfig.paper())
    assert list(res.candidate_index) == [0, 0, 1]
    # no gate in the paper's rule: a far box is still taken when it is the only one
    res = track_diver([seed, np.array([_box(400, 300, 20, 40, 0.1)])], TrackerConfig.paper())
    assert res.decisions == [TrackDecision.INIT, TrackDecision.MATCHED]
    # ... while the gates refinement refuses it
    gated = TrackerConfig.paper().with_(gates={"enabled": True})
    res = track_diver([seed, np.array([_box(400, 300, 20, 40, 0.1)])], gated)
    assert res.decisions == [TrackDecision.INIT, TrackDecision.LOST]


def test_config_sections_and_errors() -> None:
    cfg = TrackerConfig.paper()
    assert cfg.refinements_off and not TrackerConfig().refinements_off
    assert all(not getattr(cfg, r).enabled for r in REFINEMENTS)
    assert TrackerConfig().with_(max_jump=2.0).gates.max_jump == 2.0
    assert TrackerConfig.from_dict(TrackerConfig().with_(fall_cos=0.7).to_dict()).fall.fall_cos == 0.7
    with pytest.raises(ConfigError, match="unknown tracker setting 'max_jmp'"):
        TrackerConfig().with_(max_jmp=2.0)
    with pytest.raises(ConfigError, match="camera source"):
        TrackerConfig().with_(source="sky")
    assert TrackerConfig().without("entry").flat().entry_end is False


def _entry_scene() -> tuple[list[np.ndarray], int]:
    """Two seated spectators (the camera vote), a diver falling 0.35 diagonals a frame for 16
    frames, then nothing for 10 frames (under water), then an official walking along the
    poolside just below where the diver went in (frames 26-38). Returns (frames, entry)."""
    rng = np.random.default_rng(0)
    frames = []
    for t in range(39):
        rows = [_box(60 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9),
                _box(560 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9)]
        if t < 16:
            rows.append(_box(300 + 2 * t, 40 + 16 * t, 20, 40, 0.7))
        elif t >= 26:
            rows.append(_box(300 + 4 * (t - 26), 320, 22, 44, 0.8))
        frames.append(np.array(rows))
    return frames, 16


def test_entry_end_keeps_the_track_off_people_after_the_water() -> None:
    frames, entry = _entry_scene()
    init = frames[0][2, :4]
    on = track_diver(frames, TrackerConfig(), init_box=init, image_size=(640, 360))
    assert all(on.candidate_index[t] == 2 for t in range(entry))
    assert all(on.box(t) is None for t in range(entry, len(frames)))
    off = track_diver(frames, TrackerConfig().without("entry"), init_box=init, image_size=(640, 360))
    assert any(off.box(t) is not None for t in range(entry, len(frames)))  # the official taken
    # the core engine honours the switch too
    core_on = track_diver(frames, TrackerConfig.paper().with_(entry={"enabled": True}, gates={"enabled": True}),
                          init_box=init)
    assert all(core_on.box(t) is None for t in range(entry, len(frames)))
    core_off = track_diver(frames, TrackerConfig.paper().with_(gates={"enabled": True}), init_box=init)
    assert any(core_off.box(t) is not None for t in range(entry, len(frames)))


def _texture(rng: np.random.Generator, w: int = 320, h: int = 180) -> np.ndarray:
    import cv2

    small = rng.integers(0, 255, (h // 8, w // 8), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), (3, 3), 0)


def test_pixel_camera_measures_pan_and_zoom() -> None:
    import cv2

    img = _texture(np.random.default_rng(1))
    s, d = 1.06, np.array([4.0, -3.0])
    m = np.array([[s, 0, d[0]], [0, s, d[1]]])
    nxt = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    zoom, shift, known = pixel_step(img, nxt, None, TrackerConfig().camera)
    assert known and abs(zoom - s) < 0.005 and np.allclose(shift, d, atol=0.6)
    # a blank frame (a cut to water, a whip-pan blur): the step stays unknown
    zoom, shift, known = pixel_step(img, np.zeros_like(img), None, TrackerConfig().camera)
    assert not known or (zoom, tuple(shift)) != (s, tuple(d))
    blank = np.full_like(img, 128)
    assert pixel_step(blank, blank, None, TrackerConfig().camera)[2] is False
    cam = PixelCamera(TrackerConfig().camera)
    for image in (img, nxt):
        cam.add(image)
    motion = cam.motion()
    assert motion.known.tolist() == [True, True] and abs(motion.scale[1] - s) < 0.005
    # a point of the scene maps back to the same scene point in both frames
    p = np.array([[100.0, 80.0]])
    assert np.allclose(motion.to_scene(p * s + d, 1), motion.to_scene(p, 0), atol=1.0)


def test_zoom_compensation_keeps_a_spectator_still() -> None:
    """A camera zooming in 3% a frame about the image centre: with the motion given, a seated
    spectator's scene centre stays put, so the tracker does not take her as the moving diver."""
    n, c0 = 12, np.array([320.0, 180.0])
    scale = np.array([1.0] + [1.03] * (n - 1))
    shift = np.array([[0.0, 0.0]] + [list(c0 * (1 - 1.03))] * (n - 1))
    cam = CameraMotion.from_steps(scale, shift, np.ones(n, dtype=bool))
    spect = np.array([[200.0, 150.0]])
    scene = [cam.to_scene(cam.scale[t] * spect + cam.offset[t], t) for t in range(n)]
    assert np.allclose(np.concatenate(scene), spect, atol=1e-6)


def _replay_scene() -> tuple[list[np.ndarray], int]:
    """The live dive (frames 0-15, falling 0.18 diagonals a frame), the water (16-23), then a
    replay from a tighter camera (24-39: a larger diver falling and rotating faster, so its
    track is worth more to the seed choice). Two seated spectators give the camera vote."""
    rng = np.random.default_rng(4)
    frames = []
    for t in range(40):
        rows = [_box(60 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9),
                _box(560 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9)]
        if t < 16:
            rows.append(_box(300 + t, 60 + 8 * t, 20, 40, 0.7))
        elif t >= 24:
            u = t - 24
            w, h = (40, 80) if u % 4 < 2 else (70, 50)  # (tuck and open: the aspect changes)
            rows.append(_box(250 + 3 * u, 20 + 18 * u, w, h, 0.8))
        frames.append(np.array(rows))
    return frames, 24


def test_live_dive_first_replay_gets_no_box() -> None:
    frames, replay = _replay_scene()
    on = track_diver(frames, TrackerConfig(), image_size=(640, 360))
    assert all(on.candidate_index[t] == 2 for t in range(16))  # the live dive
    assert all(on.box(t) is None for t in range(16, len(frames)))
    off = track_diver(frames, TrackerConfig().with_(entry_live_first=False), image_size=(640, 360))
    assert sum(off.box(t) is not None for t in range(replay, len(frames))) >= 8  # the replay seeded


def test_still_hypothesis_is_someone_standing_not_walking() -> None:
    """The still-phase seed (the diver standing on the board) is a static tracklet that stays in
    place: an official walking slowly (0.033 diagonals a frame: still by the 9-frame local
    measure, 1.7 diagonals over the clip) is not taken for it; a standing spectator is."""
    from fdpose.pipelines.tracking.seed import choose_seeds
    from fdpose.pipelines.tracking.tracklets import analyse

    rng = np.random.default_rng(5)
    frames = []
    for t in range(60):
        rows = [_box(60 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9),
                _box(560 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9),
                _box(200 + 2.2 * t, 200, 30, 60, 0.9)]  # the walking official
        if 20 <= t < 40:
            rows.append(_box(320, 20 + 10 * (t - 20), 20, 40, 0.6))  # the diver
        frames.append(np.array(rows))
    results = {}
    for travel in (1.0, 3.0):
        cfg = TrackerConfig().with_(seed_hypotheses=1, still_max_travel=travel).flat()
        p1 = analyse(frames, cfg, (640, 360))
        walker = p1.tracklets[p1.owner[0][2]]
        assert walker.static and 1.5 < walker.travel < 3.0
        results[travel] = choose_seeds(frames, p1, cfg, None)
    assert [j for _, j in results[1.0]][0] == 3 and [j for _, j in results[3.0]][0] == 3  # the diver first
    assert results[1.0][1][1] in (0, 1)  # default: a standing spectator is the still hypothesis
    assert results[3.0][1][1] == 2  # the limit raised: the walker would be


def test_a_spectator_drifting_off_the_bottom_does_not_end_the_live_dive() -> None:
    """A seated spectator drifting down out of the image (a tilt the camera mis-measures) 'falls' and
    is lost like a diver entering the water. Its hypothesis' entry (frame 10) must not drop the diver's
    hypothesis, seeded at frame 30 (the frames before are crowded by people on the tower), as a replay:
    only hypotheses whose track value is at least entry_live_min_share of the best one's end the live
    dive. (Real clip A with the SSD's boxes merged from the frame and its mirror: 0/34 frames right
    without the share, 31/34 with it.)"""
    rng = np.random.default_rng(5)
    frames = []
    for t in range(44):
        rows = [_box(60 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9),
                _box(560 + rng.normal(0, 0.3), 300 + rng.normal(0, 0.3), 30, 60, 0.9)]
        rows += [_box(338 + rng.normal(0, 0.3), y + rng.normal(0, 0.3), 24, 36, 0.8) for y in (40, 80, 120, 160, 200)]
        if t < 36:  # the diver, rotating (tuck / open) and falling 8 px a frame, enters the water at 36
            w, h = (20, 40) if t % 4 < 2 else (34, 26)
            rows.append(_box(300 + t, 30 + 8 * t, w, h, 0.7))
        if t < 10:  # the drifting spectator, out of the image from frame 10
            rows.append(_box(450, 190 + 18 * t, 30, 60, 0.6))
        frames.append(np.array(rows))
    diver = [7] * 36 + [-1] * 8
    on = track_diver(frames, TrackerConfig(), image_size=(640, 360))
    assert [int(on.candidate_index[t]) for t in range(44)] == diver
    off = track_diver(frames, TrackerConfig().with_(entry_live_min_share=0.0), image_size=(640, 360))
    assert [int(off.candidate_index[t]) for t in range(10)] == [8] * 10  # the spectator's track won
    assert all(off.box(t) is None for t in range(10, 44))
    with pytest.raises(ConfigError, match="entry_live_min_share"):
        TrackerConfig().with_(entry_live_min_share=1.5)
