"""Black bars (letterbox / pillarbox) around the picture of a broadcast frame.

A 4:3 programme shown in a 16:9 frame (pillarbox) or a wide picture in a 4:3 frame (letterbox)
carries black bars that hold no person. A whole-frame detector that stretches the frame into a
square input (the ``ssd``) spends part of its input on them: the diver shrinks in the input and
its aspect changes, and the SSD then misses him (measured on the real dev clips with bars added:
docs/tracker_robustness.md). Detecting on the picture alone gives the boxes the bare picture
would give, shifted by the bars.
"""

from __future__ import annotations

import numpy as np

__all__ = ["picture_area"]


def _dark_run(dark: np.ndarray) -> int:
    """Length of the leading run of True in a (N,) bool array."""
    stop = np.flatnonzero(~dark)
    return int(stop[0]) if len(stop) else len(dark)


def picture_area(image: np.ndarray, level: int = 24, share: float = 0.99, min_bar: float = 0.02
                 ) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the picture inside black bars of an ``(H, W, 3)`` or ``(H, W)`` uint8 frame.

    A row (column) is black when at least ``share`` of its pixels are no brighter than ``level``
    in every channel (compression leaves a little noise in a bar). Only runs of black rows
    (columns) that start at an edge and cover at least ``min_bar`` of the side count as bars, so
    a dark edge of the picture itself is kept; a frame black throughout has no bars (the whole
    frame is returned).
    """
    a = np.asarray(image)
    bright = a.max(axis=2) if a.ndim == 3 else a
    h, w = bright.shape[:2]
    lit = bright > level
    dark_rows = lit.mean(axis=1) <= 1 - share
    dark_cols = lit.mean(axis=0) <= 1 - share
    if dark_rows.all() or dark_cols.all():
        return 0, 0, w, h

    def bars(dark: np.ndarray, side: int) -> tuple[int, int]:
        lo, hi = _dark_run(dark), _dark_run(dark[::-1])
        keep = max(1, int(np.ceil(min_bar * side)))
        return (lo if lo >= keep else 0), (hi if hi >= keep else 0)

    top, bottom = bars(dark_rows, h)
    left, right = bars(dark_cols, w)
    return left, top, w - right, h - bottom
