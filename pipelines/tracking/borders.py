"""Boxes against the image border: which are cut, and how far two boxes moved when some are.

A box cut by the frame's border has an unreliable centre and shape (a judge cut by the bottom
border still shows where its head is). Used by the camera's box vote
(:mod:`fdpose.pipelines.tracking.camera`) and by the tracklet and seed rules; kept apart from
both so that neither imports the other for it. Boxes are ``(K, >=4)`` xyxy pixel rows;
``image_size`` is ``(width, height)`` or None (nothing is cut).
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def touches_border(b: np.ndarray, image_size: Optional[tuple[int, int]]) -> np.ndarray:
    """(K,) True for boxes cut by the image border (their centre and shape are unreliable)."""
    if image_size is None:
        return np.zeros(len(b), dtype=bool)
    w, h = image_size
    return (b[:, 0] <= 1) | (b[:, 1] <= 1) | (b[:, 2] >= w - 2) | (b[:, 3] >= h - 2)


def cut_sides(b: np.ndarray, image_size: Optional[tuple[int, int]]) -> np.ndarray:
    """(K, 4) bool: box cut by the left, top, right, bottom image border."""
    if image_size is None:
        return np.zeros((len(b), 4), dtype=bool)
    w, h = image_size
    return np.stack([b[:, 0] <= 1, b[:, 1] <= 1, b[:, 2] >= w - 2, b[:, 3] >= h - 2], axis=1)


def anchored_displacement(a: np.ndarray, b: np.ndarray, image_size: Optional[tuple[int, int]]
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Displacement of every box of ``a`` (Ka, >=4) to every box of ``b`` (Kb, >=4).

    Returns (Ka, Kb, 2) displacements and a (Ka, Kb) validity mask. Per axis the pair is
    measured on the box centre, or, when either box is cut by the border on that axis, on the
    uncut edge (a judge cut by the bottom border still shows where its head is); a pair cut
    on both sides of an axis is invalid.
    """
    ca, cb = cut_sides(a, image_size), cut_sides(b, image_size)
    disp = np.zeros((len(a), len(b), 2))
    valid = np.ones((len(a), len(b)), dtype=bool)
    for axis, (lo, hi) in enumerate(((0, 2), (1, 3))):
        cut_lo = ca[:, None, lo] | cb[None, :, lo]
        cut_hi = ca[:, None, hi] | cb[None, :, hi]
        mid = (b[None, :, lo] + b[None, :, hi]) / 2 - (a[:, None, lo] + a[:, None, hi]) / 2
        d = np.where(cut_hi, b[None, :, lo] - a[:, None, lo], mid)  # cut at the far side: near edge
        d = np.where(cut_lo, b[None, :, hi] - a[:, None, hi], d)
        disp[..., axis] = d
        valid &= ~(cut_lo & cut_hi)
    return disp, valid
