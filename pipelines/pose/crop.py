"""Crop geometry for pose backends: a square, optionally rotated crop around a person box.

A crop is one affine map from image pixels to crop pixels,

    p_crop = k * R(angle) @ (p_image - centre) + crop_centre,

with ``k = crop_side / side`` (crop pixels per image pixel), ``R(angle)`` a rotation of the
*content* by ``angle`` degrees counter-clockwise as seen on screen (image axes: x right, y
down) and ``crop_centre = ((W - 1) / 2, (H - 1) / 2)``. Pixel centres sit at integer
coordinates in both images (OpenCV's ``warpAffine`` convention), so warping with the same
matrix and mapping points agree exactly; the inverse is the exact inverse affine.

Orientation normalisation (divers are often upside down) uses :func:`upright_angle`: the
rotation that turns a body axis (pelvis -> thorax) to point straight up in the crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fdpose.errors import ValidationError

#: Context around the person box: the crop side is this times the box's longer side. BlazePose
#: (and its detector) fail on tight crops; ~2.5x was measured on real diving frames (issue 3).
DEFAULT_CONTEXT = 2.5


@dataclass(frozen=True)
class CropTransform:
    """An image -> crop affine map and its crop size.

    matrix: (2, 3) float64, ``p_crop = matrix @ [x, y, 1]``. size: crop ``(width, height)``.
    """

    matrix: np.ndarray
    size: tuple[int, int]

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (2, 3) or not np.all(np.isfinite(m)):
            raise ValidationError(f"crop matrix must be a finite (2, 3) array, got shape {m.shape}")
        if abs(np.linalg.det(m[:, :2])) < 1e-12:
            raise ValidationError("crop matrix is singular (zero crop size?)")
        object.__setattr__(self, "matrix", m)

    @property
    def inverse(self) -> np.ndarray:
        """(2, 3) crop -> image matrix (exact inverse of :attr:`matrix`)."""
        full = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        return np.linalg.inv(full)[:2]

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel (the map is a similarity: same in every direction)."""
        return float(math.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Map image points ``(..., 2)`` into the crop (NaN stays NaN)."""
        return _apply(self.matrix, points)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Map crop points ``(..., 2)`` back to image pixels (NaN stays NaN)."""
        return _apply(self.inverse, points)

    def warp(self, image: np.ndarray, border_value: Sequence[float] | float = 0.0) -> np.ndarray:
        """The crop ``(H, W, C)`` of ``image`` (same dtype); outside the image is ``border_value``.

        Bilinear sampling; constant border so no mirrored copy of the person appears in the context.
        """
        import cv2  # OpenCV is a core dependency; imported here to keep module import light

        w, h = self.size
        border = tuple(float(v) for v in np.broadcast_to(np.asarray(border_value, dtype=np.float64), (4,)))
        return cv2.warpAffine(image, self.matrix, (int(w), int(h)), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[-1] != 2:
        raise ValidationError(f"points must have shape (..., 2), got {pts.shape}")
    return pts @ matrix[:, :2].T + matrix[:, 2]


def rotation_matrix(angle_deg: float) -> np.ndarray:
    """(2, 2) rotation of image content by ``angle_deg`` counter-clockwise on screen (y down)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s], [-s, c]])


def crop_transform(center: Sequence[float], side: float, angle_deg: float = 0.0,
                   crop_size: int | tuple[int, int] = 256) -> CropTransform:
    """The crop of ``side`` image pixels (square) around ``center`` (x, y), rotated by ``angle_deg``.

    ``crop_size``: output side in pixels, or ``(width, height)`` (the image square is then
    scaled to fit the width and the height is cropped/padded around the centre).
    """
    if not (math.isfinite(side) and side > 0):
        raise ValidationError(f"crop side must be a positive number, got {side}")
    cx, cy = (float(v) for v in center)
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValidationError(f"crop centre must be finite, got {(cx, cy)}")
    w, h = (crop_size, crop_size) if isinstance(crop_size, int) else (int(crop_size[0]), int(crop_size[1]))
    if w < 1 or h < 1:
        raise ValidationError(f"crop size must be positive, got {(w, h)}")
    k = w / side
    lin = k * rotation_matrix(angle_deg)
    offset = np.array([(w - 1) / 2.0, (h - 1) / 2.0]) - lin @ np.array([cx, cy])
    return CropTransform(np.hstack([lin, offset[:, None]]), (w, h))


def box_crop(box_xyxy: Sequence[float], context: float = DEFAULT_CONTEXT, angle_deg: float = 0.0,
             crop_size: int = 256, min_side: float = 16.0) -> CropTransform:
    """A square crop centred on a box, side ``context * max(box width, box height)``.

    The square is rotation-invariant in extent: at any ``angle_deg`` the box's longer side still
    fits when ``context >= sqrt(2)``. ``min_side`` keeps degenerate boxes from exploding the zoom.
    """
    x1, y1, x2, y2 = (float(v) for v in list(box_xyxy)[:4])
    if context <= 0:
        raise ValidationError(f"crop context must be positive, got {context}")
    side = max(context * max(x2 - x1, y2 - y1), min_side)
    return crop_transform(((x1 + x2) / 2.0, (y1 + y2) / 2.0), side, angle_deg, crop_size)


def upright_angle(axis: Sequence[float]) -> float:
    """Rotation (degrees, counter-clockwise on screen) that makes ``axis`` (dx, dy) point up.

    ``axis`` is in image coordinates (y down), e.g. thorax - pelvis. Up is (0, -1). Returns a
    value in (-180, 180]; 0 for an upright body, 180 for an inverted one. Raises
    :class:`ValidationError` for a zero or non-finite axis.
    """
    dx, dy = (float(v) for v in axis)
    if not (math.isfinite(dx) and math.isfinite(dy)) or math.hypot(dx, dy) < 1e-9:
        raise ValidationError(f"body axis must be a finite non-zero vector, got {(dx, dy)}")
    # R(a) @ (dx, dy) = (0, -L)  <=>  (cos a, sin a) = (-dy, dx) / L
    return wrap_angle(math.degrees(math.atan2(dx, -dy)))


def wrap_angle(angle_deg: float) -> float:
    """An angle in degrees wrapped into (-180, 180]."""
    a = math.fmod(angle_deg, 360.0)
    if a <= -180.0:
        a += 360.0
    elif a > 180.0:
        a -= 360.0
    return a
