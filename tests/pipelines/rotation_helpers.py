"""Helpers of the pose tests on rotated pictures (not a test module): undo ``np.rot90`` on points and boxes."""

from __future__ import annotations

import numpy as np


def rot_points_back(p: np.ndarray, k: int, size: int) -> np.ndarray:
    """Undo ``np.rot90(img, k)`` on ``(N, 2)`` points of a square ``size`` picture: rot90 maps (x, y) ->
    (y, size - 1 - x) per quarter turn."""
    x, y = p[:, 0].copy(), p[:, 1].copy()
    for _ in range(k % 4):
        x, y = size - 1 - y, x
    return np.stack([x, y], axis=1)


def rot_box(box: np.ndarray, k: int, size: int) -> np.ndarray:
    """``(1, 4)`` xyxy box of ``box`` ``(4,)`` in ``np.rot90(img, k)`` of a square ``size`` picture."""
    pts = box.reshape(2, 2)
    for _ in range(k % 4):
        pts = np.stack([pts[:, 1], size - 1 - pts[:, 0]], axis=1)
    return np.concatenate([pts.min(0), pts.max(0)])[None]
