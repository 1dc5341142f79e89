"""Still phases for the diver tracker's pass 2 (:mod:`fdpose.pipelines.tracking`, rules there).

The diver stands still on the board before take-off and the dive ends in the water; pass 1
(:mod:`fdpose.pipelines.tracking.tracklets`) links those still phases into tracklets which, under a
fast camera or beside a crowd, may run on onto another person. These helpers find, per
tracklet, its *still tail* (refused after the flight) and its *still head* (the hand-over,
backwards in time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fdpose.pipelines.tracking.tracklets import Pass1

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["still_after", "still_head_end", "still_head_place"]


def still_after(p1: Pass1, cfg: "Params") -> list[np.ndarray]:
    """Per frame (K_t,) bool: the candidate's tracklet stays still from this frame to its end.

    A tracklet's *still tail* is its longest run of final members whose measured local motion
    is below ``static_motion`` (unmeasured members are no evidence either way); it counts when
    it holds at least ``still_after_frames`` measured members, and then all its members are
    flagged.
    """
    out = [np.zeros(len(m), dtype=bool) for m in p1.motion]
    for tr in p1.tracklets:
        tail: list[tuple[int, int]] = []
        count = 0
        for t, j in reversed(tr.members):
            if p1.measured[t][j]:
                if p1.motion[t][j] >= cfg.static_motion:
                    break
                count += 1
            tail.append((t, j))
        if count >= cfg.still_after_frames:
            for t, j in tail:
                out[t][j] = True
    return out


def still_head_end(p1: Pass1, cfg: "Params") -> np.ndarray:
    """(N,) per pass-1 tracklet the last frame of its *still head*, -1 where it has none.

    The still head is the leading run of members whose measured local motion is below
    ``static_motion`` (unmeasured members are no evidence either way) and holding at least
    ``still_after_frames`` measured members. It counts only when it is the whole tracklet or
    a later member moves at ``flight_motion`` or more: the person left the place (the diver
    taking off, and pass 1 linking the flight on, and maybe further onto a spectator).
    """
    out = np.full(len(p1.tracklets), -1, dtype=np.int64)
    for k, tr in enumerate(p1.tracklets):
        count, end, left = 0, -1, False
        for i, (t, j) in enumerate(tr.members):
            if p1.measured[t][j] and p1.motion[t][j] >= cfg.static_motion:
                rest = tr.members[i:]
                left = any(p1.measured[u][v] and p1.motion[u][v] >= cfg.flight_motion for u, v in rest)
                break
            count += int(p1.measured[t][j])
            end = t
        else:
            left = True  # the whole tracklet is still: it ends where the person left
        if left and count >= cfg.still_after_frames:
            out[k] = end
    return out


def still_head_place(p1: Pass1, head_end: np.ndarray) -> np.ndarray:
    """(N, 2) per pass-1 tracklet the median scene centre of its still head (NaN where none)."""
    out = np.full((len(p1.tracklets), 2), np.nan)
    for k, tr in enumerate(p1.tracklets):
        if head_end[k] >= 0:
            out[k] = np.median([p1.scene[t][j] for t, j in tr.members if t <= head_end[k]], axis=0)
    return out
