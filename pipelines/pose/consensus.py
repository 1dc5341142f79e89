"""Rotation consensus: pick, among poses found on differently rotated crops, the one the others agree with.

A pose model run on the same diver at several crop rotations answers right at some rotations and
wrong at others (head and feet exchanged, a limb folded onto the trunk). The wrong answers differ
from each other, the right ones land on the same joints: the candidate with the smallest summed
distance to the others (the *medoid*) is the consensus. The model's own confidence does not pick
the right one on divers (docs/pose.md: keeping the most confident of four rotations lost 2-7 PCKh
points), the agreement does not depend on it.

Distances are mean joint distances between two ``(16, 3)`` poses, over the joints both placed,
divided by a length scale (the tracked box's diagonal) so that the rule does not depend on the
resolution. With fewer than three candidates there is no majority: the most confident is kept.
"""

from __future__ import annotations

import numpy as np

from fdpose.skeleton import NUM_JOINTS

__all__ = ["pose_distances", "consensus_candidate", "select_candidate"]


def pose_distances(poses: np.ndarray, scale: float) -> np.ndarray:
    """``(K, K)`` mean joint distance / ``scale`` between ``(K, 16, 3)`` poses (``[x, y, conf]``).

    Joints missing (NaN) in either pose are left out of that pair's mean; a pair with no joint in
    common is at distance ``inf``.
    """
    p = np.asarray(poses, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected (K, {NUM_JOINTS}, 3) poses, got {p.shape}")
    if not scale > 0:
        raise ValueError(f"the length scale must be > 0, got {scale}")
    d = np.linalg.norm(p[:, None, :, :2] - p[None, :, :, :2], axis=-1)  # (K, K, 16), NaN where either is missing
    ok = np.isfinite(d)
    n = ok.sum(axis=-1)
    mean = np.where(ok, d, 0.0).sum(axis=-1) / np.maximum(n, 1)
    return np.where(n > 0, mean / scale, np.inf)


def _confidence(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(K >= 1, 16, 3)`` poses as float64 (checked) and their ``(K,)`` mean joint confidences (NaN: 0)."""
    p = np.asarray(poses, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3) or len(p) == 0:
        raise ValueError(f"expected (K >= 1, {NUM_JOINTS}, 3) candidate poses, got {p.shape}")
    return p, np.nan_to_num(p[..., 2], nan=0.0).mean(axis=1)


def select_candidate(poses: np.ndarray) -> int:
    """Index of the most confident of ``(K, 16, 3)`` candidate poses (mean joint confidence; first on ties)."""
    return int(np.argmax(_confidence(poses)[1]))


def consensus_candidate(poses: np.ndarray, scale: float) -> int:
    """Index of the medoid of ``(K >= 1, 16, 3)`` candidate poses (ties: the more confident, then the first).

    With K < 3 there is no majority to agree with: the most confident (:func:`select_candidate`).
    """
    p, conf = _confidence(poses)
    if len(p) < 3:
        return int(np.argmax(conf))
    d = pose_distances(p, scale)
    # a candidate that shares no joint with another cannot be the consensus of the set
    total = np.where(np.isfinite(d), d, 1e6).sum(axis=1)
    best = np.flatnonzero(np.isclose(total, total.min(), rtol=0, atol=1e-9))
    return int(best[np.argmax(conf[best])])
