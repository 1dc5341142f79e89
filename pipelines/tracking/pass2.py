"""Pass 2 of the diver tracker: nearest neighbour (Eq. 25) from one seed, forward then backward.

Helpers for :mod:`fdpose.pipelines.tracking.tracker` (parameters: the flat view of its
``TrackerConfig``; rules in its docstring). The candidate filters live with their refinement:
:mod:`.gates`, :mod:`.people`, :mod:`.still` (hand-over, stillness after the flight),
:mod:`.fall`, :mod:`.entry`. Two refinements are small enough to stay here: ``velocity`` (the
distance is also measured to a constant-velocity prediction: the diver's flight is smooth over
a few frames) and ``recovery`` (a single unconfirmed pick after which nothing is admissible was
a false detection: the track resumes from the last confirmed box).
"""

from __future__ import annotations

import copy
import dataclasses
import enum
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import intersection
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.entry import EntryWatch
from fdpose.pipelines.tracking.fall import fall_support
from fdpose.pipelines.tracking.gates import entering_water, gate_mask
from fdpose.pipelines.tracking.people import person_mask
from fdpose.pipelines.tracking.reacquire import image_reacquire
from fdpose.pipelines.tracking.still import still_after, still_head_end, still_head_place
from fdpose.pipelines.tracking.tracklets import Pass1, centres, diags, touches_border

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["Pass2Context", "TrackDecision", "pass2", "pass2_context"]

class TrackDecision(str, enum.Enum):
    """What the tracker did in a frame (stored in the per-clip JSON as ``track``)."""

    INIT = "init"
    MATCHED = "matched"
    REACQUIRED = "re-acquired"
    LOST = "lost"
    FILLED = "filled"  #: a box interpolated between two track boxes (:mod:`.fill`), no detection


# ---- pass 2: nearest neighbour ------------------------------------------------------------

class _State:
    """The diver's last box, frame and scene centre, and its smoothed velocity in the scene."""

    def __init__(self, box: np.ndarray, t: int, cam: CameraMotion) -> None:
        self.box = box
        self.t = t
        self.centre = cam.to_scene(centres(box[None]), t)[0]  # scene centre, px
        self.zoom = float(cam.scale[t])  # camera zoom at the last box (its scene size = size / zoom)
        self.vel = np.zeros(2)  # scene px/frame (camera motion removed)
        self.n_obs = 0
        self.tracklet = -1  # pass-1 tracklet of the last box (-1: a user box without detection)
        self.cut = False  # the last box is cut by the image border
        self.still = False  # the last box belongs to a static pass-1 tracklet


