"""Tracker rules that keep one wrong box from losing the diver for the rest of the clip.

Hand-made clips: the lone false detection the track cannot continue from (resumed from the
last confirmed box), the size gate against a box cut by the image border, and the backward
hand-over to the still phase when the flight's tracklet begins with a false detection.
"""

from __future__ import annotations

import numpy as np

from fdpose.pipelines.tracking import TrackDecision, TrackerConfig, track_diver

SIZE = (455, 256)


def _box(cx: float, cy: float, w: float, h: float, s: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s]


SPECTATORS = [_box(420, 200, 16, 40, 0.9), _box(30, 210, 16, 40, 0.9)]


def _fall_with_false_box(n: int = 15, false_at: int = 7) -> list[np.ndarray]:
    """Row 0 the diver falling 10 px a frame, missed in frame ``false_at`` where a false box
    lies 30 px above its last position (rows 1, 2: still spectators, the camera reference)."""
    frames = []
    for t in range(n):
        if t == false_at:
            rows = [_box(200, 40 + 10 * (t - 1) - 30, 20, 40, 0.3)]
        else:
            rows = [_box(200, 40 + 10 * t, 20, 40, 0.8)]
        frames.append(np.array(rows + SPECTATORS))
    return frames


def test_lone_false_box_is_dropped_and_the_track_resumes() -> None:
    frames = _fall_with_false_box()
    res = track_diver(frames, init_box=frames[0][0, :4], image_size=SIZE)
    # the false box is taken first (the only candidate within reach), then the diver's own
    # tracklet continues from the last confirmed box: the false pick is undone
    assert res.box(7) is None and res.decisions[7] == TrackDecision.LOST
    assert all(res.candidate_index[t] == 0 for t in range(8, 15))
    assert res.decisions[8] == TrackDecision.REACQUIRED
    assert all(res.candidate_index[t] == 0 for t in range(7))


def test_two_picks_off_the_tracklet_are_kept() -> None:
    """Two consecutive boxes off the diver's tracklet (the entry into the water) stay chosen."""
    frames = []
    for t in range(12):
        if t < 8:
            rows = [_box(200, 40 + 10 * t, 20, 40, 0.8)]
        else:  # shrinking entry boxes, each a lone detection
            rows = [_box(200, 120 + 2 * (t - 8), 20 / 1.5 ** (t - 7), 40 / 1.5 ** (t - 7), 0.4)]
        frames.append(np.array(rows + SPECTATORS))
    res = track_diver(frames, init_box=frames[0][0, :4], image_size=SIZE)
    assert all(res.candidate_index[t] == 0 for t in range(10))


def _cut_at_the_top() -> list[np.ndarray]:
    """Row 0 the diver: whole (40 x 100) in frames 0-3, then cut by the top border in 4-6."""
    frames = []
    for t in range(7):
        diver = [80, 2, 120, 102, 0.8] if t < 4 else [80, 0, 120, 40, 0.6]
        frames.append(np.array([diver] + SPECTATORS))
    return frames


def test_size_gate_from_a_box_cut_by_the_border() -> None:
    frames = _cut_at_the_top()
    # seeded on the cut box, backwards the whole box is 1.9 times its diagonal: one person
    res = track_diver(frames, init_box=frames[6][0, :4], init_frame=6, image_size=SIZE)
    assert all(res.candidate_index[t] == 0 for t in range(7))
    # the same growth from an uncut box of the cut box's size is refused
    low = [f.copy() for f in frames]
    for f in low[4:]:
        f[0, 1], f[0, 3] = 12, 52
    res = track_diver(low, init_box=low[6][0, :4], init_frame=6, image_size=SIZE)
    assert res.decisions[3] == TrackDecision.LOST
    # and the cut-box allowance is a parameter
    res = track_diver(frames, TrackerConfig().with_(cut_size_ratio=1.0), init_box=frames[6][0, :4], init_frame=6,
                      image_size=SIZE)
    assert res.decisions[3] == TrackDecision.LOST


def _flight_begins_with_a_false_box() -> list[np.ndarray]:
    """Rows 0, 1 spectators; row 2 the diver still on the board in frames 0-42; from frame 43
    row 3 the flight (falling 28 px a frame, rotating); in frame 40 a false box below the
    board that pass 1 links on to the flight, so the flight's tracklet begins before the
    still phase ends."""
    rng = np.random.default_rng(5)
    frames = []
    for t in range(75):
        rows = [_box(60 + rng.normal(0, 1), 300 + rng.normal(0, 1), 30, 40, 0.7),
                _box(500 + rng.normal(0, 1), 300 + rng.normal(0, 1), 30, 40, 0.7)]
        if t <= 42:
            rows.append(_box(230 + rng.normal(0, 1), 70 + rng.normal(0, 1), 20, 100, 0.9))
        if t == 40:
            rows.append(_box(276, 100, 20, 70, 0.2))
        if 43 <= t < 70:
            s = t - 43
            rows.append(_box(280 + 4 * s, 140 + 28 * s, 20 + 20 * (t % 2), 100 - 30 * (t % 2), 0.8))
        frames.append(np.array(rows))
    return frames


def test_still_phase_handed_over_though_the_flight_tracklet_starts_early() -> None:
    frames = _flight_begins_with_a_false_box()
    res = track_diver(frames)
    p1 = res.pass1
    assert p1 is not None
    flight = p1.owner[45][2]
    assert p1.owner[40][3] == flight  # the false box begins the flight's tracklet
    assert res.seed_frame is not None and res.seed_frame >= 43
    assert all(res.candidate_index[t] == 2 for t in range(43, 70))
    # the still phase before take-off is the diver (shared frames: only the false box's)
    assert sum(res.candidate_index[t] == 2 for t in range(0, 43)) >= 40
