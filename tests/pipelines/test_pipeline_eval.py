"""Tracking-accuracy rule (fdpose.synth.evaluate) and the synchronised-dive check."""

from __future__ import annotations

import numpy as np

from fdpose.synth.evaluate import tracking_correct
from fdpose.pipelines.tracking import track_diver, synchronised_partner


def _gt(boxes: list) -> dict:
    return {"frames": [{"diver": {"box": b}} for b in boxes]}


def test_tracking_correct_rule() -> None:
    g = [10.0, 10.0, 30.0, 60.0]
    gt = _gt([g, g, g, None])
    cands = [np.array([g + [0.9]]), np.zeros((0, 5)), np.array([g + [0.9], [100, 10, 120, 60, 0.95]]),
             np.array([[100, 10, 120, 60, 0.95]])]
    nan = [np.nan] * 5
    chosen = np.array([g + [0.9], nan, [100, 10, 120, 60, 0.95], nan])
    # right, right (diver not detected, nothing chosen), wrong (spectator), right (no diver, nothing chosen)
    assert tracking_correct(gt, cands, chosen).tolist() == [True, True, False, True]
    chosen[3] = [100, 10, 120, 60, 0.95]
    assert not tracking_correct(gt, cands, chosen)[3]


def _pair_scene(second: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for t in range(60):
        y = 60 + 0.08 * (t - 30) ** 2
        a = [100 + 2 * t, y, 130 + 2 * t, y + 60, 0.8]
        rows = [a, [400, 180, 420, 230, 0.9], [20, 190, 40, 240, 0.9], [300, 200, 320, 250, 0.9]]
        if second:
            rows.append([150 + 2 * t, y + 2, 180 + 2 * t, y + 62, 0.8])
        out.append(np.array(rows) + np.r_[rng.normal(0, 0.5, 4), 0.0])
    return out


def test_synchronised_pair_is_detected_and_single_diver_is_not() -> None:
    pair = _pair_scene(True)
    assert synchronised_partner(pair, track_diver(pair, image_size=(455, 256))) is not None
    single = _pair_scene(False)
    assert synchronised_partner(single, track_diver(single, image_size=(455, 256))) is None
