"""Joint interpolation (Eq. 27): exact on linear motion, ends held, long gaps left missing."""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.errors import ConfigError, ValidationError
from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints, smooth_keypoints


def linear_sequence(rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """(n, 16, 3) joints moving on straight lines at constant speed, confidence 0.9."""
    start = rng.uniform(0, 400, (16, 2))
    vel = rng.uniform(-3, 3, (16, 2))
    t = np.arange(n)[:, None, None]
    kp = np.concatenate([start[None] + vel[None] * t, np.full((n, 16, 1), 0.9)], axis=2)
    return kp


def test_masked_joints_are_recovered_exactly(rng: np.random.Generator) -> None:
    truth = linear_sequence(rng)
    kp = truth.copy()
    mask = rng.random((60, 16)) < 0.2
    mask[0] = mask[-1] = False  # interior gaps only here
    kp[mask, :2] = np.nan  # undetected
    low = (rng.random((60, 16)) < 0.1) & ~mask
    low[0] = low[-1] = False
    kp[low, :2] += rng.normal(0, 30, (int(low.sum()), 2))  # wrong and unsure
    kp[low, 2] = 0.1
    res = interpolate_joints(kp, config=InterpolationConfig(min_confidence=0.3, max_gap=20))
    filled = mask | low
    assert np.max(np.abs(res.keypoints[..., :2] - truth[..., :2])) < 1e-9
    assert np.all(res.joint_source[filled] == "interpolated")
    assert np.all(res.joint_source[~filled] == "estimated")
    np.testing.assert_allclose(res.keypoints[filled, 2], 0.9)  # confidence interpolated too
    assert res.counts()["interpolated"] == int(filled.sum())


def test_ends_hold_the_nearest_value() -> None:
    kp = np.zeros((10, 16, 3))
    kp[..., 0] = np.arange(10)[:, None] * 2.0
    kp[..., 2] = 1.0
    kp[:3, 4, :2] = np.nan
    kp[7:, 4, 2] = 0.0
    res = interpolate_joints(kp, config=InterpolationConfig(max_gap=5))
    np.testing.assert_allclose(res.keypoints[:3, 4, 0], 6.0)  # held from frame 3
    np.testing.assert_allclose(res.keypoints[7:, 4, 0], 12.0)  # held from frame 6
    assert list(res.joint_source[:, 4]) == ["interpolated"] * 3 + ["estimated"] * 4 + ["interpolated"] * 3


def test_long_gaps_are_left_missing() -> None:
    kp = np.ones((30, 16, 3))
    kp[5:15, 0, :2] = np.nan  # 10-frame gap: longer than max_gap=4
    kp[20:23, 0, :2] = np.nan  # 3-frame gap: filled
    kp[:6, 1, 2] = 0.0  # 6-frame start run: longer than max_end_hold=4
    res = interpolate_joints(kp, config=InterpolationConfig(max_gap=4))
    assert np.isnan(res.keypoints[5:15, 0, :2]).all()
    assert np.all(res.keypoints[5:15, 0, 2] == 0)
    assert np.all(res.joint_source[5:15, 0] == "missing")
    assert np.all(res.joint_source[20:23, 0] == "interpolated")
    assert np.all(res.joint_source[:6, 1] == "missing")
    res2 = interpolate_joints(kp, config=InterpolationConfig(max_gap=4, max_end_hold=6))
    assert np.all(res2.joint_source[:6, 1] == "interpolated")
    assert np.all(res2.joint_source[5:15, 0] == "missing")


def test_sources_are_kept_and_missing_is_respected() -> None:
    kp = np.ones((5, 16, 3))
    src = np.full((5, 16), "manual", dtype=object)
    src[2, 3] = "missing"  # coordinates present but declared missing: re-estimated
    res = interpolate_joints(kp, src, InterpolationConfig(max_gap=2))
    assert res.joint_source[0, 0] == "manual"
    assert res.joint_source[2, 3] == "interpolated"
    nothing = np.full((4, 16, 3), np.nan)
    res = interpolate_joints(nothing)
    assert np.all(res.joint_source == "missing")


def test_validation() -> None:
    with pytest.raises(ValidationError, match=r"keypoints must be \(T, 16, 3\)"):
        interpolate_joints(np.zeros((5, 15, 3)))
    with pytest.raises(ValidationError, match="unknown joint_source"):
        interpolate_joints(np.zeros((1, 16, 3)), np.full((1, 16), "guessed", dtype=object))
    with pytest.raises(ConfigError):
        InterpolationConfig(max_gap=-1)


def test_smoother_reduces_jitter_and_skips_missing(rng: np.random.Generator) -> None:
    truth = linear_sequence(rng, 80)
    noisy = truth.copy()
    noisy[..., :2] += rng.normal(0, 2.0, (80, 16, 2))
    noisy[40:43, 5, :2] = np.nan
    sm = smooth_keypoints(noisy, sigma=2.0)
    inner = slice(5, 75)
    err_before = np.nanmean(np.abs(noisy[inner, :, :2] - truth[inner, :, :2]))
    err_after = np.nanmean(np.abs(sm[inner, :, :2] - truth[inner, :, :2]))
    assert err_after < 0.6 * err_before
    assert np.isnan(sm[40:43, 5, :2]).all()
    off = interpolate_joints(noisy, config=InterpolationConfig(max_gap=0))
    on = interpolate_joints(noisy, config=InterpolationConfig(max_gap=0, smooth_sigma=2.0))
    assert not np.allclose(off.keypoints[inner, :, :2], on.keypoints[inner, :, :2])