def _step(state: _State, t: int, boxes: np.ndarray, scene: np.ndarray, static: np.ndarray,
          support: np.ndarray, owner: np.ndarray, excluded: np.ndarray, cfg: "Params",
          handoff: Optional[np.ndarray] = None, barred: Optional[np.ndarray] = None,
          cut: Optional[np.ndarray] = None, forward: bool = True,
          still_short: Optional[np.ndarray] = None, zoom: float = 1.0, camera_known: bool = True,
          fallen: bool = False) -> int:
    """Row of the admissible candidate with the best Eq. 25 score in frame t, or -1.

    handoff / barred: optional (K,) bool, candidates exempt from the static restriction (the
    still-phase hand-over) and candidates refused outright (stillness after the flight).
    cut: optional (K,) bool, candidates cut by the image border.
    forward: the pass runs forward in time (the water entry's shrink is allowed only then).
    still_short: optional (K,) bool, candidates on short tracklets still wherever measured
    (static for the static check). zoom: the camera's zoom in frame t.
    camera_known / fallen: every camera step since the last box was measured / the track has
    fallen towards the water (:mod:`.reacquire`: the image rule is idle in either case).
    """
    if not len(boxes):
        return -1
    if cut is None:
        cut = np.zeros(len(boxes), dtype=bool)
    gap = abs(t - state.t)
    prev = state.box[None, :]
    diag = diags(prev)[0] / state.zoom  # (scene units, as the centres)
    c_prev = state.centre
    c = scene
    d = np.linalg.norm(c - c_prev, axis=1) / diag
    d_pred = np.full(len(boxes), np.inf)
    pred = c_prev  # scene centre predicted for frame t (the last one without a velocity)
    if cfg.use_velocity and state.n_obs:
        pred = c_prev + state.vel * min(gap, cfg.velocity_horizon)
        d_pred = np.linalg.norm(c - pred, axis=1) / diag
        d = np.minimum(d, d_pred)
    ratio = diags(boxes) / zoom / diag
    conf = boxes[:, 4]
    # Entering the water the diver's box shrinks fast but stays in the diver's column: a
    # smaller candidate whose scene centre lies within the last box's width (around the last
    # centre or the prediction) may shrink down to 1 / entry_size_ratio.
    half_w = (state.box[2] - state.box[0]) / 2 / state.zoom
    dx = np.abs(c[:, 0] - c_prev[0])
    if cfg.use_velocity and state.n_obs:
        dx = np.minimum(dx, np.abs(c[:, 0] - pred[0]))
    entering = entering_water(cfg, ratio, dx, half_w, forward)
    base_ok = gate_mask(cfg, gap, d, ratio, conf, cut, state.cut, entering, support, state.still)
    # A static candidate continues the track only where the track itself is (nearly) still in
    # the scene: the diver standing on the board, never a diver flying past a seated judge.
    speed = float(np.linalg.norm(state.vel)) / diag * cfg.lost_speed_decay ** (gap - 1) if state.n_obs else 0.0
    same = (owner == state.tracklet) & (state.tracklet >= 0)
    ok = base_ok & person_mask(cfg, d, d_pred, speed, same, excluded, static, still_short, entering)
    if handoff is not None:  # ... or the diver's still phase before take-off, met backwards in time
        ok |= base_ok & handoff
    # (the camera following the diver through an unmeasured tilt: near his last image place)
    known = static | excluded | (still_short if still_short is not None else False)
    image_ok, d_image = image_reacquire(cfg, state.box, gap, boxes, camera_known, fallen, known & ~same)
    if image_ok.any():
        ok |= image_ok
        d = np.where(image_ok, np.minimum(d, d_image), d)
    if barred is not None:
        ok &= ~barred
    if not ok.any():
        return -1
    score = (cfg.conf_weight * conf - d - cfg.size_weight * np.abs(np.log(ratio)) - cfg.static_penalty * static
             + cfg.continuity_bonus * same)
    score[~ok] = -np.inf
    return int(np.argmax(score))


def _update(state: _State, t: int, box: np.ndarray, tracklet: int, cam: CameraMotion,
            cfg: "Params") -> None:
    gap = max(abs(t - state.t), 1)
    centre = cam.to_scene(centres(box[None]), t)[0]
    v = (centre - state.centre) / gap  # sign-correct backwards in time too
    # A velocity beyond the jump gate is a mismatch artefact, not motion: clip it.
    vmax = cfg.max_jump * diags(box[None])[0] / float(cam.scale[t])
    speed = float(np.linalg.norm(v))
    if speed > vmax:
        v = v * (vmax / speed)
    a = cfg.velocity_smoothing if state.n_obs else 0.0
    state.vel = a * state.vel + (1 - a) * v
    state.n_obs += 1
    state.box, state.t, state.tracklet, state.centre = box, t, tracklet, centre
    state.zoom = float(cam.scale[t])


@dataclasses.dataclass(frozen=True)
class Pass2Context:
    """What pass 2 reads beside pass 1 and does not depend on the seed (built once per clip).

    still_tail: per frame (K_t,) bool, candidates of still tails after a flight (barred).
    head_end / head_place: (N,) last frame of each tracklet's still head (-1: none) and
    (N, 2) its median scene centre. present: (N, T) bool, tracklet k has a member in frame t.
    last_t: (N,) last frame of each tracklet. short_still: (N,) bool, short tracklets still
    wherever measured. support: per frame (K_t,) int, tracklet length or fall-chain length.
    """

    still_tail: list[np.ndarray]
    head_end: np.ndarray
    head_place: np.ndarray
    present: np.ndarray
    last_t: np.ndarray
    short_still: np.ndarray
    support: list[np.ndarray]


