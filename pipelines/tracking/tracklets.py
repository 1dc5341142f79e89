"""Pass 1 of the diver tracker (the ``linking`` refinement): scene-coordinate tracklets.

Real-world assumption: a person's boxes in consecutive frames lie close together once the
camera's motion is removed, and keep their shape. Helpers for
:mod:`fdpose.pipelines.tracking.tracker` (parameters: the flat view of its ``TrackerConfig``);
the seed ranking that reads these tracklets is :mod:`fdpose.pipelines.tracking.seed`.

1. **Camera motion** (:mod:`fdpose.pipelines.tracking.camera`): from the pixels (pan and
   zoom) or by a vote of the boxes (pan only); unknown steps are taken as still.
2. **Scene coordinates.** A candidate's scene centre is its centre mapped back through the
   accumulated camera transform (``(centre - offset[t]) / scale[t]``), and distances are in
   scene diagonals (``diag / scale[t]``): constant for a spectator or judge, moving for a diver
   even when the camera keeps the diver still in the image.
3. **Linking.** Candidates are linked frame to frame, greedily on the distance between a
   candidate and the tracklet's constant-velocity prediction in scene coordinates (in box
   diagonals per frame of gap) plus ``link_shape_weight`` times the change of box shape,
   bridging up to ``link_max_gap`` missed frames. Shape matters when a diver flies over a
   seated spectator: the centres nearly coincide, the shapes do not. Greedy (cheapest pair
   first), then two links are exchanged when that lowers their summed cost by more than
   ``link_swap_margin``: where the diver walks past a spectator standing right behind her
   on the board, the cheapest pair can be the cross link (diver to spectator), which leaves
   the other a far worse one, and the two tracklets swapped people for the rest of the clip.
4. **Local motion.** The spread of a candidate's scene centres over a window of
   ``static_window`` frames of its tracklet, in its box diagonals: detector jitter for a
   spectator, large for a flying diver. A tracklet is *static* when it is at least
   ``static_min_frames`` long and the 80th percentile of its local motion is below
   ``static_motion`` (where a diver flies over a spectator the boxes mix for a frame or two
   and spoil the local measure, so a still tracklet is still throughout). A tracklet of the
   diver standing on the board is static too; pass 2 treats that case.
5. **Run-on cut** (``split_still_after_flight``, :mod:`fdpose.pipelines.tracking.runon`). A
   still run after flight motion in one tracklet is another person (the diver ends in the
   water): the tracklet is cut before it and both pieces are measured again (step 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import centres, diags  # noqa: F401 - re-exported for the tracker modules
from fdpose.pipelines.tracking.borders import anchored_displacement, cut_sides, touches_border  # noqa: F401
from fdpose.pipelines.tracking.camera import CameraMotion, clip_motion
from fdpose.pipelines.tracking.runon import runon_cuts

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params


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
    travel: largest distance between two of its scene centres, in its median diagonal.
    static: the tracklet stands still (see the module docstring, step 4).
    cut_share: share of its boxes cut by the image border.
    measured: members whose motion window holds a step with a known camera (motion evidence).
    """

    members: list[tuple[int, int]] = field(default_factory=list)
    mobility: float = 0.0
    aspect_change: float = 0.0
    travel: float = 0.0
    static: bool = False
    cut_share: float = 0.0
    measured: int = 0

    @property
    def frames(self) -> list[int]:
        return [t for t, _ in self.members]


@dataclass
class Pass1:
    """Everything pass 2 needs from pass 1.

    tracklets: all tracklets (singletons included).
    camera: (T, 2) image shift of the scene between frame t-1 and t, px (row 0 zero; at zoom 1).
    camera_known: (T,) bool, False where the step was not measured (taken as still).
    cam: the accumulated :class:`~fdpose.pipelines.tracking.camera.CameraMotion`.
    static / support / motion / owner: per frame, (K_t,) arrays over that frame's candidates:
    static flag, length of the candidate's tracklet, local motion in diagonals, index of the
    candidate's tracklet in ``tracklets``.
    measured: per frame (K_t,) bool, the candidate's local motion rests on at least one step with
    a known camera (False: its motion of 0 means "unknown", not "still").
    scene: per frame (K_t, 2) scene centres (through the accumulated camera transform).
    """

    tracklets: list[Tracklet]
    camera: np.ndarray
    camera_known: np.ndarray
    static: list[np.ndarray]
    support: list[np.ndarray]
    motion: list[np.ndarray]
    owner: list[np.ndarray]
    scene: list[np.ndarray]
    measured: list[np.ndarray] = field(default_factory=list)
    cam: Optional[CameraMotion] = None


