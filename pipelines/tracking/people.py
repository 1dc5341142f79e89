"""Other people in pass 2 (the ``people`` refinement): spectators, judges, officials.

Real-world assumption: the people around a dive stand or sit nearly still in the scene, and a
person seen beside the diver while the track steadily follows its own tracklet is someone else.
Pass 1 (:mod:`fdpose.pipelines.tracking.tracklets`) flags static tracklets; here a static
candidate continues the track only where the track itself is nearly still (the diver on the
board), and a tracklet seen beside the diver in ``exclude_after`` frames never continues it.
A box lying (``inside_share`` of its area) inside the diver's box is not "beside" him: the SSD
gives partial boxes of the diver (his upper body) on small frames, and the diver's own later
boxes may join their tracklet (docs/tracker_robustness.md, clip A at x0.6).
With the section off nobody is static or excluded. (Rules: :mod:`fdpose.pipelines.tracking.tracker`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["person_mask"]


def person_mask(cfg: "Params", d: np.ndarray, d_pred: np.ndarray, speed: float, same: np.ndarray,
                excluded: np.ndarray, static: np.ndarray, still_short: Optional[np.ndarray],
                entering: np.ndarray) -> np.ndarray:
    """(K,) bool: candidates the people rules let continue the track.

    d / d_pred: (K,) distance to the last centre (or prediction) and to the prediction alone,
    in diagonals; speed: the track's scene speed (diagonals per frame); same: (K,) the
    candidate continues the track's tracklet; excluded: (K,) its tracklet was seen beside the
    diver; static: (K,) its tracklet stands still; still_short: (K,) short tracklets still
    wherever measured (or None); entering: (K,) the entry shrink of :mod:`.gates`.
    """
    # A tracklet seen beside the diver's is another person: it never continues the track.
    ok = ~excluded | same
    # (a static tracklet exactly where a moving track is predicted is the same person whose
    # still phase - standing on the board - was linked separately)
    # (a short tracklet that stood still wherever it was measured counts as static too: a
    # spectator the camera's tilt brought into view; a shrink in the diver's column excepted)
    person = static | (still_short & ~entering) if still_short is not None else static
    ok &= ~person | same | ((d <= cfg.static_gate) & (speed <= cfg.static_speed)) | (d_pred <= cfg.static_gate / 2)
    return ok
