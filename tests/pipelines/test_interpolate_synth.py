"""Eq. 27 interpolation on real dive motion: joints of the synth world's ground truth masked on
purpose, filled, and compared with the truth in head sizes (the PCKh proxy
``|head_top - upper_neck|``).

A world of 6 clips (``fdpose synth W -n 6 --seed 3 --no-video``); per clip and gap length L,
20 gaps of L frames are cut into random joints where the joints exist on both sides (seeded
RNG). Measured (share of filled joints within 0.5 head of the truth, median error in heads):
L = 1: 0.908, 0.165; L = 3: 0.653, 0.250; L = 6: 0.597, 0.355 (on a 16-clip world of seed 11,
with other gap positions: 0.76 / 0.53 / 0.37 within 0.5 head). Divers somersault at several
hundred degrees per second, so even one missing frame is not a straight line: the bounds below
are what linear interpolation can do on this motion, and a regression (an off-by-one in the
bracketing frames, a wrong end hold) drops the L = 1 share far below them.

The optional smoother is measured the same way: the truth with Gaussian noise of 0.1 head per
coordinate, smoothed with sigma 0.5 / 1 / 2 frames, gives mean errors 0.120 / 0.212 / 0.462 head
against 0.124 unsmoothed (seed-11 world: 0.147 / 0.319 / 0.611 against 0.125): the lightest
smoothing buys at most a few per cent, anything more costs far more than the jitter on this
motion, which is why the smoother is off by default.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints

GAPS_PER_CLIP = 20
# share of filled joints within 0.5 head: floors a little under the measured values (docstring)
FLOORS = {1: 0.80, 3: 0.55, 6: 0.50}


@pytest.fixture(scope="module")
def truths(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Per clip, (T, 16, 2) ground-truth joints with NaN where the diver is not in the clip."""
    from fdpose.cli.main import cli

    world = tmp_path_factory.mktemp("interp") / "world"
    res = CliRunner().invoke(cli, ["-q", "synth", str(world), "-n", "6", "--seed", "3", "--no-video"])
    assert res.exit_code == 0, res.output
    out = []
    for path in sorted((world / "gt").rglob("*.json")):
        frames = json.loads(path.read_text())["frames"]
        seq = [np.asarray((f.get("diver") or {}).get("joints") or np.full((16, 3), np.nan), dtype=float)[:, :2]
               for f in frames]
        out.append(np.stack(seq))
    assert len(out) == 6
    return out


def _errors_in_heads(truth: np.ndarray, filled: np.ndarray) -> np.ndarray:
    head = np.linalg.norm(truth[:, 9] - truth[:, 8], axis=1)  # (T,) head_top - upper_neck
    return np.linalg.norm(filled - truth, axis=2) / head[:, None]


def _masked_fill(truth: np.ndarray, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t_count = len(truth)
    present = np.isfinite(truth).all(axis=(1, 2))
    kp = np.concatenate([truth, np.ones((t_count, 16, 1))], axis=2)
    mask = np.zeros((t_count, 16), dtype=bool)
    while mask.sum() < GAPS_PER_CLIP * length:
        j, s = int(rng.integers(16)), int(rng.integers(1, t_count - length - 1))
        # the gap must be bracketed by frames with the joint, and not touch another gap of that joint
        if present[s - 1:s + length + 1].all() and not mask[s - 1:s + length + 1, j].any():
            mask[s:s + length, j] = True
    kp[mask, :2] = np.nan
    res = interpolate_joints(kp, config=InterpolationConfig(max_gap=12))
    assert np.all(res.joint_source[mask] == "interpolated")
    return _errors_in_heads(truth, res.keypoints[..., :2])[mask], mask


@pytest.mark.parametrize("length", sorted(FLOORS))
def test_masked_joints_are_filled_within_a_stated_bound(truths: list[np.ndarray], length: int) -> None:
    rng = np.random.default_rng(length)
    errors = np.concatenate([_masked_fill(t, length, rng)[0] for t in truths])
    within = float(np.mean(errors < 0.5))
    print(f"gap {length}: {errors.size} joints, within 0.5 head {within:.3f}, median {np.median(errors):.3f}")
    assert errors.size == 6 * GAPS_PER_CLIP * length and np.isfinite(errors).all()
    assert within >= FLOORS[length]


def test_longer_gaps_fill_worse(truths: list[np.ndarray]) -> None:
    medians = []
    for length in (1, 3, 6):
        rng = np.random.default_rng(100 + length)
        medians.append(float(np.median(np.concatenate([_masked_fill(t, length, rng)[0] for t in truths]))))
    assert medians[0] < medians[1] < medians[2]


def test_smoother_costs_more_than_jitter_on_dive_motion(truths: list[np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    means = {}
    noisy = []
    for t in truths:
        head = np.linalg.norm(t[:, 9] - t[:, 8], axis=1)
        noise = rng.normal(0.0, 1.0, t.shape) * 0.1 * head[:, None, None]
        noisy.append(np.concatenate([t + noise, np.ones((len(t), 16, 1))], axis=2))
    for sigma in (0.0, 0.5, 1.0, 2.0):
        errs = []
        for t, kp in zip(truths, noisy):
            res = interpolate_joints(kp, config=InterpolationConfig(max_gap=12, smooth_sigma=sigma))
            e = _errors_in_heads(t, res.keypoints[..., :2])
            errs.append(e[np.isfinite(t).all(axis=(1, 2))].ravel())
        means[sigma] = float(np.mean(np.concatenate(errs)))
    print("mean error in heads by smoother sigma", means)
    assert means[0.0] == pytest.approx(0.1 * np.sqrt(np.pi / 2), rel=0.1)  # Rayleigh mean of the noise
    assert means[0.5] > 0.9 * means[0.0]  # the lightest smoothing buys little
    assert means[0.0] < means[1.0] < means[2.0]
