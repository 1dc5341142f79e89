"""Fall chains: the diver's lone boxes of a fast fall, linked for pass 2's confirmation rule.

Helper for :mod:`fdpose.pipelines.tracking` (parameters come from its ``TrackerConfig``; the
rule is documented there, *fall chains*). At the end of a 10 m dive the diver falls about a
box diagonal per frame, accelerating, while the camera tilts after her: pass 1 links a newborn
tracklet only within the still gate (its velocity is unknown), so her boxes after a miss stay
single-frame tracklets, and pass 2 did not trust them. Here those pieces are linked again with
a gate wide enough for the fall, but only downwards: a chain of pieces that keeps falling is
the diver, clutter boxes and spectators streaming through a tilt do not fall frame after frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from fdpose.pipelines.tracking.tracklets import Pass1, diags, touches_border

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["fall_support"]


def fall_support(cands: Sequence[np.ndarray], p1: Pass1, cfg: "Params",
                 image_size: Optional[tuple[int, int]] = None) -> list[np.ndarray]:
    """Per frame (K_t,) int: length of the fall chain of each candidate (0: on no chain).

    Pieces are the candidates on pass-1 tracklets shorter than ``confirm_frames`` that are
    neither static nor cut by the image border (a box entering the view jumps). Frame by frame,
    greedily (nearest first), a piece continues the chain whose last piece lies at most
    ``link_max_gap`` frames back when the scene step is at most ``fall_link_dist`` of the last
    piece's diagonals per frame of gap, points downwards (its downward component at least
    ``fall_cos`` of its length) and the diagonal ratio passes pass 2's size gate for that gap.
    """
    out = [np.zeros(len(b), dtype=np.int64) for b in cands]
    if cfg.fall_link_dist <= 0:
        return out
    chains: list[list[tuple[int, int]]] = []
    ends: list[tuple[int, np.ndarray, float, int]] = []  # frame, scene centre, diagonal, chain
    for t, b in enumerate(cands):
        if not len(b):
            continue
        lone = np.flatnonzero((p1.support[t] < cfg.confirm_frames) & ~p1.static[t] & ~touches_border(b, image_size))
        d_t = diags(b) / (1.0 if p1.cam is None else float(p1.cam.scale[t]))  # (scene units)
        live = [e for e in ends if t - e[0] <= cfg.link_max_gap + 1]
        pairs = []
        for i, (ft, c, d, _) in enumerate(live):
            gap = t - ft
            size_gate = cfg.size_gate(gap)
            for j in lone:
                step = p1.scene[t][j] - c
                length = float(np.linalg.norm(step))
                r = d_t[j] / d
                # (scene y grows downwards: the fall, whatever the camera's tilt)
                if (length / (d * gap) <= cfg.fall_link_dist and step[1] >= cfg.fall_cos * length
                        and max(r, 1 / r) <= size_gate):
                    pairs.append((length / (d * gap), i, int(j)))
        pairs.sort()
        used_e: set[int] = set()
        used_c: set[int] = set()
        for _, i, j in pairs:
            if i in used_e or j in used_c:
                continue
            used_e.add(i)
            used_c.add(j)
            chains[live[i][3]].append((t, j))
            live[i] = (t, p1.scene[t][j], float(d_t[j]), live[i][3])
        for j in lone:
            if int(j) not in used_c:
                chains.append([(t, int(j))])
                live.append((t, p1.scene[t][j], float(d_t[j]), len(chains) - 1))
        ends = live
    for ch in chains:
        if len(ch) > 1:
            for t, j in ch:
                out[t][j] = len(ch)
    return out
