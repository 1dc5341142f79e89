"""Pass 1 of the diver tracker: short tracklets, camera motion and who is standing still.

Helpers for :mod:`fdpose.pipelines.tracking` (parameters come from its ``TrackerConfig``).

1. **Linking.** Candidates are linked frame to frame, greedily on the distance between a
   candidate and the tracklet's constant-velocity prediction (in box diagonals per frame of
   gap) plus ``link_shape_weight`` times the change of box shape, bridging up to
   ``link_max_gap`` missed frames. Shape matters when a diver flies over a seated spectator:
   the centres nearly coincide, the shapes do not.
2. **Camera motion.** Broadcast cameras follow the diver, so in the image the spectators move
   and the diver may not. Each tracklet's displacement between consecutive frames is taken
   relative to the median displacement of the *other* tracklets linked across the same frame
   pair (the scene); with fewer than two others the camera is taken as still. The median of all
   links (at least three) is kept as the frame's camera shift, for pass 2.
3. **Local motion.** Each candidate's accumulated scene-relative positions are examined in a
   window of ``static_window`` frames around it: their spread in box diagonals is the
   candidate's *local motion*. Accumulated estimates drift, but over a few frames they are
   accurate, so a spectator's local motion is detector jitter while a flying diver's is large.
   A candidate is *static* when its tracklet is at least ``static_min_frames`` long and the
   80th percentile of the tracklet's local motion is below ``static_motion``: spectators and
   judges are still nearly all the time, even in the frames where the diver flies over them
   and the boxes mix. A diver tracklet that includes the flight is not static; a tracklet of
   the diver only standing on the board is, and pass 2 treats it accordingly. Boxes cut by
   the image border (when the image size is known) are left out of motion and shape
   measurements: a person entering the view changes box, not place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

if TYPE_CHECKING:  # the config lives with the tracker, which imports this module
    from fdpose.pipelines.tracking import TrackerConfig


def centres(b: np.ndarray) -> np.ndarray:
    """(K, 2) centres of (K, >=4) xyxy boxes."""
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


def diags(b: np.ndarray) -> np.ndarray:
    """(K,) diagonals, floored at 1 px so degenerate boxes do not divide by zero."""
    return np.maximum(np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), 1.0)


def shape_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(Ka, Kb) ``|log(w_b / w_a)| + |log(h_b / h_a)|``: how different two boxes' shapes are."""
    wa, ha = np.maximum(a[:, 2] - a[:, 0], 1.0), np.maximum(a[:, 3] - a[:, 1], 1.0)
    wb, hb = np.maximum(b[:, 2] - b[:, 0], 1.0), np.maximum(b[:, 3] - b[:, 1], 1.0)
    return np.abs(np.log(wb[None, :] / wa[:, None])) + np.abs(np.log(hb[None, :] / ha[:, None]))


@dataclass
class Tracklet:
    """Candidates linked over frames: ``members`` are (frame, row) pairs in frame order.

    mobility: 90th percentile of its members' local motion (diagonals), the seed cue.
    aspect_change: std of log(height / width) over its members.
    """

    members: list[tuple[int, int]] = field(default_factory=list)
    mobility: float = 0.0
    aspect_change: float = 0.0


@dataclass
class Pass1:
    """Everything pass 2 needs from pass 1.

    tracklets: all tracklets (singletons included).
    camera: (T, 2) estimated camera shift between frame t-1 and t, px (row 0 is zero).
    static / support / motion / owner: per frame, (K_t,) arrays over that frame's candidates:
    static flag, length of the candidate's tracklet, local motion in diagonals, index of the
    candidate's tracklet in ``tracklets``.
    """

    tracklets: list[Tracklet]
    camera: np.ndarray
    static: list[np.ndarray]
    support: list[np.ndarray]
    motion: list[np.ndarray]
    owner: list[np.ndarray]


def link(cands: Sequence[np.ndarray], cfg: "TrackerConfig") -> list[Tracklet]:
    """Greedy frame-to-frame linking (see the module docstring, step 1)."""
    tracklets: list[Tracklet] = []
    last: list[tuple[int, np.ndarray, np.ndarray]] = []  # per tracklet: frame, box, velocity (px/frame)
    for t, boxes in enumerate(cands):
        live = [k for k, (ft, _, _) in enumerate(last) if t - ft <= cfg.link_max_gap + 1]
        used_tr: set[int] = set()
        used_c: set[int] = set()
        if live and len(boxes):
            prev = np.stack([last[k][1] for k in live])
            gaps = np.array([t - last[k][0] for k in live], dtype=float)
            pred = centres(prev) + np.stack([last[k][2] for k in live]) * gaps[:, None]
            cost = np.linalg.norm(pred[:, None, :] - centres(boxes)[None, :, :], axis=2)
            cost /= diags(prev)[:, None] * gaps[:, None]
            ratio = diags(boxes)[None, :] / diags(prev)[:, None]
            cost[(cost > cfg.link_dist) | (np.maximum(ratio, 1 / ratio) > cfg.max_size_ratio)] = np.inf
            cost += cfg.link_shape_weight * shape_change(prev, boxes)
            for flat in np.argsort(cost, axis=None):
                i, j = (int(v) for v in np.unravel_index(flat, cost.shape))
                if not np.isfinite(cost[i, j]):
                    break
                if i in used_tr or j in used_c:
                    continue
                used_tr.add(i)
                used_c.add(j)
                k = live[i]
                tracklets[k].members.append((t, j))
                vel = (centres(boxes[j:j + 1])[0] - centres(prev[i:i + 1])[0]) / gaps[i]
                last[k] = (t, boxes[j], vel)
        for j in range(len(boxes)):
            if j not in used_c:
                tracklets.append(Tracklet(members=[(t, j)]))
                last.append((t, boxes[j], np.zeros(2)))
    return tracklets


