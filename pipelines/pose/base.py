"""The pose-estimator contract shared by every pose backend.

``estimate(image_bgr, boxes)`` gets one ``(H, W, 3) uint8`` BGR frame and ``(N, 4)`` person
boxes ``[x1, y1, x2, y2]`` (image pixels; a ``(N, 5)`` array with a score column is accepted
and the score ignored) and returns ``(N, 16, 3)`` float64 ``[x, y, confidence]`` in image
pixels (x right, y down, 0-based), MPII-16 order (:mod:`fdpose.skeleton`), confidence in
[0, 1]. A joint the backend could not place has NaN x, y and confidence 0; the interpolation
stage fills or marks it missing.

Backends may keep state across the frames of one clip (e.g. the previous body orientation);
``reset()`` starts a new clip. Box ``i`` of consecutive calls is taken to be the same person
(the pipeline passes the one tracked diver box per frame).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from fdpose.errors import ValidationError
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.skeleton import NUM_JOINTS

__all__ = ["BackendInfo", "PoseEstimator", "as_pose_boxes", "check_image", "missing_poses"]


@runtime_checkable
class PoseEstimator(Protocol):
    """A top-down pose backend: boxes in, MPII-16 joints in image pixels out."""

    @property
    def info(self) -> BackendInfo: ...

    def estimate(self, image_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def missing_poses(n: int) -> np.ndarray:
    """``(n, 16, 3)`` poses with every joint unplaced: NaN x, y and confidence 0."""
    out = np.full((n, NUM_JOINTS, 3), np.nan, dtype=np.float64)
    out[..., 2] = 0.0
    return out


def as_pose_boxes(boxes: Any, where: str = "boxes") -> np.ndarray:
    """Validate person boxes into a ``(N, 4)`` float64 xyxy array (corners ordered).

    Accepts ``(N, 4)``, ``(N, 5)`` (score column dropped), a single box of 4 or 5 numbers, or
    an empty sequence (``(0, 4)``). Raises :class:`ValidationError` naming ``where`` for a wrong
    shape or non-finite numbers.
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise ValidationError(f"{where}: expected (N, 4) [x1, y1, x2, y2] boxes, got shape {arr.shape}")
    arr = arr[:, :4]
    if not np.all(np.isfinite(arr)):
        raise ValidationError(f"{where}: non-finite box values")
    return np.stack([np.minimum(arr[:, 0], arr[:, 2]), np.minimum(arr[:, 1], arr[:, 3]),
                     np.maximum(arr[:, 0], arr[:, 2]), np.maximum(arr[:, 1], arr[:, 3])], axis=1)


def check_image(image: Any, where: str = "image") -> np.ndarray:
    """Validate a ``(H, W, 3) uint8`` BGR frame (raises :class:`ValidationError` naming the shape)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 \
            or image.shape[0] < 1 or image.shape[1] < 1:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValidationError(f"{where}: expected an (H, W, 3) uint8 BGR image, got shape {shape} {dtype}")
    return image
