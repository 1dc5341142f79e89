"""Box geometry shared by several stages (annotation review, tracking, evaluation)."""

from __future__ import annotations

import numpy as np


def intersection(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(K,) overlap areas of one (>=4,) xyxy box with (K, >=4) xyxy boxes (0 where disjoint)."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    return ix * iy


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (>=4,) xyxy box with (K, >=4) xyxy boxes -> (K,) (0 for disjoint or degenerate boxes)."""
    inter = intersection(box, boxes)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def centres(b: np.ndarray) -> np.ndarray:
    """(K, 2) centres of (K, >=4) xyxy boxes."""
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


def diags(b: np.ndarray, floor: float = 1.0) -> np.ndarray:
    """(K,) diagonals of (K, >=4) xyxy boxes, floored at ``floor`` px (default 1: the tracker divides
    by them; PCK passes 0 so that a degenerate box is skipped, not scored against 1 px)."""
    b = np.asarray(b, dtype=np.float64)
    return np.maximum(np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), floor)