def _beside(boxes: np.ndarray, row: int, inside_share: float) -> np.ndarray:
    """(K,) bool: the candidates of a frame that count as people beside the diver's box ``row``
    (-1: none chosen, all count): every other one except those with at least ``inside_share`` of
    their area inside his box (a partial box of the diver, e.g. the SSD's upper-body duplicate)."""
    keep = np.ones(len(boxes), dtype=bool)
    if row < 0:
        return keep
    keep[row] = False
    b = boxes[:, :4]
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    return keep & (intersection(boxes[row, :4], b) / area < inside_share)


def pass2_context(cands: Sequence[np.ndarray], p1: Pass1, cfg: "Params",
                  image_size: Optional[tuple[int, int]]) -> Pass2Context:
    """The seed-independent inputs of :func:`pass2` (shared by every seed hypothesis)."""
    head_end = still_head_end(p1, cfg)
    present = np.zeros((len(p1.tracklets), len(cands)), dtype=bool)
    for k, tr in enumerate(p1.tracklets):
        present[k, tr.frames] = True
    # (a piece of a fall chain counts as confirmed by its chain's length: the diver's lone
    # boxes falling faster than pass 1 links, see tracking_fall)
    fall = fall_support(cands, p1, cfg, image_size)
    return Pass2Context(
        still_tail=still_after(p1, cfg), head_end=head_end, head_place=still_head_place(p1, head_end),
        present=present, last_t=np.array([tr.members[-1][0] for tr in p1.tracklets], dtype=np.int64),
        short_still=np.array([cfg.still_short_static and not tr.static and tr.measured >= cfg.still_after_frames
                              and tr.mobility < cfg.static_motion for tr in p1.tracklets], dtype=bool),
        support=[np.maximum(s, f) for s, f in zip(p1.support, fall)])


