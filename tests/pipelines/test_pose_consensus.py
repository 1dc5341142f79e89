"""Rotation consensus (fdpose.pipelines.pose.consensus): the medoid of candidate poses."""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.pipelines.pose.consensus import consensus_candidate, pose_distances
from fdpose.skeleton import JOINT_INDEX as J
from fdpose.skeleton import NUM_JOINTS


def _pose(rng: np.random.Generator, noise: float = 0.0) -> np.ndarray:
    """A (16, 3) pose: a fixed random skeleton in a 100 px box, optional pixel noise, confidence 0.5."""
    base = np.random.default_rng(7).uniform(0, 100, size=(NUM_JOINTS, 2))
    out = np.empty((NUM_JOINTS, 3))
    out[:, :2] = base + rng.normal(0, noise, size=(NUM_JOINTS, 2))
    out[:, 2] = 0.5
    return out


def _head_feet_swapped(p: np.ndarray) -> np.ndarray:
    """The pose mirrored about its centre (what an upside-down answer looks like)."""
    q = p.copy()
    q[:, :2] = 2 * p[:, :2].mean(axis=0) - p[:, :2]
    return q


def test_the_medoid_is_the_pose_the_others_agree_with() -> None:
    rng = np.random.default_rng(0)
    right = [_pose(rng, 2.0) for _ in range(3)]
    wrong = _head_feet_swapped(_pose(rng, 2.0))
    wrong[:, 2] = 0.9  # the wrong answer is the most confident: confidence must not decide
    cands = np.stack([wrong, right[0], right[1], right[2]])
    k = consensus_candidate(cands, scale=141.0)
    assert k in (1, 2, 3)
    d = pose_distances(cands, 141.0)
    assert d.shape == (4, 4)
    np.testing.assert_allclose(np.diag(d), 0.0)
    np.testing.assert_allclose(d, d.T)
    assert d[0, 1:].min() > 5 * d[1:, 1:].max()  # the swapped pose is far from all three right ones
    assert k == 1 + int(np.argmin(d[1:, 1:].sum(axis=1)))


def test_three_disagreeing_right_angles_pick_the_middle_one() -> None:
    """Poses shifted by 0, 10 and 30 px: the one at 10 px is closest to the other two (10 + 20 < 30 + 20)."""
    rng = np.random.default_rng(1)
    p = _pose(rng)
    cands = np.stack([p + [30.0, 0.0, 0.0], p, p + [10.0, 0.0, 0.0]])
    assert consensus_candidate(cands, scale=100.0) == 2
    d = pose_distances(cands, 100.0)
    np.testing.assert_allclose(d[0], [0.0, 0.3, 0.2])


def test_fewer_than_three_candidates_keep_the_most_confident() -> None:
    rng = np.random.default_rng(2)
    a, b = _pose(rng), _head_feet_swapped(_pose(rng))
    b[:, 2] = 0.8
    assert consensus_candidate(np.stack([a, b]), 100.0) == 1
    assert consensus_candidate(a[None], 100.0) == 0


def test_missing_joints_are_left_out_of_a_pair_and_ties_go_to_the_more_confident() -> None:
    rng = np.random.default_rng(3)
    p = _pose(rng)
    q = p.copy()
    q[J["head_top"], :2] = np.nan  # the same pose with one joint unplaced: distance 0 over the rest
    r = p.copy()
    r[:, 2] = 0.9
    d = pose_distances(np.stack([p, q, r]), 50.0)
    np.testing.assert_allclose(d, 0.0)
    assert consensus_candidate(np.stack([p, q, r]), 50.0) == 2  # all tie at 0: the most confident
    empty = np.full((NUM_JOINTS, 3), np.nan)
    d2 = pose_distances(np.stack([p, empty, r]), 50.0)
    assert np.isinf(d2[0, 1]) and np.isinf(d2[1, 2]) and d2[0, 2] == 0.0
    assert consensus_candidate(np.stack([empty, p, r]), 50.0) in (1, 2)  # the pose with no joints never wins


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="expected"):
        consensus_candidate(np.zeros((0, NUM_JOINTS, 3)), 1.0)
    with pytest.raises(ValueError, match=r"\(K, 16, 3\)"):
        pose_distances(np.zeros((2, 15, 3)), 1.0)
    with pytest.raises(ValueError, match="scale"):
        pose_distances(np.zeros((2, NUM_JOINTS, 3)), 0.0)
