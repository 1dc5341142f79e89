"""The tracker rules of the entry, the end of the dive and the still phase on the board.

Small hand-made clips with two static spectators far from the diver (they give the camera
vote its reference, so the diver's motion in the scene is measured).
"""

from __future__ import annotations

import numpy as np

from fdpose.pipelines.tracking import TrackDecision, TrackerConfig, track_diver


def _box(cx: float, cy: float, w: float, h: float, s: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s]


SPECTATORS = [_box(400, 200, 16, 40, 0.9), _box(40, 210, 16, 40, 0.9)]


def _frame(*diver: list[float]) -> np.ndarray:
    return np.array([*diver, *SPECTATORS])


def test_entry_shrink_in_the_divers_column_is_followed() -> None:
    """The box shrinks to a quarter in two frames (beyond the size gate) under the diver: kept."""
    cfg = TrackerConfig().without("velocity")
    a = _box(200, 100, 20, 40, 0.9)
    frames = [_frame(a), _frame(_box(200, 108, 10, 20, 0.5)), _frame(_box(200, 112, 5, 10, 0.4))]
    res = track_diver(frames, cfg, init_box=a[:4])
    assert res.decisions == [TrackDecision.INIT, TrackDecision.MATCHED, TrackDecision.MATCHED]
    # the same shrink beside the diver's column (centre 15 px off, half width 10) is refused
    aside = [_frame(a), _frame(_box(215, 108, 10, 20, 0.5))]
    res = track_diver(aside, cfg, init_box=a[:4])
    assert res.decisions == [TrackDecision.INIT, TrackDecision.LOST]
    # and an entry shrink beyond entry_size_ratio is refused too
    res = track_diver([_frame(a), _frame(_box(200, 108, 3, 6, 0.5))], cfg, init_box=a[:4])
    assert res.decisions[1] == TrackDecision.LOST


def _flight_then_still(n_flight: int = 20, n_still: int = 16) -> list[np.ndarray]:
    frames = []
    for t in range(n_flight + n_still):
        s = min(t, n_flight - 1)
        frames.append(_frame(_box(150 + 3 * s, 40 + 3 * s, 20, 30, 0.6)))
    return frames


def test_no_return_to_stillness_after_the_flight() -> None:
    """A box that stays still where the flight ended is not the diver (it is in the water)."""
    frames = _flight_then_still()
    res = track_diver(frames, init_box=frames[0][0, :4])
    # (frame 19 already stands where the box stays: pass 1 cuts the still run off from there)
    assert all(res.candidate_index[t] == 0 for t in range(19))
    assert all(res.decisions[t] == TrackDecision.LOST for t in range(26, 36))
    # the rule can be switched off: with still_after_frames beyond the clip the box is followed
    res = track_diver(frames, TrackerConfig().with_(still_after_frames=99), init_box=frames[0][0, :4])
    assert all(res.candidate_index[t] == 0 for t in range(36))


def test_backwards_hand_over_to_the_still_phase_on_the_board() -> None:
    """The diver stands still, is missed at take-off and flies: tracked back onto the board."""
    frames = []
    for t in range(40):
        if t < 15:
            frames.append(_frame(_box(150 + 0.3 * np.sin(t), 60, 18, 46, 0.6)))
        elif t == 15:
            frames.append(_frame())
        else:  # take-off 0.8 diagonals from the board, then a fast flight
            s = t - 16
            frames.append(_frame(_box(190 + 4 * s, 60 + 4 * s, 18 + s % 3, 46 - 2 * (s % 5), 0.6)))
    res = track_diver(frames)
    assert res.seed_frame is not None and res.seed_frame > 15
    assert res.pass1 is not None and res.pass1.static[0][0]  # the board phase is a static tracklet
    assert all(res.candidate_index[t] == 0 for t in range(15)), res.decisions[:16]
    assert res.decisions[15] == TrackDecision.LOST


def test_a_box_inside_the_divers_box_is_not_a_person_beside_him() -> None:
    """pass2._beside: a partial box of the diver (>= inside_share of its area inside his box) does
    not count towards excluding its tracklet as another person; neighbours and half-overlapping
    boxes do."""
    from fdpose.pipelines.tracking.pass2 import _beside

    share = TrackerConfig().people.inside_share
    boxes = np.array([[0.0, 0.0, 10.0, 20.0, 0.5],   # the diver (row 0)
                      [1.0, 1.0, 9.0, 10.0, 0.3],    # his upper body, wholly inside
                      [12.0, 0.0, 20.0, 20.0, 0.4],  # a neighbour
                      [5.0, 0.0, 15.0, 20.0, 0.4],   # half inside
                      [2.0, 12.0, 10.0, 22.0, 0.4]])  # 80% inside: a person he overlaps (share 0.8 cost
    # the demo's quick world 3 frames, docs/tracker_robustness.md)
    assert _beside(boxes, 0, share).tolist() == [False, False, True, True, True]
    assert _beside(boxes, 0, 2.0).tolist() == [False, True, True, True, True]  # (the rule off)
    assert _beside(boxes, -1, share).tolist() == [True] * 5
