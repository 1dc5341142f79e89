"""Pass 1 of the diver tracker, step 5: cut tracklets that run on from the diver to someone else.

Helper for :mod:`fdpose.pipelines.tracking.tracklets` (parameters from the tracker's ``TrackerConfig``,
rule documented in :mod:`fdpose.pipelines.tracking`).

The greedy link of step 3 follows a moving person through a camera tilt and, at the end of
the dive (the diver goes under, the detector reports a last false box or two in the splash
or over the crowd), it may carry the diver's tracklet on to a spectator who then stands in
the same tracklet for the rest of the clip. The diver never stands still again after the
flight (the dive ends in the water): a *still run* after flight motion is another person,
and it is cut off into a tracklet of its own, so that being seen beside the diver marks that
spectator, not the diver's earlier frames (the still phase on the board, the flight).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import diags

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["runon_cuts"]


def runon_cuts(members: Sequence[tuple[int, int]], local: np.ndarray, evidence: np.ndarray,
               scene: Sequence[np.ndarray], cands: Sequence[np.ndarray], cfg: "Params",
               scale: Optional[np.ndarray] = None) -> list[int]:
    """Member indices at which a tracklet is cut (each starts a new piece), ascending.

    local / evidence: per member the local motion (diagonals) and whether it was measured.
    scale: optional (T,) camera zoom per frame (diagonals in scene units).
    A *still run* is a maximal run of members whose measured local motion is below
    ``static_motion`` (unmeasured members are no evidence either way) holding at least
    ``still_after_frames`` measured members. It is cut off when a member of the same piece
    before it moved at ``flight_motion`` or more. The cut goes where the boxes arrive at the
    run's *place*: the local motion of the run's first members still holds the flight in its
    window, so the run is extended backwards over members that lie within ``static_gate``
    diagonals of the median scene centre of its first ``still_after_frames`` measured members
    and step into the next member by at most ``static_gate / 4`` diagonals a frame (detector
    jitter of a person standing still; the diver arriving there is still falling faster).
    """
    n = len(members)
    if n < 2 * cfg.still_after_frames:
        return []
    still = ~evidence | (local < cfg.static_motion)
    flew = evidence & (local >= cfg.flight_motion)
    pts = np.array([scene[t][j] for t, j in members])
    cuts: list[int] = []
    start = 0  # first member of the current piece
    i = 0
    while i < n:
        if not still[i]:
            i += 1
            continue
        j = i
        while j < n and still[j]:
            j += 1
        if int(evidence[i:j].sum()) >= cfg.still_after_frames and flew[start:i].any():
            head = [k for k in range(i, j) if evidence[k]][:cfg.still_after_frames]
            place = np.median(pts[head], axis=0)
            cut = i
            while cut - 1 > start:
                t, r = members[cut - 1]
                d = float(diags(cands[t][r][None])[0]) / (1.0 if scale is None else float(scale[t]))
                gap = members[cut][0] - t
                if (np.linalg.norm(pts[cut - 1] - place) > cfg.static_gate * d
                        or np.linalg.norm(pts[cut] - pts[cut - 1]) > cfg.static_gate / 4 * d * gap):
                    break
                cut -= 1
            if flew[start:cut].any():
                cuts.append(cut)
                start = cut
        i = j
    return cuts

