"""Nearest-neighbour diver tracking, Eq. 25 alone (method.md 2.2 step 3).

From the diver's box at frame t, every candidate box ``c`` of frame t+1 is scored

    D(c)     = |centre(c) - centre(diver_t)| / diag(diver_t)      (centre distance, in diagonals)
    score(c) = conf_weight * conf(c) - D(c)

and the best-scoring candidate is the diver at t+1 (no gate: a frame with candidates always
gets one; a frame without any keeps the last box as reference). Distances are divided by the
last box's diagonal so that the rule does not depend on the resolution. The track runs forward
from the seed to the end and backward from the seed to the start.

*Seed* (the paper leaves it to a sensible choice): the user's ``init_box`` (replaced by the
best-overlapping candidate of its frame when one overlaps it with IoU >= ``init_iou``),
else, with ``board_xy``, the candidate nearest to it in the first frame with candidates,
else the most confident candidate of the first frame with candidates.

The refinement switches that this engine also honours (the rest need pass-1 tracklets,
:mod:`fdpose.pipelines.tracking.tracker`): ``camera`` (D measured in scene coordinates, the
camera's pan and zoom removed), ``velocity`` (D also to the constant-velocity prediction,
the smaller counts), ``gates`` (confidence, jump and size gates; a frame where nothing passes
is ``lost`` and the gate grows) and ``entry`` (the track ends at the water).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import centres, diags, iou
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.config import Params
from fdpose.pipelines.tracking.entry import EntryWatch
from fdpose.pipelines.tracking.pass2 import TrackDecision

__all__ = ["core_seed", "nearest_neighbour"]


def core_seed(cands: Sequence[np.ndarray], cfg: Params, init_box: Optional[np.ndarray] = None, init_frame: int = 0,
              board_xy: Optional[np.ndarray] = None) -> Optional[tuple[int, int, np.ndarray]]:
    """(frame, row, box) of the seed (row -1: the user's box itself); None without candidates."""
    if init_box is not None:
        c = cands[init_frame]
        if len(c):
            overlap = iou(init_box, c)
            if overlap.max() >= cfg.init_iou:
                j = int(np.argmax(overlap))
                return init_frame, j, c[j]
        return init_frame, -1, init_box
    for t, c in enumerate(cands):
        if len(c):
            if board_xy is not None:
                j = int(np.argmin(np.linalg.norm(centres(c) - board_xy, axis=1)))
            else:
                j = int(np.argmax(c[:, 4]))
            return t, j, c[j]
    return None


def nearest_neighbour(cands: Sequence[np.ndarray], cfg: Params, seed_t: int, seed_row: int, seed_box: np.ndarray,
                      cam: Optional[CameraMotion] = None
                      ) -> tuple[np.ndarray, np.ndarray, list[TrackDecision]]:
    """Eq. 25 from one seed, forward then backward: (T, 5) boxes (NaN: none), (T,) rows, decisions.

    cam: camera motion (scene coordinates); None: the image is the scene.
    """
    n = len(cands)
    cam = cam if cam is not None else CameraMotion.identity(n)
    boxes = np.full((n, 5), np.nan)
    rows = np.full(n, -1, dtype=np.int64)
    decisions = [TrackDecision.LOST] * n
    boxes[seed_t], rows[seed_t], decisions[seed_t] = seed_box, seed_row, TrackDecision.INIT
    for order in (range(seed_t + 1, n), range(seed_t - 1, -1, -1)):
        last, last_t = seed_box, seed_t
        centre = cam.to_scene(centres(seed_box[None]), seed_t)[0]
        vel, n_obs = np.zeros(2), 0
        lost = False
        watch = EntryWatch(cfg) if order.step > 0 and cfg.entry_end else None
        if watch is not None:
            watch.chosen(centre, float(diags(seed_box[None])[0]) / cam.scale[seed_t], vel)
        for t in order:
            c = cands[t]
            j = -1
            if len(c):
                gap = abs(t - last_t)
                diag = float(diags(last[None])[0]) / cam.scale[last_t]
                scene = cam.to_scene(centres(c), t)
                d = np.linalg.norm(scene - centre, axis=1) / diag
                if cfg.use_velocity and n_obs:
                    pred = centre + vel * min(gap, cfg.velocity_horizon)
                    d = np.minimum(d, np.linalg.norm(scene - pred, axis=1) / diag)
                ratio = diags(c) / cam.scale[t] / diag
                score = cfg.conf_weight * c[:, 4] - d - cfg.size_weight * np.abs(np.log(ratio))
                ok = ((c[:, 4] >= cfg.min_conf)
                      & (d <= min(cfg.max_jump + cfg.jump_growth * (gap - 1), cfg.max_jump_cap))
                      & (np.maximum(ratio, 1 / ratio) <= cfg.size_gate(gap)))
                if ok.any():
                    score[~ok] = -np.inf
                    j = int(np.argmax(score))
            if j < 0:
                lost = True
                if watch is not None and watch.missed(t):
                    break
                continue
            boxes[t], rows[t] = c[j], j
            decisions[t] = TrackDecision.REACQUIRED if lost else TrackDecision.MATCHED
            lost = False
            new = cam.to_scene(centres(c[j:j + 1]), t)[0]
            v = (new - centre) / max(abs(t - last_t), 1)
            a = cfg.velocity_smoothing if n_obs else 0.0
            vel, n_obs = a * vel + (1 - a) * v, n_obs + 1
            centre, last, last_t = new, c[j], t
            if watch is not None:
                watch.chosen(centre, float(diags(c[j:j + 1])[0]) / cam.scale[t], vel)
    return boxes, rows, decisions
