"""Jump, size, confidence and confirmation gates of pass 2 (the ``gates`` refinement).

Real-world assumption: a body moves at most about a box diagonal per frame and keeps its
size from one frame to the next; its box shrinks fast only when it enters the water, in its
own column; a detection after a long miss, or far away, is trusted only when the detector saw
it in several frames (a tracklet). With the section off every candidate is admissible.
(Rules: :mod:`fdpose.pipelines.tracking.tracker`, *Pass 2*.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["entering_water", "gate_mask"]


def entering_water(cfg: "Params", ratio: np.ndarray, dx: np.ndarray, half_w: float, forward: bool) -> np.ndarray:
    """(K,) bool: candidates that may be the diver's box shrinking into the water.

    ratio: (K,) diagonal ratio to the last box; dx: (K,) horizontal scene distance to the last
    centre (or the prediction); half_w: half the last box's scene width.
    """
    # (forward in time only: backwards, the diver's box grows out of the water; a shrink
    # there is a smaller person, such as a spectator cut by the border)
    return (ratio < 1) & (dx <= half_w) & (1 / ratio <= cfg.entry_size_ratio) & forward


def gate_mask(cfg: "Params", gap: int, d: np.ndarray, ratio: np.ndarray, conf: np.ndarray, cut: np.ndarray,
              last_cut: bool, entering: np.ndarray, support: np.ndarray, last_still: bool) -> np.ndarray:
    """(K,) bool: candidates that pass every gate.

    gap: frames since the last diver box; d: (K,) distance in last-box diagonals; ratio: (K,)
    diagonal ratio; conf: (K,) detector confidence; cut / last_cut: the candidate / the last
    box is cut by the image border; support: (K,) tracklet (or fall-chain) length; last_still:
    the last box is on a static tracklet.
    """
    jump_gate = min(cfg.max_jump + cfg.jump_growth * (gap - 1), cfg.max_jump_cap)
    size_gate = cfg.size_gate(gap)
    # A box cut by the image border is smaller than its person: growing from a cut last box, or
    # shrinking into a cut candidate, may go up to cut_size_ratio.
    clipped = ((ratio > 1) & last_cut) | ((ratio < 1) & cut)
    size_ok = np.maximum(ratio, 1 / ratio) <= np.where(clipped, max(size_gate, cfg.cut_size_ratio), size_gate)
    ok = (conf >= cfg.min_conf) & (d <= jump_gate) & (size_ok | entering)
    # Only candidates within the base gate of the last box, at most confirm_gap frames after
    # it, may be unconfirmed: a re-acquisition after a longer miss or a long jump needs a
    # tracklet of confirm_frames detections.
    # (a box cut by the image border is a person half in view, whose centre jumps: early only
    # when the diver's own last box was cut too, leaving the view)
    early = (gap == 1) | ((gap <= cfg.confirm_gap) & (~cut | last_cut))
    # (a diver standing still - the track on a static tracklet - moves off by continuing
    # motion, not by a jump: an unconfirmed candidate then must lie within the static gate)
    reach = cfg.static_gate if last_still else cfg.max_jump
    ok &= (early & (d <= reach)) | (support >= cfg.confirm_frames)
    return ok