def _links_per_frame(cands: Sequence[np.ndarray], tracklets: list[Tracklet]) -> list[dict[int, np.ndarray]]:
    """Per frame t: {tracklet index: centre displacement from t-1 to t} over consecutive links."""
    per_frame: list[dict[int, np.ndarray]] = [{} for _ in range(len(cands))]
    for k, tr in enumerate(tracklets):
        for (t0, j0), (t1, j1) in zip(tr.members, tr.members[1:]):
            if t1 == t0 + 1:
                per_frame[t1][k] = centres(cands[t1][j1:j1 + 1])[0] - centres(cands[t0][j0:j0 + 1])[0]
    return per_frame


def _touches_border(b: np.ndarray, image_size: Optional[tuple[int, int]]) -> np.ndarray:
    """(K,) True for boxes cut by the image border (their centre and shape are unreliable)."""
    if image_size is None:
        return np.zeros(len(b), dtype=bool)
    w, h = image_size
    return (b[:, 0] <= 1) | (b[:, 1] <= 1) | (b[:, 2] >= w - 2) | (b[:, 3] >= h - 2)


def analyse(cands: Sequence[np.ndarray], cfg: "TrackerConfig",
            image_size: Optional[tuple[int, int]] = None) -> Pass1:
    """Run pass 1: link, estimate camera motion, measure local motion and static flags.

    image_size: optional (width, height); boxes cut by the border are then left out of the
    motion and shape measurements (a person entering the view changes box, not place).
    """
    tracklets = link(cands, cfg)
    links = _links_per_frame(cands, tracklets)
    camera = np.zeros((len(cands), 2))
    for t, disp in enumerate(links):
        if len(disp) >= 3:
            camera[t] = np.median(np.stack(list(disp.values())), axis=0)
    static = [np.zeros(len(b), dtype=bool) for b in cands]
    support = [np.zeros(len(b), dtype=np.int64) for b in cands]
    motion = [np.zeros(len(b)) for b in cands]
    owner = [np.full(len(b), -1, dtype=np.int64) for b in cands]
    half = cfg.static_window // 2
    for k, tr in enumerate(tracklets):
        times = np.array([t for t, _ in tr.members])
        b = np.stack([cands[t][j] for t, j in tr.members])
        cut = _touches_border(b, image_size)
        # Displacement relative to the scene: minus the median move of the OTHER tracklets in
        # that frame (camera motion); with fewer than two others the camera is taken as still
        # (one other person is no scene: it may be the diver).
        rel = np.zeros((len(times), 2))
        for i in range(1, len(times)):
            if times[i] != times[i - 1] + 1 or cut[i] or cut[i - 1]:
                continue
            others = [v for kk, v in links[times[i]].items() if kk != k]
            ref = np.median(np.stack(others), axis=0) if len(others) >= 2 else np.zeros(2)
            rel[i] = links[times[i]][k] - ref
        pos = np.cumsum(rel, axis=0)
        d = diags(b)
        local = np.zeros(len(times))
        for i in range(len(times)):
            w = slice(np.searchsorted(times, times[i] - half), np.searchsorted(times, times[i] + half, side="right"))
            local[i] = float(np.hypot(*np.ptp(pos[w], axis=0))) / d[i]
        keep = ~cut if (~cut).any() else np.ones(len(cut), dtype=bool)
        aspect = np.log(np.maximum(b[keep, 3] - b[keep, 1], 1.0) / np.maximum(b[keep, 2] - b[keep, 0], 1.0))
        tr.mobility = float(np.percentile(local, 90))
        tr.aspect_change = float(np.std(aspect))
        long_enough = len(times) >= cfg.static_min_frames
        # A tracklet that is still most of the time is still throughout: where a diver flies
        # over a spectator their boxes mix for a frame or two and the local measure is spoiled.
        still_tracklet = long_enough and float(np.percentile(local, 80)) < cfg.static_motion
        for i, (t, j) in enumerate(tr.members):
            support[t][j] = len(times)
            owner[t][j] = k
            motion[t][j] = local[i]
            static[t][j] = still_tracklet
    return Pass1(tracklets, camera, static, support, motion, owner)
