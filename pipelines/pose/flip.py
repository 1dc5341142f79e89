"""Flip test-time augmentation of BlazePose landmarks (``flip_test`` of the ``mediapipe`` pose backend).

The crop is also run mirrored; its landmarks are mirrored back, their left/right names exchanged,
and the two answers averaged (:func:`merge_flip`). Measured in docs/pose.md (left off by default).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["FLIP_PAIRS", "merge_flip", "unflip_landmarks"]


#: BlazePose left/right landmark pairs (eyes, ear, mouth, shoulders ... feet), swapped by a mirror.
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple((i, i + 3) for i in (1, 2, 3)) + tuple(
    (i, i + 1) for i in range(7, 33, 2))


def unflip_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """Landmarks ``(33, 3)`` found on a horizontally mirrored image, in the unmirrored image.

    x -> width - 1 - x (pixel centres at integers) and left/right landmarks swapped, so index
    ``LEFT_*`` is the person's left again.
    """
    lm = np.array(landmarks, dtype=np.float64)
    lm[:, 0] = width - 1 - lm[:, 0]
    for a, b in FLIP_PAIRS:
        lm[[a, b]] = lm[[b, a]]
    return lm


def merge_flip(direct: Optional[np.ndarray], flipped: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Flip test-time augmentation: the mean of two ``(33, 3)`` landmark sets (position and visibility).

    When one side found nobody the other is returned unchanged (its visibility halved: one
    vote of two), None when neither found anybody.
    """
    if direct is None and flipped is None:
        return None
    if direct is None or flipped is None:
        one = np.array(direct if direct is not None else flipped, dtype=np.float64)
        one[:, 2] *= 0.5
        return one
    return (np.asarray(direct, dtype=np.float64) + np.asarray(flipped, dtype=np.float64)) / 2.0
