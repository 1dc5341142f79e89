"""benchmarks/pose_robustness.py: the label joints move with the frames (mirror, size, bars, zoom, frame rate)."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

import numpy as np
import pytest

from fdpose.skeleton import JOINT_INDEX as J


def _clip(rng: np.random.Generator, n: int = 4) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """n 120x200 noise frames; joints on a 40x80 figure that moves 5 px right per frame; l_wrist hidden."""
    frames = [rng.integers(0, 60, size=(120, 200, 3), dtype=np.uint8) for _ in range(n)]
    base = np.stack([np.linspace(40, 80, 16), np.linspace(20, 100, 16)], axis=1)
    joints = np.stack([base + [5.0 * t, 0.0] for t in range(n)])
    vis = np.ones((n, 16), dtype=bool)
    vis[:, J["l_wrist"]] = False
    return frames, joints, vis


@pytest.fixture(scope="module")
def mod(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    pytest.importorskip("cv2")
    return benchmark_module("pose_robustness")


def test_mirror_moves_joints_and_exchanges_sides(mod: ModuleType, rng: np.random.Generator) -> None:
    frames, joints, vis = _clip(rng)
    images, out, v = mod.transform_labels("flip", frames, joints, vis)
    assert len(images) == 4 and out.shape == (4, 16, 2)
    # the person's right ankle of the mirrored frame is his left ankle mirrored: x -> W - x
    np.testing.assert_allclose(out[:, J["r_ankle"], 0], 200 - joints[:, J["l_ankle"], 0] - mod.POINT, atol=1e-6)
    np.testing.assert_allclose(out[:, J["r_ankle"], 1], joints[:, J["l_ankle"], 1], atol=1e-6)
    np.testing.assert_allclose(out[:, J["pelvis"], 0], 200 - joints[:, J["pelvis"], 0] - mod.POINT, atol=1e-6)
    assert not v[:, J["r_wrist"]].any() and v[:, J["l_wrist"]].all()  # the hidden wrist changed sides too


def test_size_bars_and_zoom(mod: ModuleType, rng: np.random.Generator) -> None:
    frames, joints, vis = _clip(rng)
    images, out, v = mod.transform_labels("x0.6", frames, joints, vis)
    assert images[0].shape == (72, 120, 3)
    np.testing.assert_allclose(out, joints * 0.6, atol=0.01)
    images, out, _ = mod.transform_labels("letterbox", frames, joints, vis)
    top = (images[0].shape[0] - 120) // 2
    np.testing.assert_allclose(out, joints + [0.0, top], atol=1e-6)
    joints[:, 0] = [5.0, 5.0]  # in the 10% margin (20 x 12 px) the centre crop removes
    _, out, v = mod.transform_labels("zoom80", frames, joints, vis)
    assert np.isnan(out[:, 0]).all() and not v[:, 0].any()
    np.testing.assert_allclose(out[:, J["pelvis"]], (joints[:, J["pelvis"]] - [20.0, 12.0]) * [200 / 160, 120 / 96],
                               atol=0.01)
    assert v[:, J["pelvis"]].all()


def test_frame_rate_transforms_keep_joints_on_their_frames(mod: ModuleType, rng: np.random.Generator) -> None:
    frames, joints, vis = _clip(rng, 6)
    images, out, v = mod.transform_labels("stride2", frames, joints, vis)
    assert len(images) == 3 and np.array_equal(images[1], frames[2])
    np.testing.assert_allclose(out, joints[::2], atol=1e-6)
    images, out, v = mod.transform_labels("pulldown", frames, joints, vis)  # frame 4 shown twice
    assert len(images) == 7 and out.shape == (7, 16, 2)
    np.testing.assert_allclose(out[5], joints[4], atol=1e-6)
    np.testing.assert_allclose(out[6], joints[5], atol=1e-6)
    assert v.shape == (7, 16) and not v[:, J["l_wrist"]].any()
