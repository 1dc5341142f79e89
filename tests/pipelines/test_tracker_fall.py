"""Fall chains: the diver's lone boxes at the end of a 10 m dive (synth quick Women10m_r5/2,
seed 1 Women10m_r4/1, seed 2 Women10m_r5/2).

She falls about a box diagonal per frame: after a miss pass 1 links none of her boxes (a newborn
tracklet has no velocity and gets the still gate), and pass 2 refused the single-frame tracklets
after more than ``confirm_gap`` missed frames. Linked again downwards with a gate wide enough
for the fall (:mod:`fdpose.pipelines.tracking.fall`), they confirm each other.
"""

from __future__ import annotations


import numpy as np

from fdpose.pipelines.tracking import TrackerConfig, track_diver
from fdpose.pipelines.tracking.fall import fall_support
from fdpose.pipelines.tracking.tracklets import analyse


def _box(cx: float, cy: float, w: float, h: float, s: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s]


def _fall_clip(n: int = 40, rising: bool = False) -> tuple[list[np.ndarray], list[int]]:
    """Rows 0, 1 seated spectators; the diver (diagonal 72 px) flies slowly in frames 0-19,
    is missed in 20-24 and falls 60 px a frame (0.83 diagonals) in 25-28, then is gone.
    ``rising``: the lone boxes of 25-28 in reverse order (moving up). Returns the frames and
    per frame the diver's row (-1: none)."""
    rng = np.random.default_rng(5)
    lone_y = [326.0 + 60 * k for k in range(4)]
    if rising:
        lone_y = lone_y[::-1]
    frames, diver = [], []
    for t in range(n):
        rows = [_box(60 + rng.normal(0, 1), 600 + rng.normal(0, 1), 30, 40, 0.7),
                _box(1100 + rng.normal(0, 1), 600 + rng.normal(0, 1), 30, 40, 0.7)]
        d = -1
        if t < 20 or 25 <= t <= 28:
            d = len(rows)
            y = 100 + 4 * t if t < 20 else lone_y[t - 25]
            rows.append(_box(400 + rng.normal(0, 0.5), y + rng.normal(0, 0.5), 40, 60, 0.6))
        frames.append(np.array(rows))
        diver.append(d)
    return frames, diver


def test_fall_chain_confirms_lone_falling_boxes() -> None:
    frames, diver = _fall_clip()
    cfg = TrackerConfig()
    p1 = analyse(frames, cfg.flat(), (1280, 720))
    assert all(p1.support[t][2] == 1 for t in range(25, 29))  # pass 1 linked none of them
    res = track_diver(frames, cfg, image_size=(1280, 720))
    assert res.seed_frame is not None and res.seed_frame < 20
    assert [int(res.candidate_index[t]) for t in range(40)] == diver
    off = track_diver(frames, cfg.without("fall"), image_size=(1280, 720))
    assert [int(off.candidate_index[t]) for t in range(25, 29)] == [-1] * 4  # the rule off: lost


def test_fall_chain_only_downwards() -> None:
    cfg = TrackerConfig().flat()
    down, _ = _fall_clip()
    up, _ = _fall_clip(rising=True)
    sup_down = fall_support(down, analyse(down, cfg, (1280, 720)), cfg, (1280, 720))
    sup_up = fall_support(up, analyse(up, cfg, (1280, 720)), cfg, (1280, 720))
    assert [int(sup_down[t][2]) for t in range(25, 29)] == [4] * 4
    assert [int(sup_up[t][2]) for t in range(25, 29)] == [0] * 4
