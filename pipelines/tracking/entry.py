"""Entry end: the track stops at the water.

Real-world assumption: a dive ends in the water. Once the diver has fallen (the track's
scene centre at least ``entry_min_drop`` of its scene diagonals below the highest point it
reached since the seed), is falling (its smoothed scene velocity points down) and then is
not found for ``entry_lost_frames`` frames in a row, the diver has gone under: every later
frame is ``lost``, whoever the detector finds there (people in the foreground at the entry,
officials at the poolside, a replay of the dive). Forward in time only; the track of a clip
without a measured fall (camera motion unknown while it follows the diver) never ends early.

*Live first* (``entry_live_first``): the dive is shown live before any replay, so among the
seed hypotheses (:mod:`fdpose.pipelines.tracking.seed`) those seeded after the earliest entry
another hypothesis found follow a replay and are dropped (a replay's tighter camera makes its
diver travel further in the scene, which the seed choice would otherwise prefer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["EntryWatch"]


class EntryWatch:
    """Follows one forward pass: :meth:`chosen` on every chosen box, :meth:`missed` on every
    frame without one; :attr:`ended` says that the diver has entered the water."""

    def __init__(self, cfg: "Params") -> None:
        self.cfg = cfg
        self.top = np.inf  # highest scene y reached (y grows downwards)
        self.fallen = False
        self.falling = False
        self.lost = 0
        self.end_frame: int | None = None

    def chosen(self, centre: np.ndarray, diag: float, velocity: np.ndarray) -> None:
        """A box was chosen: its scene centre (2,), scene diagonal and the track's scene velocity."""
        self.top = min(self.top, float(centre[1]))
        self.fallen |= (float(centre[1]) - self.top) / max(diag, 1e-9) >= self.cfg.entry_min_drop
        self.falling = float(velocity[1]) > 0
        self.lost = 0

    def missed(self, t: int) -> bool:
        """Frame t has no box; True when this ends the track (t is then its first frame after)."""
        self.lost += 1
        if (self.cfg.entry_end and self.end_frame is None and self.fallen and self.falling
                and self.lost >= self.cfg.entry_lost_frames):
            self.end_frame = t - self.lost + 1
        return self.end_frame is not None

    @property
    def ended(self) -> bool:
        return self.end_frame is not None
