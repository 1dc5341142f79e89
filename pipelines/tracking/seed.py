"""Seed choice of the refinement engine: where the track starts when no ``init_box`` is given.

Real-world assumption: the diver is the person who travels through the scene and rotates
(spectators, judges and officials stand, sit or walk upright), and who is in view for much of
the clip. Tracklets of pass 1 (:mod:`fdpose.pipelines.tracking.tracklets`) are ranked by that
(:func:`choose_seeds`), the best few each seed a whole pass 2, and the track with the largest
:func:`track_value` wins (rules in :mod:`fdpose.pipelines.tracking.tracker`, *Seed*). With the
``seed`` section off, the best-ranked tracklet alone seeds the track.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import centres, diags
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.tracklets import Pass1, Tracklet, touches_border

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["choose_seeds", "track_value"]


def choose_seeds(cands: Sequence[np.ndarray], p1: Pass1, cfg: "Params",
                 board_xy: Optional[np.ndarray]) -> list[tuple[int, int]]:
    """(frame, row) seed candidates of the ``seed_hypotheses`` best tracklets, best first.

    The ranking of :mod:`fdpose.pipelines.tracking` (module docstring, *seed* step 1), plus
    the best-ranked static tracklet with ``seed_still_hypothesis`` (step 2).
    """
    if not p1.tracklets:
        return []
    longest = max(len(tr.members) for tr in p1.tracklets)
    # (nobody in view for init_min_frames in a row: a short clip or a low frame rate, where the
    # length says little - the diver's tracklets at 5 fps are 2-3 frames long)
    need = cfg.init_min_frames if longest >= cfg.init_min_frames else min(longest, cfg.init_short_min_frames)
    eligible = [tr for tr in p1.tracklets if len(tr.members) >= need]
    whole = [tr for tr in eligible if tr.cut_share <= 0.5] or eligible
    pool = [tr for tr in whole if not tr.static] or whole
    first = {id(tr) for tr in pool}  # ranked ahead of the other eligible tracklets
    n = len(cands)
    ranked: list[tuple[tuple[int, float, int], Tracklet]] = []
    for tr in eligible:
        presence = min(1.0, len(tr.members) / max(cfg.init_presence * n, 1.0))
        value = (tr.mobility + cfg.aspect_weight * tr.aspect_change) * presence
        if board_xy is not None:
            b = np.stack([cands[t][j] for t, j in tr.members])
            value -= cfg.board_weight * float(np.min(np.linalg.norm(centres(b) - board_xy, axis=1) / diags(b)))
        ranked.append(((int(id(tr) in first), value, len(tr.members)), tr))
    ranked.sort(key=lambda r: r[0], reverse=True)
    chosen = [tr for _, tr in ranked[:cfg.seed_hypotheses]]
    if cfg.seed_still_hypothesis:
        # (standing on the board: a static tracklet that travels - an official walking slowly
        # along the deck, still by the local measure - is no diver before take-off)
        still = [tr for _, tr in ranked if tr.static and tr.travel < cfg.still_max_travel]
        if still and not any(tr is still[0] for tr in chosen):
            chosen.append(still[0])
    return [_seed_frame(cands, p1, cfg, tr) for tr in chosen]


def _seed_frame(cands: Sequence[np.ndarray], p1: Pass1, cfg: "Params", tr: Tracklet) -> tuple[int, int]:
    """(frame, row) of the tracklet member to start from: alone, moving, confident.

    Members within ``seed_end_margin`` members of the tracklet's ends come last: pass 1 may
    have linked the end of a person's tracklet on to another person (a fast camera tilt
    sweeping spectators across the diver), and a seed there starts on the wrong person.
    """
    keys = []
    n = len(tr.members)
    margin = min(cfg.seed_end_margin, (n - 1) // 2)
    for i, (t, j) in enumerate(tr.members):
        # Prefer a frame where the diver is alone and moving: a seed overlapping a spectator
        # (or a tracklet end that drifted onto one) could hand the track over.
        box = cands[t][j:j + 1]
        others = np.delete(cands[t], j, axis=0)
        iso = (float(np.min(np.linalg.norm(centres(others) - centres(box), axis=1))) / diags(box)[0]
               if len(others) else np.inf)
        keys.append((min(i, n - 1 - i) >= margin, min(iso, cfg.seed_isolation),
                     min(float(p1.motion[t][j]), cfg.static_motion), float(box[0, 4])))
    return tr.members[max(range(n), key=lambda k: keys[k])]


def track_value(boxes: np.ndarray, rows: np.ndarray, p1: Pass1, cfg: "Params",
                image_size: Optional[tuple[int, int]] = None) -> float:
    """Whole-track diver score of a pass-2 result (:mod:`fdpose.pipelines.tracking`, *seed* step 2).

    boxes: (T, 5) chosen boxes, NaN rows where none; rows: (T,) their candidate rows (-1: none).
    The track is cut into *segments*, its frames on one pass-1 tracklet each; a segment's value
    is its travel (largest distance between two of its scene centres, in its median diagonal)
    plus ``aspect_weight`` times its aspect change (std of log(height / width) of its boxes not
    cut by the border). The track value is its best segment's value times presence
    ``min(1, tracked / (init_presence * T))`` times ``1 - cut share``. Segments, not the whole
    track, so that a track which runs from the diver onto a spectator gains nothing by the
    jump.
    """
    n = len(boxes)
    have = rows >= 0
    if not have.any():
        return 0.0
    cam = p1.cam if p1.cam is not None else CameraMotion.from_steps(np.ones(n), p1.camera, p1.camera_known)
    owner = np.array([p1.owner[t][rows[t]] if rows[t] >= 0 else -1 for t in range(n)], dtype=np.int64)
    best = 0.0
    for k in np.unique(owner[have]):
        sel = owner == k
        b = boxes[sel]
        scene = (centres(b) - cam.offset[sel]) / cam.scale[sel][:, None]
        travel = float(np.hypot(*np.ptp(scene, axis=0))) / float(np.median(diags(b) / cam.scale[sel]))
        whole = ~touches_border(b, image_size)
        aspect = 0.0
        if whole.sum() >= 2:
            w = np.maximum(b[whole, 2] - b[whole, 0], 1.0)
            h = np.maximum(b[whole, 3] - b[whole, 1], 1.0)
            aspect = float(np.std(np.log(h / w)))
        best = max(best, travel + cfg.aspect_weight * aspect)
    presence = min(1.0, float(have.sum()) / max(cfg.init_presence * n, 1.0))
    cut_share = float(np.mean(touches_border(boxes[have], image_size)))
    return best * presence * (1.0 - cut_share)
