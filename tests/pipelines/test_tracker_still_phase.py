"""Tracker rules for the diver's still phase, the water-entry shrink and the seed frame.

Hand-made clips reproducing failures found on synth worlds (seeds 8, 9, 12, 13):

- the diver's still phase on the board, linked by pass 1 into a tracklet that runs on after
  take-off onto another person, was never handed the track back (the hand-over only took a
  still tracklet that *ended* before the flight);
- backwards in time, a small box in the diver's column (a spectator cut by the border) was
  taken as the diver "entering the water", and the track was lost for the rest of the clip;
- the seed frame was the last member of a tracklet whose end had drifted onto another person.
"""

from __future__ import annotations

import numpy as np

from fdpose.pipelines.tracking import TrackerConfig, track_diver
from fdpose.pipelines.tracking.seed import choose_seeds
from fdpose.pipelines.tracking.tracklets import analyse


def _box(cx: float, cy: float, w: float, h: float, s: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s]


def _spectators(rng: np.random.Generator) -> list[list[float]]:
    """Two seated spectators (rows 0, 1) with detector jitter: they give the camera vote."""
    return [_box(60 + rng.normal(0, 1), 300 + rng.normal(0, 1), 30, 40, 0.7),
            _box(500 + rng.normal(0, 1), 300 + rng.normal(0, 1), 30, 40, 0.7)]


def _still_phase_run_on(n: int = 100) -> list[np.ndarray]:
    """Rows 0, 1 spectators; row 2 the diver standing still on the board (frames 0-39), whose
    box pass 1 links on to a person walking away (frames 40-47, 12 px a frame) who then sits
    (48 on); row 3 the diver's flight (frames 40-69), falling 20 px a frame while rotating."""
    rng = np.random.default_rng(1)
    frames = []
    for t in range(n):
        rows = _spectators(rng)
        x = 230 + 12 * min(max(t - 39, 0), 8)
        rows.append(_box(x + rng.normal(0, 1), 70 + rng.normal(0, 1), 20, 100, 0.9))
        if 40 <= t < 70:
            s = t - 40
            w, h = 20 + 40 * np.sin(s / 3) ** 2, 100 - 50 * np.sin(s / 3) ** 2
            rows.append(_box(230, 110 + 20 * s, w, h, 0.8))
        frames.append(np.array(rows))
    return frames


def _still_phase_overlapping_the_flight() -> list[np.ndarray]:
    """Rows 0, 1 spectators; row 2 the diver still on the board in frames 0-40; row 3 the
    flight from frame 40 on (falling 28 px and moving 4 px forward a frame), its first box a
    low duplicate beside the still box: the still tracklet ends in the frame where the
    flight's begins."""
    rng = np.random.default_rng(3)
    frames = []
    for t in range(80):
        rows = _spectators(rng)
        if t <= 40:
            rows.append(_box(230 + rng.normal(0, 1), 70 + rng.normal(0, 1), 20, 100, 0.9))
        if 40 <= t < 70:
            rows.append(_box(280 + 4 * (t - 40), 140 + 28 * (t - 40), 20 + 20 * (t % 2), 100 - 30 * (t % 2), 0.8))
        frames.append(np.array(rows))
    return frames


def test_still_phase_ending_where_the_flight_begins_is_handed_over() -> None:
    frames = _still_phase_overlapping_the_flight()
    res = track_diver(frames)
    assert res.seed_frame is not None and res.seed_frame >= 40
    assert all(res.candidate_index[t] == 2 for t in range(41, 70))  # the flight (row 2 from 41)
    assert sum(res.candidate_index[t] == 2 for t in range(0, 40)) >= 36  # the still phase


def test_still_phase_handed_over_though_its_tracklet_runs_on() -> None:
    frames = _still_phase_run_on()
    res = track_diver(frames)
    p1 = res.pass1
    assert p1 is not None
    still = p1.owner[10][2]
    # one static tracklet, run on through the walk (the seated part after the walk is cut off
    # by the still-after-flight split of pass 1)
    assert p1.owner[45][2] == still and p1.tracklets[still].static
    assert res.candidate_index[res.seed_frame] == 3  # the seed is the flight
    assert all(res.candidate_index[t] == 3 for t in range(40, 70))
    # the still phase before take-off is the diver (the previous rule lost frames 0-39)
    assert sum(res.candidate_index[t] == 2 for t in range(0, 40)) >= 36
    assert all(res.candidate_index[t] != 2 for t in range(45, 100))  # never the walker after it


def _small_box_above_before_the_flight() -> list[np.ndarray]:
    """The diver alone (no camera vote): on the board (frames 0-29), missed in frame 30 where
    a small box (a spectator cut by the border) sits right above in the diver's column, then
    falling 6 px a frame (31-59)."""
    frames = []
    for t in range(60):
        if t < 30:
            frames.append(np.array([_box(300 + 0.5 * (t % 2), 80, 40, 100, 0.8)]))
        elif t == 30:
            frames.append(np.array([_box(300, 20, 15, 20, 0.5)]))
        else:
            frames.append(np.array([_box(300, 80 + 6 * (t - 31), 40 + 10 * (t % 3), 100, 0.7)]))
    return frames


def test_entry_shrink_is_not_taken_backwards_in_time() -> None:
    frames = _small_box_above_before_the_flight()
    res = track_diver(frames, init_box=frames[45][0, :4], init_frame=45)
    assert res.box(30) is None  # the small box is not the diver shrinking
    assert all(res.candidate_index[t] == 0 for t in range(0, 30))
    assert all(res.candidate_index[t] == 0 for t in range(31, 60))


def _tracklet_end_on_another_person() -> list[np.ndarray]:
    """Rows 0, 1 spectators; row 2 the diver on the board (frames 0-29, confidence 0.8);
    in frames 30-31 the diver is missed and another person (confidence 0.95) passes where the
    diver stood, 35 px a frame: pass 1 links it to the diver's tracklet."""
    rng = np.random.default_rng(2)
    frames = []
    for t in range(32):
        rows = _spectators(rng)
        if t < 30:
            rows.append(_box(230 + 0.3 * t, 70, 20, 100, 0.8))
        else:
            rows.append(_box(245 + 35 * (t - 30), 70, 20, 100, 0.95))
        frames.append(np.array(rows))
    return frames


def test_seed_frame_avoids_the_tracklet_end() -> None:
    frames = _tracklet_end_on_another_person()
    cfg = TrackerConfig().flat()
    p1 = analyse(frames, cfg)
    diver = p1.owner[0][2]
    assert p1.owner[31][2] == diver  # the passer-by continues the diver's tracklet
    seeds = choose_seeds(frames, p1, cfg, None)
    t, j = seeds[[p1.owner[s][r] for s, r in seeds].index(diver)]
    assert t < 30 and j == 2  # a diver frame, not the passer-by at the tracklet's end
    # without the margin the moving, confident passer-by is the seed frame
    t0, _ = choose_seeds(frames, p1, TrackerConfig().with_(seed_end_margin=0).flat(), None)[
        [p1.owner[s][r] for s, r in seeds].index(diver)]
    assert t0 >= 30