def link(cands: Sequence[np.ndarray], scene: Sequence[np.ndarray], cfg: "Params",
         scale: Optional[np.ndarray] = None) -> list[Tracklet]:
    """Greedy frame-to-frame linking in scene coordinates (see the module docstring, step 3).

    scale: optional (T,) camera zoom per frame (distances and sizes in scene diagonals).
    """
    zoom = np.ones(len(cands)) if scale is None else scale
    tracklets: list[Tracklet] = []
    last: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # frame, box, scene centre, velocity
    for t, boxes in enumerate(cands):
        live = [k for k, (ft, _, _, _) in enumerate(last) if t - ft <= cfg.link_max_gap + 1]
        used_tr: set[int] = set()
        used_c: set[int] = set()
        if live and len(boxes):
            prev = np.stack([last[k][1] for k in live])
            prev_d = diags(prev) / zoom[[last[k][0] for k in live]]
            gaps = np.array([t - last[k][0] for k in live], dtype=float)
            pred = np.stack([last[k][2] + last[k][3] * (t - last[k][0]) for k in live])
            cost = np.linalg.norm(pred[:, None, :] - scene[t][None, :, :], axis=2)
            cost /= prev_d[:, None] * gaps[:, None]
            # A still person is linked within a tight gate, a moving one (the diver, who
            # accelerates) within a wider one: a miss beside a neighbour must not merge them.
            speed = np.array([np.linalg.norm(last[k][3]) for k in live]) / prev_d
            gate = np.minimum(cfg.link_dist_still + speed, cfg.link_dist)
            ratio = (diags(boxes)[None, :] / zoom[t]) / prev_d[:, None]
            cost[(cost > gate[:, None]) | (np.maximum(ratio, 1 / ratio) > cfg.max_size_ratio)] = np.inf
            cost += cfg.link_shape_weight * shape_change(prev, boxes)
            pairs: list[tuple[int, int]] = []
            for flat in np.argsort(cost, axis=None):
                i, j = (int(v) for v in np.unravel_index(flat, cost.shape))
                if not np.isfinite(cost[i, j]):
                    break
                if i in used_tr or j in used_c:
                    continue
                used_tr.add(i)
                used_c.add(j)
                pairs.append((i, j))
            # (two links exchanged where that is clearly cheaper: see the module docstring)
            changed = True
            while changed:
                changed = False
                for a in range(len(pairs)):
                    for b in range(a + 1, len(pairs)):
                        (i, j), (i2, j2) = pairs[a], pairs[b]
                        if cost[i, j2] + cost[i2, j] + cfg.link_swap_margin < cost[i, j] + cost[i2, j2]:
                            pairs[a], pairs[b] = (i, j2), (i2, j)
                            changed = True
            for i, j in pairs:
                k = live[i]
                tracklets[k].members.append((t, j))
                vel = (scene[t][j] - last[k][2]) / gaps[i]
                last[k] = (t, boxes[j], scene[t][j], vel)
        for j in range(len(boxes)):
            if j not in used_c:
                tracklets.append(Tracklet(members=[(t, j)]))
                last.append((t, boxes[j], scene[t][j], np.zeros(2)))
    return tracklets


