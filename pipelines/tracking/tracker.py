"""The refinement engine: nearest neighbour (Eq. 25) with pass-1 tracklets, offline in two passes.

With ``linking`` off, :func:`track_diver` runs the core (:mod:`fdpose.pipelines.tracking.core`,
Eq. 25 alone plus the camera, velocity, gate and entry switches). Parameter names below are the
fields of :class:`~fdpose.pipelines.tracking.config.TrackerConfig` (each in one section).

Input: per frame t the detector's candidate boxes (:class:`fdpose.records.Boxes`), read as
``(K_t, 5)`` rows ``[x1, y1, x2, y2, conf]`` by the engine.
Output (:class:`TrackResult`): per frame the chosen diver box or none, and a decision
``init | matched | re-acquired | lost``.

**Pass 1** (:mod:`fdpose.pipelines.tracking.tracklets`) takes the camera's motion
(:mod:`fdpose.pipelines.tracking.camera`: from the pixels when the caller measured it, else a
vote of the boxes; broadcast cameras follow the diver, so spectators move in the image), links
candidates into short tracklets in scene coordinates and gives every candidate a *local
motion* (camera-compensated spread of
its tracklet over ``static_window`` frames, in box diagonals) and a *static* flag (its whole
tracklet is nearly always still). Spectators and judges stand still and upright; the diver
travels and rotates. Two links of a frame are exchanged when that lowers their summed cost by
more than ``link_swap_margin`` (the diver walking past a spectator right behind her on the
board: greedy linking crossed them). With ``split_still_after_flight``, a tracklet is cut
before a *still run* (members with local motion below ``static_motion``, at least
``still_after_frames`` measured) that follows flight motion (``flight_motion``) in it, the cut
placed where the boxes arrive at the run's place (:mod:`fdpose.pipelines.tracking.runon`):
the dive ends in the water, so a
box standing still after the flight is a spectator the link ran on to (a fast tilt, a false
box in the splash). Left whole, the spectator seen beside the diver excluded the tracklet's
diver part too (the still phase on the board, the take-off), or a seed frame landed on it.

**Seed.** With ``init_box`` the seed is that box at ``init_frame`` (replaced by the best
overlapping candidate when one has IoU >= ``init_iou``); it overrides everything below.
Otherwise the seed is chosen from the whole clip in two steps:

1. *Tracklet ranking.* Tracklets at least ``init_min_frames`` long are ranked by
   ``(mobility + aspect_weight * aspect_change) * presence`` (mobility: 90th percentile of its
   scene-relative local motion; aspect change: std of log aspect ratio, the diver rotates;
   presence: ``min(1, length / (init_presence * T))``, the diver is in view for most of the
   clip; optionally minus ``board_weight * distance to board_xy``), those mostly uncut by the
   border (``cut_share <= 0.5``) and not static first. Within a tracklet the seed frame is one
   where no other candidate lies within ``seed_isolation`` diagonals and the tracklet moves,
   the most confident such frame, members within ``seed_end_margin`` members of the
   tracklet's ends last (pass 1 may have linked a tracklet's end on to another person
   during a fast camera tilt). Detector confidence plays no part in the ranking.
2. *Whole-clip hypotheses.* The ``seed_hypotheses`` best-ranked tracklets each seed a full
   pass 2 (below), and the track with the largest :func:`track_value` wins (the first-ranked
   one's value counts ``seed_keep`` times, so near-ties keep the ranking's choice). With
   ``seed_still_hypothesis`` the best-ranked static tracklet that travels less than
   ``still_max_travel`` diagonals (standing, not an official walking slowly) seeds one more hypothesis: in a
   short platform clip the diver stands on the board for most of it and the flight breaks up
   into lone boxes, so the diver's longest tracklet is static and ranked behind every short
   tracklet, spectators standing still but too briefly in view to be static. A track's
   value is ``best segment value * presence * (1 - cut share)``: a *segment* is the set of
   its frames on one pass-1 tracklet, its value the segment's scene travel (in its median
   diagonal) plus ``aspect_weight`` times its aspect change; presence and cut share are
   those of the whole track. A tracklet ranking can be fooled in one clip (a judge cut by the
   border whose fidgeting reads as motion while the camera, following the diver, has too few
   votes; the diver's own tracklets broken up by misses); a whole track from a diver seed
   travels the dive's height and rotates, a judge's track does neither. Segments, not the
   whole track, so a track that runs on from the diver onto a spectator gains nothing.

**Pass 2 - nearest neighbour (Eq. 25)**, in scene coordinates (camera pan and zoom removed). From the
seed frame the tracker runs forward to the end and backward to the start. With ``prev`` the
last diver box, ``gap`` the frames since it, ``diag`` its diagonal and ``pred`` its scene
centre moved by the smoothed scene velocity (for at most ``velocity_horizon`` frames), a
candidate c is scored

    D      = min(|centre(c) - pred|, |centre(c) - centre(prev)|) / diag
    r      = diag(c) / diag
    score  = conf_weight * conf - D - size_weight * |log r| - static_penalty * static(c)
             + continuity_bonus * same_tracklet(c)

(``same_tracklet``: c continues the pass-1 tracklet of the last diver box)

and it is admissible only if

- ``conf >= min_conf``;
- ``D <= min(max_jump + jump_growth * (gap - 1), max_jump_cap)``; c must be on a tracklet of
  at least ``confirm_frames`` unless ``D <= reach`` and ``gap <= confirm_gap`` (for a box
  cut by the image border: ``gap == 1``, or the last diver box was cut too), with ``reach =
  max_jump``, or ``static_gate`` while the last diver box is on a static tracklet. The
  diver's tracklet breaks up during fast rotation and entry; a lone detection right where
  the diver was a few frames ago is the diver, a lone detection far away or after a long
  miss is not trusted, nor is a person half in view at the border (its centre jumps as it
  enters), nor a lone box most of a body away from a diver standing still on the board (a
  still diver moves off by continuous motion, which pass 1 links into a tracklet);
  *fall chains* (``fall_link_dist``, :mod:`fdpose.pipelines.tracking.fall`): pieces of
  tracklets shorter than ``confirm_frames`` (not static, not cut by the border) are linked
  again, each step at most ``fall_link_dist`` diagonals per frame of gap, pointing downwards
  in the scene (downward share ``>= fall_cos``) and within the size gate; a piece counts with
  its chain's length for this rule. At the end of a 10 m dive the diver falls about a diagonal
  a frame while the camera tilts: pass 1 links a newborn tracklet only within the still gate
  (its velocity is unknown), so her boxes after a miss stay single, and they were refused
  after more than ``confirm_gap`` missed frames. Clutter and spectators swept through a tilt
  do not fall frame after frame (a wider gate in pass 1 itself spoiled seeds and camera-less
  stretches elsewhere);
- ``max(r, 1/r) <= max_size_ratio * (1 + size_ratio_growth * (gap - 1))`` (at most
  ``cut_size_ratio`` instead when c grows from a last box cut by the image border, or shrinks
  into a cut c: a cut box is smaller than its person, and a diver standing whole on the board
  was lost behind the cut box of the flight's top), or, *entering the
  water*, ``r < 1``, ``1/r <= entry_size_ratio`` and c's scene centre lies within half the last
  box's width of the last centre or of the prediction horizontally: the box shrinks fast as
  the diver goes under, in the diver's own column (forward in time only: backwards the
  diver's box grows out of the water, and a shrink there was a spectator cut by the border
  above the diver, after which the track was lost for the rest of the clip);
- *image re-acquisition* (``reacquire``, :mod:`fdpose.pipelines.tracking.reacquire`): while a
  camera step since the last diver box was not measured (and, forward, before the track has
  fallen ``entry_min_drop``), a candidate that no known person explains is also admissible,
  confirmation and jump gate aside, within ``image_reach`` of the last box's image diagonals
  from its *image* centre, at most ``reacquire_max_gap`` frames on: the camera follows the
  diver, and the scene place of a frame after an unmeasured tilt is off by the tilt;
- c's tracklet is not *excluded*: a tracklet seen beside the diver's (another candidate in a
  frame where the track steadily continued its own tracklet) in at least ``exclude_after``
  frames is another person and never continues the track (same tracklet excepted). A
  candidate with ``inside_share`` of its area inside the diver's box is not beside him (a
  partial box of the diver, which the SSD gives on small frames).
  *Head leave*: when c lies after its tracklet's still head (see the hand-over below) and
  more than ``head_leave_gate`` of its diagonals from the head's median scene centre, only
  the frames seen beside the diver after the head count. A person standing beside the diver
  (a spectator by the board, in the splash zone) whose tracklet pass 1 then linked on to the
  diver flying past was otherwise excluded for the rest of the clip, the diver's flight with
  it; near the head's place the whole count holds (a spectator whose boxes only jitter under
  a camera jerk);
- *short still tracklets* (``still_short_static``): a candidate of a tracklet that is not
  static but still wherever measured (at least ``still_after_frames`` measured members,
  mobility below ``static_motion``) passes the static check below like a static one, unless
  it shrinks in the diver's column (the entry rule). A fast tilt after the take-off brings
  spectators into view for a few frames, too few to be static; the diver, missed meanwhile
  or detected as lone boxes in a fast fall, flies on, and the track was lost on the
  more confident spectator for the rest of the dive. The still-phase hand-over below holds
  for such a tracklet as for a static one (the diver standing on the board in a short clip);
- for static candidates of another tracklet: ``D <= static_gate`` with a scene speed of the
  track of at most ``static_speed`` diagonals per frame (x ``lost_speed_decay ** (gap - 1)``
  while missed), or c lies within ``static_gate / 2`` of the velocity prediction (the
  diver's still phase linked as a separate tracklet). A diver in flight never turns into a
  seated judge.
- **still-phase hand-over** (backward in time only): the static restriction is lifted for the
  *last* candidate of a static tracklet that ends before the track's current tracklet begins
  (no frame in common), and for every candidate of the *still head* of a static tracklet
  (:func:`fdpose.pipelines.tracking.still.still_head_end`: its leading run of members with
  measured local motion below ``static_motion``, at least ``still_after_frames`` measured,
  followed by the tracklet's end or by a member moving at ``flight_motion`` or more) when that
  head shares fewer than ``exclude_after`` frames with the track's current tracklet (for the
  last candidate: the whole tracklet does; a false detection that pass 1 linked on as the
  first member of the flight's tracklet may share a frame with the still phase). Before
  take-off the diver stands still on the board, and pass 1 links that still phase as a
  static tracklet of its own, which under a fast camera tilt may run on after take-off onto
  the flight or a spectator streaming through the view; spectators and judges stay put, so
  their still heads overlap the diver's flight in time and never qualify. For the still head,
  exclusion counts only frames of the head (seen beside the diver *after* it, the tracklet is
  the diver's run-on or a duplicate box of the flight, no evidence of another person). The
  other gates (jump, size, confirmation) still apply.
- **no return to stillness after the flight** (forward in time only): once the track has
  flown (a chosen candidate with measured local motion >= ``flight_motion``), a candidate on
  the *still tail* of its tracklet (the final run of members whose measured local motion is
  below ``static_motion``, holding at least ``still_after_frames`` measured members) is
  refused, same tracklet included. The
  dive ends in the water: after the entry the diver is gone, and a still box where the track
  went is a spectator the link of pass 1 drifted onto; the frame is ``lost`` instead.

The best admissible candidate is the diver; when none is admissible the frame is ``lost``,
the state is held and the gate grows until a candidate returns (``re-acquired``). Frames
before the seed are tracked by the same rule backwards in time.

**Lone false detection** (:mod:`fdpose.pipelines.tracking.pass2`). The *anchor* is the state
after the last chosen candidate on a tracklet of at least ``confirm_frames``. When exactly one
unconfirmed pick lies between the anchor and frame t and no candidate is admissible from it,
the candidates of the anchor's own tracklet are scored from the anchor (same rules, the jump
gate without ``jump_growth``), with ``resume_other_tracklets`` also those of any tracklet that
is not static (the diver's tracklet may end with the false box, pass 1 linking the diver's next
boxes as a new tracklet after a long miss or a fast fall; a static one is a spectator); if one
is admissible, the lone pick is undone (``lost``) and
the track resumes from the anchor (``re-acquired``). A false box near the diver (a
``min_conf`` clutter box, the shrink of the entry rule taken mid-flight) otherwise moved the
state off the diver, whose next boxes then failed the jump or size gate for the rest of the
clip. Two or more consecutive picks are kept: the entry's lone shrinking boxes are such a run,
after which pass 1 often links the diver's tracklet on to a spectator.

**Entry end** (:mod:`fdpose.pipelines.tracking.entry`, forward in time): once the track has
fallen ``entry_min_drop`` diagonals below its highest point, is falling and then finds no
admissible candidate for ``entry_lost_frames`` frames, the diver is under water and the pass
stops: no later frame gets a box (people in the foreground or at the poolside, a replay). With
``entry_live_first``, seed hypotheses seeded after another hypothesis' entry are dropped, when that
hypothesis' track value is at least ``entry_live_min_share`` of the best one's.

**Short-gap fill** (:mod:`fdpose.pipelines.tracking.fill`, off by default): after pass 2, the
frames between two boxes of the chosen track at most ``fill_max_gap`` apart get a box
interpolated in the scene where the camera was measured over the gap, in the image where not
(decision ``filled``, candidate row -1).

**Kept-box check** (:mod:`fdpose.pipelines.tracking.verify`, run by
:func:`~fdpose.pipelines.tracking.redetect.track_with_redetect` where frames and a one-image detector
exist): after the track is final, a kept box with a second candidate on the same person (IoU >=
``same_iou``), or alone and thinner than the detector's anchors (``thin_aspect``), is replaced by
the detector's crop-verified box; who is tracked never changes, only his box.

The tuning history of these rules (what each changed, measured on synth worlds) is in
``docs/tracker.md``; the ablation there measures each refinement switched off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from fdpose.errors import ValidationError
from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking.camera import CameraMotion, clip_motion
from fdpose.pipelines.tracking.config import TrackerConfig
from fdpose.pipelines.tracking.core import core_seed, nearest_neighbour
from fdpose.pipelines.tracking.fill import fill_gaps
from fdpose.pipelines.tracking.pass2 import TrackDecision, pass2, pass2_context
from fdpose.pipelines.tracking.seed import choose_seeds, track_value
from fdpose.pipelines.tracking.tracklets import Pass1, analyse, centres, diags
from fdpose.records import Boxes

log = logging.getLogger(__name__)

__all__ = ["TrackDecision", "TrackerConfig", "TrackResult", "track_diver", "track_value", "iou",
           "synchronised_partner"]


@dataclass
class TrackResult:
    """Per-frame outcome of :func:`track_diver`.

    boxes: (T, 5) float64 ``[x1, y1, x2, y2, score]``, NaN rows where no diver box was chosen.
    decisions: T :class:`TrackDecision` values.
    candidate_index: (T,) int, row of the chosen candidate in that frame's array (-1: none or
    the user's ``init_box`` itself).
    seed_frame: where tracking started (None: no candidate in the whole clip).
    static: per frame a (K_t,) bool array, the candidates judged static by pass 1.
    """

    boxes: np.ndarray
    decisions: list[TrackDecision]
    candidate_index: np.ndarray
    seed_frame: Optional[int]
    static: list[np.ndarray] = field(default_factory=list)
    pass1: Optional[Pass1] = None

    @property
    def found(self) -> bool:
        """True when a diver was found in at least one frame."""
        return self.seed_frame is not None

    def box(self, t: int) -> Optional[np.ndarray]:
        """(5,) box of frame t, or None."""
        row = self.boxes[t]
        return None if np.isnan(row[0]) else row.copy()

    def summary(self) -> dict[str, int]:
        """Counts per decision plus frames with a box."""
        out = {d.value: 0 for d in TrackDecision}
        for d in self.decisions:
            out[d.value] += 1
        out["tracked_frames"] = int(np.sum(~np.isnan(self.boxes[:, 0])))
        return out


def track_diver(candidates: Sequence[Boxes | np.ndarray], config: Optional[TrackerConfig] = None, *,
                init_box: Optional[Sequence[float]] = None, init_frame: int = 0,
                board_xy: Optional[Sequence[float]] = None,
                image_size: Optional[tuple[int, int]] = None,
                camera: Optional[CameraMotion] = None) -> TrackResult:
    """Choose the diver's box in every frame of a clip (see the module docstring for the rule).

    candidates: T :class:`~fdpose.records.Boxes` (the detectors' output), or ``(K_t, 5)`` rows
    ``[x1, y1, x2, y2, conf]``; the engine works on the rows.
    init_box: optional ``[x1, y1, x2, y2]`` of the diver at ``init_frame`` (the ``--init-box``).
    board_xy: optional ``(x, y)`` pixel near the board/platform, a hint for the seed choice.
    image_size: optional ``(width, height)``; boxes cut by the border are then left out of
    pass 1's motion and shape measurements.
    camera: the clip's camera motion measured from its pixels
    (:func:`fdpose.pipelines.tracking.camera.motion_from_frames`), used when the config's
    camera source is ``pixels``; without it the box vote stands in.
    """
    config = config or TrackerConfig()
    cfg = config.flat()
    cands = [Boxes.from_rows(b, f"candidates of frame {t}").rows() for t, b in enumerate(candidates)]
    n = len(cands)
    board = None if board_xy is None else np.asarray(board_xy, dtype=np.float64).reshape(2)
    if init_box is not None and not 0 <= init_frame < n:
        raise ValidationError(f"init frame {init_frame} outside the clip (0..{n - 1})")
    if not config.linking.enabled:  # the core engine (Eq. 25 alone, plus the switches it honours)
        cam = clip_motion(cands, cfg, image_size, camera)
        user = None
        if init_box is not None:
            user = Boxes.from_rows(list(init_box)[:4], "init box").rows()[0]
            user[4] = 1.0
        seed = core_seed(cands, cfg, user, init_frame, board)
        if seed is None:
            log.info("no candidate boxes in any of %d frames: no diver", n)
            return TrackResult(np.full((n, 5), np.nan), [TrackDecision.LOST] * n, np.full(n, -1, dtype=np.int64),
                               None, [np.zeros(len(c), dtype=bool) for c in cands], None)
        boxes, rows, decisions = nearest_neighbour(cands, cfg, *seed, cam)
        _fill(boxes, decisions, cam, config)
        return TrackResult(boxes, decisions, rows, seed[0], [np.zeros(len(c), dtype=bool) for c in cands], None)
    p1 = analyse(cands, cfg, image_size, camera)

    if init_box is not None:
        user = Boxes.from_rows(list(init_box)[:4], "init box").rows()[0]
        user[4] = 1.0  # a user-given box is certain
        seed_t, seed_row = init_frame, -1
        if len(cands[seed_t]):
            overlap = iou(user, cands[seed_t])
            if overlap.max() >= cfg.init_iou:
                seed_row = int(np.argmax(overlap))
        seed_box = cands[seed_t][seed_row] if seed_row >= 0 else user
        boxes, rows, decisions = pass2(cands, p1, cfg, seed_t, seed_row, seed_box, image_size)
    else:
        seeds = choose_seeds(cands, p1, cfg, board)
        if not seeds:
            log.info("no candidate boxes in any of %d frames: no diver", n)
            return TrackResult(np.full((n, 5), np.nan), [TrackDecision.LOST] * n, np.full(n, -1, dtype=np.int64),
                               None, p1.static, p1)
        hyps: list[tuple[float, tuple[int, int], tuple[np.ndarray, np.ndarray, list[TrackDecision]]]] = []
        ends: list[Optional[int]] = []
        ctx = pass2_context(cands, p1, cfg, image_size)  # shared by the seed hypotheses
        for rank, (t, j) in enumerate(seeds):
            info: dict = {}
            run = pass2(cands, p1, cfg, t, j, cands[t][j], image_size, ctx, info)
            value = track_value(run[0], run[1], p1, cfg, image_size)
            # the tracklet ranking's first choice keeps ties (and near-ties)
            if rank == 0:
                value *= cfg.seed_keep
            log.debug("seed hypothesis %d at frame %d row %d: track value %.3f", rank, t, j, value)
            hyps.append((value, (t, j), run))
            ends.append(info.get("entry_end"))
        pool = hyps
        if cfg.entry_live_first:
            # (the live dive comes first: a hypothesis seeded after another one's entry into the water
            # follows a replay of the dive; only entries of diver-like tracks count, see EntryConfig)
            top = max(h[0] for h in hyps)
            live_ends = [e for h, e in zip(hyps, ends) if e is not None and h[0] >= cfg.entry_live_min_share * top]
            if live_ends:
                pool = [h for h in hyps if h[1][0] < min(live_ends)] or hyps
        best = max(pool, key=lambda h: h[0])
        (seed_t, seed_row), (boxes, rows, decisions) = best[1], best[2]
    log.debug("tracked %d/%d frames from seed frame %d", int(np.sum(rows >= 0)), n, seed_t)
    _fill(boxes, decisions, p1.cam if p1.cam is not None else CameraMotion.from_steps(np.ones(n), p1.camera,
                                                                                    p1.camera_known), config)
    return TrackResult(boxes, decisions, rows, seed_t, p1.static, p1)


def _fill(boxes: np.ndarray, decisions: list[TrackDecision], cam: CameraMotion, config: TrackerConfig) -> None:
    """The short-gap fill (:mod:`fdpose.pipelines.tracking.fill`) on the chosen track, in place."""
    for t in fill_gaps(boxes, cam, config.fill, config.entry.entry_min_drop):
        decisions[t] = TrackDecision.FILLED


def synchronised_partner(candidates: Sequence[Boxes | np.ndarray], result: TrackResult,
                         config: Optional[TrackerConfig] = None) -> Optional[int]:
    """Frames with a second diver beside the tracked one, when the clip is a synchronised dive.

    A synchronised clip shows two divers doing the same dive side by side. A candidate is a
    possible partner when it belongs to another pass-1 tracklet that is not static
    (``mobility >= static_motion``: it moves in the scene, as spectators and judges do not), lies
    within ``sync_distance`` diagonals of the diver's box and has a diagonal ratio below
    ``sync_size_ratio``. A partner doing the same dive at the same time keeps its place beside
    the diver, while officials, coaches and the other people a camera passes are beside the diver
    now here, now there: a frame counts only when a possible partner lies within
    ``sync_offset_tolerance`` diagonals of the median offset (partner centre - diver centre, in
    the diver's diagonals) of the nearest possible partners. And the partner must be beside the
    diver while the dive moves: over the counted frames the diver's scene centre must spread at
    least ``sync_min_travel`` diagonals (a spectator in the stand behind a diver who stands on the
    board keeps a steady place beside him too, until he takes off). The clip is synchronised when
    the counted frames make at least ``sync_share`` of the tracked frames (and at least
    ``confirm_frames``); returns their count then, else None.
    """
    cfg = (config or TrackerConfig()).flat()
    p1 = result.pass1
    if p1 is None or not result.found:
        return None
    mobile = np.array([(not tr.static) and tr.mobility >= cfg.static_motion for tr in p1.tracklets], dtype=bool)
    tracked = 0
    offsets: list[np.ndarray] = []  # per frame with possible partners: their (k, 2) offsets in diver diagonals
    diver_scene: list[np.ndarray] = []  # per such frame: the diver's (2,) scene centre, px
    diver_diag: list[float] = []  # and its box diagonal, px
    for t, cands in enumerate(candidates):
        row = int(result.candidate_index[t])
        if row < 0:
            continue
        tracked += 1
        rows = np.asarray(cands)
        box = rows[row:row + 1]
        others = np.delete(np.arange(len(rows)), row)
        if not len(others):
            continue
        owner = p1.owner[t][others]
        ok = mobile[owner] & (owner != p1.owner[t][row])
        diag = float(diags(box)[0])
        offset = (centres(rows[others]) - centres(box)) / diag  # (k, 2)
        ratio = diags(rows[others]) / diag
        ok &= (np.linalg.norm(offset, axis=1) <= cfg.sync_distance) & (np.maximum(ratio, 1 / ratio) <= cfg.sync_size_ratio)
        if ok.any():
            offsets.append(offset[ok])
            diver_scene.append(np.asarray(p1.scene[t][row], dtype=np.float64))
            diver_diag.append(diag)
    if not tracked or not offsets:
        return None
    nearest = np.array([o[np.argmin(np.linalg.norm(o, axis=1))] for o in offsets])  # (F, 2)
    place = np.median(nearest, axis=0)  # where a partner would keep beside the diver
    kept = np.array([(np.linalg.norm(o - place, axis=1) <= cfg.sync_offset_tolerance).any() for o in offsets])
    paired = int(kept.sum())
    # one yardstick for the whole spread (a crouching diver's own diagonal changes frame to frame)
    travel = (float(np.linalg.norm(np.ptp(np.array(diver_scene)[kept], axis=0)))
              / float(np.median(np.array(diver_diag)[kept]))) if paired else 0.0
    if paired >= max(cfg.sync_share * tracked, cfg.confirm_frames) and travel >= cfg.sync_min_travel:
        return paired
    return None