def pass2(cands: Sequence[np.ndarray], p1: Pass1, cfg: "Params", seed_t: int, seed_row: int,
          seed_box: np.ndarray, image_size: Optional[tuple[int, int]], ctx: Optional[Pass2Context] = None,
          info: Optional[dict] = None) -> tuple[np.ndarray, np.ndarray, list[TrackDecision]]:
    """Nearest-neighbour pass from one seed, forward then backward: (T, 5) boxes, (T,) rows, decisions.

    ctx: :func:`pass2_context` of the same clip (built here when None).
    """
    if ctx is None:
        ctx = pass2_context(cands, p1, cfg, image_size)
    n = len(cands)
    boxes = np.full((n, 5), np.nan)
    rows = np.full(n, -1, dtype=np.int64)
    decisions = [TrackDecision.LOST] * n
    cam = p1.cam if p1.cam is not None else CameraMotion.from_steps(np.ones(n), p1.camera, p1.camera_known)
    beside = np.zeros(len(p1.tracklets), dtype=np.int64)  # frames each tracklet was seen beside the diver
    beside_still = np.zeros(len(p1.tracklets), dtype=np.int64)  # ... within their still head
    still_tail, head_end, head_place = ctx.still_tail, ctx.head_end, ctx.head_place
    present, last_t, short_still = ctx.present, ctx.last_t, ctx.short_still

    def note_others(t: int, row: int) -> None:
        others = p1.owner[t][_beside(cands[t], row, cfg.inside_share)]
        others = others[others != (p1.owner[t][row] if row >= 0 else -2)]
        beside[others] += 1
        beside_still[others[head_end[others] >= t]] += 1
    resume = dataclasses.replace(cfg, jump_growth=0.0)  # a resumed anchor may not reach further

    boxes[seed_t], rows[seed_t], decisions[seed_t] = seed_box, seed_row, TrackDecision.INIT
    if seed_row >= 0:
        note_others(seed_t, seed_row)
    for order in (range(seed_t + 1, n), range(seed_t - 1, -1, -1)):
        state = _State(seed_box.copy(), seed_t, cam)
        state.tracklet = int(p1.owner[seed_t][seed_row]) if seed_row >= 0 else -1
        state.cut = bool(touches_border(seed_box[None], image_size)[0])
        state.still = bool(p1.static[seed_t][seed_row]) if seed_row >= 0 else False
        lost = False
        forward = order.step > 0
        flown = False
        anchor, detour = copy.copy(state), []  # the last confirmed state, unconfirmed picks since
        # (also with the entry end off: the image re-acquisition reads its "fallen")
        watch = EntryWatch(cfg) if forward else None
        if watch is not None:
            watch.chosen(state.centre, float(diags(seed_box[None])[0]) / state.zoom, state.vel)
        for t in order:
            owner = p1.owner[t]
            # (a box that left its tracklet's still head: only frames seen beside the diver
            # after the head count, see the head-leave rule)
            after = (head_end[owner] >= 0) & (t > head_end[owner])
            if len(owner):
                away = np.linalg.norm(p1.scene[t] - head_place[owner], axis=1) / (diags(cands[t]) / cam.scale[t])
                after &= np.nan_to_num(away, nan=0.0) > cfg.head_leave_gate
            excluded = np.where(after, beside[owner] - beside_still[owner], beside[owner]) >= cfg.exclude_after
            handoff = barred = None
            if forward:
                barred = still_tail[t] if flown else None
            elif state.tracklet >= 0 and len(owner):
                # (after its still head, pass 1 may have linked the diver's flight or duplicate
                # boxes onto the still tracklet: only being seen beside the diver during the
                # still head marks it as another person)
                # (frames shared with the track's current tracklet: before it, or at most a
                # frame beside its first member, which may be a false detection pass 1 linked on)
                end, mine = head_end[owner], present[state.tracklet]
                with_head = np.array([(present[k, :e + 1] & mine[:e + 1]).sum() for k, e in zip(owner, end)])
                with_all = (present[owner] & mine[None, :]).sum(axis=1)
                head = (end >= t) & (with_head < cfg.exclude_after) & (beside_still[owner] < cfg.exclude_after)
                last = (last_t[owner] == t) & (with_all < cfg.exclude_after) & ~excluded
                # (a short still tracklet as a static one: the still phase of a short clip)
                handoff = (p1.static[t] | short_still[owner]) & (head | last)
            cut = touches_border(cands[t], image_size)
            fallen = watch is not None and watch.fallen
            j = _step(state, t, cands[t], p1.scene[t], p1.static[t], ctx.support[t], owner, excluded, cfg,
                      handoff, barred, cut, forward, short_still[owner], float(cam.scale[t]),
                      cam.steps_known(min(state.t, t), max(state.t, t)), fallen)
            if cfg.resume and j < 0 and len(detour) == 1 and anchor.tracklet >= 0:
                # (the detour: unconfirmed picks that the anchor's tracklet outlives were false
                # detections; resume from the anchor on its own tracklet)
                # (... or on a tracklet that is not static: the diver's next lone box, after a
                # false box that the diver's tracklet did not outlive; a static one is a spectator)
                off = (owner != anchor.tracklet) & (p1.static[t] | (not cfg.resume_other_tracklets))
                j = _step(anchor, t, cands[t], p1.scene[t], p1.static[t], p1.support[t], owner, excluded, resume,
                          handoff, off if barred is None else (barred | off), cut, forward, short_still[owner],
                          float(cam.scale[t]), cam.steps_known(min(anchor.t, t), max(anchor.t, t)), fallen)
                if j >= 0:
                    for u in detour:
                        boxes[u], rows[u], decisions[u] = np.nan, -1, TrackDecision.LOST
                    state, detour, lost = copy.copy(anchor), [], True
            if j < 0:
                lost = True
                if watch is not None and watch.missed(t):
                    if info is not None:
                        info["entry_end"] = watch.end_frame
                    break  # (the diver entered the water: nobody later is the diver)
                continue
            if p1.owner[t][j] == state.tracklet:  # a steady track: its neighbours are other people
                note_others(t, j)
            boxes[t], rows[t] = cands[t][j], j
            decisions[t] = TrackDecision.REACQUIRED if lost else TrackDecision.MATCHED
            lost = False
            _update(state, t, cands[t][j], int(p1.owner[t][j]), cam, cfg)
            if watch is not None:
                watch.chosen(state.centre, float(diags(cands[t][j][None])[0]) / state.zoom, state.vel)
            state.cut = bool(cut[j])
            state.still = bool(p1.static[t][j])
            flown |= bool(p1.measured[t][j] and p1.motion[t][j] >= cfg.flight_motion)
            if p1.support[t][j] >= cfg.confirm_frames:
                anchor, detour = copy.copy(state), []
            else:
                detour.append(t)
    return boxes, rows, decisions
