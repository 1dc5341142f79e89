"""The score follows the execution, and the execution is visible in the motion."""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.finediving import official_score
from fdpose.synth.dives import dive_table, parse_dive
from fdpose.synth.motion import Apparatus, DiveMotion, StageFrames
from fdpose.synth.scoring import Execution, dive_score, judge_scores, penalties, sample_execution

GOOD = Execution(1.0, 1.2, 2.0, 0.0, 1.0, 1.0, 0.08, False)
BAD = Execution(-1.0, 0.5, 25.0, 0.06, 15.0, 20.0, 0.7, False)


def test_better_execution_scores_higher():
    pg, pb = penalties(GOOD), penalties(BAD)
    assert sum(pg.values()) < 0.8 < 5.0 < sum(pb.values())
    good = judge_scores(np.random.default_rng(0), pg)
    bad = judge_scores(np.random.default_rng(0), pb)
    assert len(good) == 7 and all(v * 2 == int(v * 2) and 0 <= v <= 10 for v in good + bad)
    assert dive_score(good, 3.2) > dive_score(bad, 3.2) + 30
    assert dive_score(good, 3.2) == official_score(good, 3.2) == round(sum(sorted(good)[2:5]) * 3.2, 2)
    failed = Execution(0.0, 1.0, 80.0, 0.0, 0.0, 0.0, 1.0, True)
    assert max(judge_scores(np.random.default_rng(1), penalties(failed))) <= 2.0


def test_score_distribution_resembles_real():
    table = dive_table("platform")
    w = np.array([x[1] for x in table], float)
    rng = np.random.default_rng(5)
    scores, dds = [], []
    for _ in range(1500):
        d = table[int(rng.choice(len(table), p=w / w.sum()))][0]
        ex = sample_execution(rng, d.difficulty)
        scores.append(dive_score(judge_scores(rng, penalties(ex)), d.difficulty))
        dds.append(d.difficulty)
    s = np.array(scores)
    assert 60 < s.mean() < 72 and 12 < s.std() < 19  # real: 66.4 / 15.2
    assert s.min() >= 0 and s.max() <= 120
    assert np.corrcoef(s, dds)[0, 1] > 0.4  # real: 0.62


def _motion(ex: Execution, number: str = "107b", event: str = "Men3m") -> DiveMotion:
    return DiveMotion(parse_dive(number, 3.0), ex, Apparatus.for_event(event), StageFrames(30, 36, 38, 42.0), 1.0, 1.75, 0.0)


def _axis_angle_from_vertical(joints: np.ndarray) -> float:
    """Angle (deg) of the pelvis->head axis from straight down (head-first entry = 0)."""
    v = joints[9, :2] - joints[6, :2]
    return float(np.degrees(np.arccos(np.clip(-v[1] / np.hypot(*v), -1, 1))))


@pytest.mark.parametrize("number", ["107b", "205b", "407c", "5253b"])
def test_rotation_error_is_visible_at_entry(number: str):
    clean = _motion(Execution(0, 1.0, 0.0, 0, 0, 0, 0.1, False), number)
    tilted = _motion(Execution(0, 1.0, 20.0, 0, 0, 0, 0.1, False), number)
    t = clean.frames.t1 + 0.5
    assert _axis_angle_from_vertical(clean.state(t).joints) < 4.0
    assert abs(_axis_angle_from_vertical(tilted.state(t).joints) - 20.0) < 4.0
    # The lowest joint touches the water at the contact time.
    assert abs(clean.state(t).joints[:, 1].min()) < 1e-6


def test_height_knees_and_legs_are_visible():
    low = _motion(Execution(0, 0.5, 0, 0, 0, 0, 0.1, False))
    high = _motion(Execution(0, 1.3, 0, 0, 0, 0, 0.1, False))
    apex = lambda m: max(m.state(f).joints[6, 1] for f in range(30, 66))  # noqa: E731
    assert apex(high) > apex(low) + 0.5
    bent = _motion(Execution(0, 1.0, 0, 0, 0.0, 30.0, 0.1, False))
    straight = _motion(Execution(0, 1.0, 0, 0, 0.0, 0.0, 0.1, False))
    t = bent.frames.t1 - 1.0
    def knee_angle(j, h, k, a):  # noqa: E306
        u, v = j[h] - j[k], j[a] - j[k]
        # clip: a straight leg gives a cosine of -1 that rounding can push just past it (NaN)
        cos = np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    assert knee_angle(bent.state(t).joints, 2, 1, 0) < knee_angle(straight.state(t).joints, 2, 1, 0) - 20
    split = _motion(Execution(0, 1.0, 0, 0, 20.0, 0.0, 0.1, False))
    sep = lambda j: np.linalg.norm(j[0] - j[5])  # noqa: E731
    # A 20 degree scissor moves the ankles apart by 2 * 0.87 m * sin(10 deg) = 0.3 m in the
    # sagittal plane (on top of the 0.18 m hip-width spacing, so the distance grows by ~0.17 m).
    assert sep(split.state(t).joints) > sep(straight.state(t).joints) + 0.12


def test_dive_numbers_decode():
    d = parse_dive("5253b", 3.2)
    assert (d.group, d.somersaults, d.twists, d.position) == ("back", 2.5, 1.5, "pike")
    assert d.stage_labels(False) == [(2, "Back"), (15, "2.5 Soms.Pike"), (36, "Entry")]
    assert d.stage_labels(True) == [(2, "Back"), (31, "1.5 Twists"), (15, "2.5 Soms.Pike"), (36, "Entry")]
    assert parse_dive("407c", 3.2).stage_labels(False) == [(4, "Inward"), (25, "3.5 Soms.Tuck"), (36, "Entry")]
    assert parse_dive("6243d", 3.2).armstand and parse_dive("6243d", 3.2).somersaults == 2.0
    assert parse_dive("101b", 2.0).flight_label() == (37, "0.5 Som.Pike")
    assert all(not d.armstand for d, _ in dive_table("springboard"))
