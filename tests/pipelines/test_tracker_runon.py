"""Pass-1 tracklets that run on from the diver to a spectator (synth demo Men3m_r5/2, seed 8
Women10m_r4/3) or swap with a spectator right behind the diver (seed 10 Women3m_r6/4).

The diver's tracklet (still phase on the board, then the flight) is linked on to a spectator
who stands near the flight path; the diver's later flight becomes a tracklet of its own. The
spectator is seen beside the diver, which excluded the *whole* run-on tracklet, the diver's
still phase and take-off included. Pass 1 now cuts the still run after the flight off (the
diver never stands still again after the flight), and a tracklet's box that left its still
head counts only the frames seen beside the diver after the head. Two links crossed by the
greedy linker are exchanged when that is clearly cheaper (``link_swap_margin``).
"""

from __future__ import annotations

import numpy as np

from fdpose.pipelines.tracking import TrackerConfig, track_diver


def _box(cx: float, cy: float, w: float, h: float, s: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s]


def _spectators(rng: np.random.Generator) -> list[list[float]]:
    """Two seated spectators (rows 0, 1) with detector jitter: they give the camera vote."""
    return [_box(60 + rng.normal(0, 1), 420 + rng.normal(0, 1), 30, 40, 0.7),
            _box(560 + rng.normal(0, 1), 420 + rng.normal(0, 1), 30, 40, 0.7)]


def _diver(t: int, rng: np.random.Generator) -> list[float]:
    """Still on the board (frames 0-15), a smooth take-off (16-20: pass 1 links it on), then a
    fall of 20 px a frame while rotating."""
    if t < 16:
        return _box(200 + rng.normal(0, 0.5), 60 + rng.normal(0, 0.5), 24, 100, 0.9)
    if t <= 20:
        return _box(200, 60 + 2 * (t - 15) ** 2, 24, 100, 0.9)
    s = t - 20
    w, h = 24 + 30 * np.sin(s / 2) ** 2, 100 - 40 * np.sin(s / 2) ** 2
    return _box(200, 110 + 20 * s, w, h, 0.8)


def _run_on_to_a_spectator(n: int = 60) -> tuple[list[np.ndarray], list[int]]:
    """Rows 0, 1 spectators; the diver (frames 0-39, see ``_diver``) is missed in frame 26,
    where a spectator appears beside the flight path and stays (26 on). Returns the frames
    and per frame the diver's row (-1: none)."""
    rng = np.random.default_rng(3)
    frames, diver = [], []
    for t in range(n):
        rows = _spectators(rng)
        d = -1
        if t < 40 and t != 26:
            d = len(rows)
            rows.append(_diver(t, rng))
        if t >= 26:
            rows.append(_box(216 + rng.normal(0, 0.5), 232 + rng.normal(0, 0.5), 24, 60, 0.7))
        frames.append(np.array(rows))
        diver.append(d)
    return frames, diver


def test_still_phase_kept_though_its_tracklet_runs_on_to_a_spectator() -> None:
    frames, diver = _run_on_to_a_spectator()
    res = track_diver(frames)
    p1 = res.pass1
    assert p1 is not None
    # pass 1 links board, take-off and the first flight frames on to the spectator; the cut
    # leaves the spectator's still run a tracklet of its own; the flight after the miss is
    # another tracklet
    board = p1.owner[10][diver[10]]
    assert board == p1.owner[24][diver[24]] != p1.owner[40][2] != p1.owner[30][diver[30]] != board
    assert p1.tracklets[p1.owner[40][2]].static
    chosen = res.candidate_index
    assert all(chosen[t] == diver[t] for t in range(60) if diver[t] >= 0), chosen.tolist()
    assert all(chosen[t] == -1 for t in range(60) if diver[t] < 0)  # never the spectator
    # without the cut the track followed the seed's tracklet on to the spectator (from frame
    # 26) and lost the diver's flight
    old = track_diver(frames, TrackerConfig().with_(split_still_after_flight=False))
    assert old.candidate_index[26] == 2
    assert sum(old.candidate_index[t] != diver[t] for t in range(60)) >= 10


def _swap_behind_the_diver(n: int = 60) -> tuple[list[np.ndarray], list[int], list[int]]:
    """Rows 0, 1 far spectators; the diver stands on the board (frames 0-32) right in front of
    a spectator (centres 0.05 diagonals apart, the spectator smaller), both are missed in frame
    33, then the diver walks off (34-44) and falls (45 on). The last steps before the miss are
    set so that the greedy link's cheapest pair in frame 34 is the cross link (seed 10
    Women3m_r6/4). Returns the frames and per frame the rows of the diver and the spectator."""
    rng = np.random.default_rng(5)
    frames, diver, spectator = [], [], []
    fixed_d = {31: (226, 147), 32: (224, 145)}
    fixed_s = {31: (222, 144), 32: (223, 152)}
    for t in range(n):
        rows = _spectators(rng)
        if t == 33:
            frames.append(np.array(rows))
            diver.append(-1)
            spectator.append(-1)
            continue
        if t < 33:
            cx, cy = fixed_d.get(t, (224 + rng.normal(0, 0.5), 145 + rng.normal(0, 0.5)))
            d = _box(cx, cy, 35, 93, 0.85)
        elif t == 34:
            d = _box(221, 139, 48, 84, 0.8)
        elif t < 45:
            d = _box(221 + 4 * (t - 34), 139 - 2 * (t - 34), 44, 90, 0.8)
        else:
            s = t - 45
            w, h = 40 + 30 * np.sin(s / 2) ** 2, 90 - 40 * np.sin(s / 2) ** 2
            d = _box(261, 130 + 20 * s, w, h, 0.8)
        if t < 33:
            cx, cy = fixed_s.get(t, (220 + rng.normal(0, 0.5), 142 + rng.normal(0, 0.5)))
            sp = _box(cx, cy, 29, 72, 0.7)
        elif t == 34:
            sp = _box(223, 143, 31, 77, 0.7)
        else:
            sp = _box(222 + rng.normal(0, 0.5), 144 + rng.normal(0, 0.5), 30, 72, 0.7)
        diver.append(len(rows))
        spectator.append(len(rows) + 1)
        frames.append(np.array([*rows, d, sp]))
    return frames, diver, spectator


def test_links_of_the_diver_and_a_spectator_behind_her_are_not_crossed() -> None:
    frames, diver, spectator = _swap_behind_the_diver()
    crossed = track_diver(frames, TrackerConfig().with_(link_swap_margin=np.inf))
    p0 = crossed.pass1
    assert p0 is not None  # the greedy link alone crosses: the diver's tracklet takes the spectator
    assert p0.owner[10][diver[10]] == p0.owner[40][spectator[40]]
    res = track_diver(frames)
    p1 = res.pass1
    assert p1 is not None
    assert p1.owner[10][diver[10]] == p1.owner[40][diver[40]]
    assert p1.owner[10][spectator[10]] == p1.owner[40][spectator[40]]
    right = [res.candidate_index[t] == diver[t] for t in range(60) if diver[t] >= 0]
    old = [crossed.candidate_index[t] == diver[t] for t in range(60) if diver[t] >= 0]
    assert all(right), res.candidate_index.tolist()
    assert sum(old) < len(old) - 10  # crossed, the board phase went to the spectator