def _local_motion(tr: Tracklet, cands: Sequence[np.ndarray], cam: CameraMotion,
                  image_size: Optional[tuple[int, int]], half: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 4 for one tracklet: per member local motion (diagonals) and its evidence flag, the
    scene-relative path (px), the boxes and their cut-by-border flags."""
    times = np.array(tr.frames)
    b = np.stack([cands[t][j] for t, j in tr.members])
    cut = touches_border(b, image_size)
    # Scene-relative path over links with a known camera only: where nobody else is in
    # view (or the boxes are cut) a move is no evidence of motion in the scene.
    step = np.zeros((len(times), 2))
    valid = np.zeros(len(times), dtype=bool)  # step i (from member i-1 to i) is measured
    for i in range(1, len(times)):
        t0, t1 = times[i - 1], times[i]
        if not cam.steps_known(t0, t1):
            continue
        disp, ok = anchored_displacement(b[i - 1:i], b[i:i + 1], image_size)
        if ok[0, 0]:
            step[i] = cam.scene_step(centres(b[i - 1:i])[0], disp[0, 0], t0, t1)
            valid[i] = True
    pos = np.cumsum(step, axis=0)
    d = diags(b) / cam.scale[times]  # (scene diagonals: a zoom changes no one's size)
    local = np.zeros(len(times))
    evidence = np.zeros(len(times), dtype=bool)  # its window holds a measured step
    for i in range(len(times)):
        lo, hi = np.searchsorted(times, times[i] - half), np.searchsorted(times, times[i] + half, side="right")
        if valid[lo + 1:hi].any():
            evidence[i] = True
            local[i] = float(np.hypot(*np.ptp(pos[lo:hi], axis=0))) / d[i]
    return local, evidence, pos, b, cut


def analyse(cands: Sequence[np.ndarray], cfg: "Params", image_size: Optional[tuple[int, int]] = None,
            camera: Optional[CameraMotion] = None) -> Pass1:
    """Run pass 1: camera shift, scene centres, tracklets, local motion and static flags.

    image_size: optional (width, height); boxes cut by the border are then left out of the
    camera vote and of the motion and shape measurements. camera: a measured camera motion
    (pixels), used when ``cfg.camera_source`` is ``pixels``.
    """
    cam = clip_motion(cands, cfg, image_size, camera)
    scene = [cam.to_scene(centres(b), t) if len(b) else np.zeros((0, 2)) for t, b in enumerate(cands)]
    tracklets = link(cands, scene, cfg, cam.scale)
    static = [np.zeros(len(b), dtype=bool) for b in cands]
    support = [np.zeros(len(b), dtype=np.int64) for b in cands]
    motion = [np.zeros(len(b)) for b in cands]
    owner = [np.full(len(b), -1, dtype=np.int64) for b in cands]
    measured = [np.zeros(len(b), dtype=bool) for b in cands]
    half = cfg.static_window // 2
    measures = [_local_motion(tr, cands, cam, image_size, half) for tr in tracklets]
    if cfg.split_still_after_flight:
        # (step 5: a still run after the flight is another person; measured again apart)
        pieces: list[Tracklet] = []
        piece_measures = []
        for tr, m in zip(tracklets, measures):
            cuts = runon_cuts(tr.members, m[0], m[1], scene, cands, cfg, cam.scale)
            if not cuts:  # uncut: its measures stand
                pieces.append(tr)
                piece_measures.append(m)
                continue
            bounds = [0, *cuts, len(tr.members)]
            for a, b in zip(bounds[:-1], bounds[1:]):
                pieces.append(Tracklet(members=tr.members[a:b]))
                piece_measures.append(_local_motion(pieces[-1], cands, cam, image_size, half))
        tracklets, measures = pieces, piece_measures
    for k, (tr, (local, evidence, pos, b, cut)) in enumerate(zip(tracklets, measures)):
        times = np.array(tr.frames)
        d = diags(b) / cam.scale[times]
        tr.cut_share = float(np.mean(cut))
        tr.measured = int(evidence.sum())
        if (~cut).any():
            aspect = np.log(np.maximum(b[~cut, 3] - b[~cut, 1], 1.0) / np.maximum(b[~cut, 2] - b[~cut, 0], 1.0))
            tr.aspect_change = float(np.std(aspect))
        if evidence.any():
            tr.mobility = float(np.percentile(local[evidence], 90))
            tr.travel = float(np.hypot(*np.ptp(pos, axis=0))) / float(np.median(d))
        tr.static = (tr.measured >= cfg.static_min_frames
                     and float(np.percentile(local[evidence], 80)) < cfg.static_motion)
        for i, (t, j) in enumerate(tr.members):
            support[t][j] = len(times)
            owner[t][j] = k
            motion[t][j] = local[i]
            static[t][j] = tr.static
            measured[t][j] = evidence[i]
    shift = np.diff(cam.offset, axis=0, prepend=np.zeros((1, 2))) if len(cands) else np.zeros((0, 2))
    return Pass1(tracklets, shift, cam.known.copy(), static, support, motion, owner, scene, measured, cam)
