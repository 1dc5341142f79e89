"""Tracker configuration: the Eq. 25 core plus one switchable section per refinement.

:class:`TrackerConfig` nests one frozen dataclass per refinement (``camera``, ``velocity``,
``gates``, ``linking``, ``people``, ``stills``, ``fall``, ``seed``, ``recovery``, ``entry``,
``reacquire``, ``fill``, ``redetect``, ``verify``, ``repeats``)
beside ``core`` (Eq. 25 itself) and ``sync`` (the synchronised-dive check). Every section has
``enabled``; the refinement's module (named in the section's docstring) states the real-world
assumption it relies on. :meth:`TrackerConfig.paper` switches every refinement off: the
tracker is then Eq. 25 alone (:mod:`fdpose.pipelines.tracking.core`).

Distances are in diagonals of the previous diver box, so every rule is resolution-free. Each
field's comment says what raising it does. The refinement engine reads a flat view
(:class:`~fdpose.pipelines.tracking.params.Params`, :meth:`TrackerConfig.flat`) in which a disabled section takes its "off"
values.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from fdpose.errors import ConfigError
from fdpose.pipelines.tracking.params import Params

__all__ = ["TrackerConfig", "Params", "CoreConfig", "CameraConfig", "VelocityConfig", "GateConfig",
           "LinkingConfig", "PeopleConfig", "StillConfig", "FallConfig", "SeedConfig", "RecoveryConfig",
           "EntryConfig", "ReacquireConfig", "FillConfig", "SyncConfig", "RedetectConfig", "VerifyConfig", "RepeatsConfig",
           "REFINEMENTS"]

OFF = math.inf


@dataclass(frozen=True)
class CoreConfig:
    """Eq. 25 (:mod:`fdpose.pipelines.tracking.core`): score = conf_weight * conf - D."""

    conf_weight: float = 1.0  #: raising it: confidence outweighs distance (D in diagonals)


@dataclass(frozen=True)
class CameraConfig:
    """Camera-motion compensation (:mod:`fdpose.pipelines.tracking.camera`).

    source: ``pixels`` (tracked image features, pan + zoom; the default; needs the clip's
    measured motion - the runner measures it while it decodes frames for the detector - else
    the vote stands in; steps the pixels cannot measure take the vote's shift) or ``boxes``
    (vote of the detections, pan only: it needs two people who agree, which a real detector
    with ~2 boxes a frame rarely gives). Measured in docs/tracker.md.
    """

    enabled: bool = True
    source: str = "pixels"
    cam_tol: float = 0.15  #: boxes vote: raising it lets sloppier box pairs agree on a shift
    cam_min_inliers: int = 2  #: boxes vote: raising it needs more agreeing boxes (more unknown frames)
    cam_size_ratio: float = 1.35  #: boxes vote: raising it lets boxes of more different size pair
    cam_fill_gap: int = 3  #: raising it bridges longer runs of unknown camera by interpolation
    max_features: int = 300  #: pixels: raising it tracks more corners (slower, steadier)
    ransac_px: float = 2.0  #: pixels: raising it accepts features farther from the fitted motion
    min_inliers: int = 20  #: pixels: raising it declares a cut (unknown motion) more often
    #: pixels: the px settings above (and the corner spacing, flow window and pyramid of
    #: :func:`~fdpose.pipelines.tracking.camera.pixel_step`) were tuned on frames of 522-573 px
    #: diagonal; a frame whose diagonal lies outside [work_min_diagonal, work_max_diagonal] is resized
    #: into that range for the measurement (docs/tracker_robustness.md). Widening the range leaves
    #: more frame sizes at their own scale.
    work_min_diagonal: float = 450.0
    work_max_diagonal: float = 600.0


@dataclass(frozen=True)
class VelocityConfig:
    """Constant-velocity prediction: the diver's flight is smooth over a few frames."""

    enabled: bool = True
    velocity_smoothing: float = 0.5  #: raising it: the velocity follows new motion more slowly
    velocity_horizon: int = 8  #: raising it extrapolates the prediction further through misses


@dataclass(frozen=True)
class GateConfig:
    """Jump, size and confidence gates: a body moves at most about a box diagonal per frame and
    keeps its size between frames (its box shrinks fast only when it enters the water)."""

    enabled: bool = True
    min_conf: float = 0.05  #: raising it ignores more low-confidence candidates
    max_jump: float = 1.0  #: raising it admits longer centre moves per frame (diagonals)
    jump_growth: float = 0.35  #: raising it widens the jump gate faster per missed frame
    max_jump_cap: float = 3.0  #: raising it lets the gate grow further after long misses
    max_size_ratio: float = 1.6  #: raising it admits larger size changes per frame
    size_ratio_growth: float = 0.1  #: raising it widens the size gate faster per missed frame
    cut_size_ratio: float = 3.0  #: raising it admits larger size changes to/from a border-cut box
    entry_size_ratio: float = 6.0  #: raising it admits a faster shrink in the diver's column
    size_weight: float = 0.5  #: raising it prefers candidates of the last box's size
    confirm_frames: int = 3  #: raising it needs longer tracklets to re-acquire or jump
    confirm_gap: int = 3  #: raising it lets lone boxes continue the track after longer misses


@dataclass(frozen=True)
class LinkingConfig:
    """Pass-1 tracklets (:mod:`fdpose.pipelines.tracking.tracklets`): a person's boxes in
    consecutive frames lie close in scene coordinates. Off: the core engine, frame to frame."""

    enabled: bool = True
    link_dist: float = 0.75  #: raising it links farther boxes (diagonals per frame of gap)
    link_dist_still: float = 0.3  #: raising it links still tracklets over longer moves
    link_max_gap: int = 3  #: raising it bridges longer misses inside a tracklet
    link_shape_weight: float = 0.5  #: raising it separates boxes of different shape more
    link_swap_margin: float = 0.1  #: raising it exchanges crossed links less often (inf: never)
    continuity_bonus: float = 0.2  #: raising it prefers the candidate on the track's tracklet


@dataclass(frozen=True)
class PeopleConfig:
    """Other people (:mod:`fdpose.pipelines.tracking.pass2`): spectators, judges and officials
    stand or sit nearly still, and a person seen beside the diver is someone else."""

    enabled: bool = True
    static_window: int = 9  #: raising it measures local motion over more frames
    static_motion: float = 0.35  #: raising it calls faster-moving tracklets static
    static_min_frames: int = 8  #: raising it needs longer tracklets before one is static
    static_gate: float = 0.3  #: raising it lets static candidates continue a track from farther
    static_speed: float = 0.1  #: raising it lets static candidates continue faster tracks
    lost_speed_decay: float = 1.0  #: lowering it forgets the track's speed during misses
    static_penalty: float = 0.5  #: raising it penalises static candidates more in the score
    exclude_after: int = 2  #: raising it needs more frames beside the diver to exclude a tracklet
    head_leave_gate: float = 0.3  #: raising it applies the head-leave rule to fewer boxes
    #: a box with at least this share of its area inside the diver's box is a partial box of him (the
    #: SSD's upper-body duplicate), not a person beside him; raising it above 1 counts every box
    inside_share: float = 0.95


@dataclass(frozen=True)
class StillConfig:
    """Still phases (:mod:`fdpose.pipelines.tracking.still`, :mod:`...runon`): the diver stands
    still on the board before take-off and never stands still again after the flight."""

    enabled: bool = True
    flight_motion: float = 0.7  #: raising it needs faster motion before the track counts as flown
    still_after_frames: int = 4  #: raising it needs longer still runs for the still rules
    split_still_after_flight: bool = True  #: cut tracklets at a still run after flight motion
    still_short_static: bool = True  #: short tracklets still wherever measured count as static


@dataclass(frozen=True)
class FallConfig:
    """Fall chains (:mod:`fdpose.pipelines.tracking.fall`): at the end of a high dive the
    diver's lone boxes fall downwards in the scene frame after frame."""

    enabled: bool = True
    fall_link_dist: float = 1.0  #: raising it chains lone boxes farther apart (diagonals per frame)
    fall_cos: float = 0.5  #: raising it needs chain steps pointing more straight down


@dataclass(frozen=True)
class SeedConfig:
    """Seed choice (:mod:`fdpose.pipelines.tracking.tracklets`): the diver is the person who
    travels and rotates and is in view for much of the clip. Off: the core's seed rule."""

    enabled: bool = True
    init_min_frames: int = 5  #: raising it needs longer tracklets to be a seed
    aspect_weight: float = 1.0  #: raising it ranks rotating (aspect-changing) tracklets higher
    board_weight: float = 0.25  #: raising it ranks tracklets near ``board_xy`` higher
    seed_isolation: float = 1.5  #: raising it prefers seed frames with nobody nearer
    seed_end_margin: int = 2  #: raising it keeps seed frames farther from tracklet ends
    init_iou: float = 0.3  #: raising it needs more overlap to snap ``init_box`` to a detection
    init_presence: float = 0.4  #: raising it penalises shorter seed tracklets
    seed_hypotheses: int = 3  #: raising it tracks more seeds through the clip and keeps the best
    seed_still_hypothesis: bool = True  #: the best static tracklet also seeds a hypothesis
    still_max_travel: float = 1.0  #: raising it lets static tracklets that travel further (diagonals) seed it
    seed_keep: float = 1.25  #: raising it keeps the ranking's first choice against others
    #: the frame rate init_min_frames counts at: a clip whose known rate of distinct frames is lower needs
    #: proportionally fewer frames (at least 2; only when the source gives its fps, e.g. a video; 0: never
    #: scale); raising it scales at more clips (docs/tracker_robustness.md, stride2)
    init_rate_fps: float = 25.0
    #: when no tracklet reaches init_min_frames (a short or low-rate clip), tracklets of at least this many
    #: frames may seed (the ranking decides, not the length); raising it to init_min_frames: only the longest
    init_short_min_frames: int = 2


@dataclass(frozen=True)
class RecoveryConfig:
    """Lone-false-detection resume (:mod:`fdpose.pipelines.tracking.pass2`): a single
    unconfirmed box that breaks the track was a false detection."""

    enabled: bool = True
    resume_other_tracklets: bool = True  #: the resume may continue on another moving tracklet


@dataclass(frozen=True)
class EntryConfig:
    """Entry end (:mod:`fdpose.pipelines.tracking.entry`): the dive ends in the water; once
    the diver has fallen and the track is lost, nobody later in the clip is the diver."""

    enabled: bool = True
    entry_min_drop: float = 1.5  #: raising it needs a longer fall (diagonals) before the end may come
    entry_lost_frames: int = 8  #: raising it needs a longer loss after the fall to end the track
    entry_live_first: bool = True  #: seed hypotheses after another one's entry (a replay) are dropped
    #: an entry counts for ``entry_live_first`` only from a hypothesis whose track value is at least this
    #: share of the best one's (a spectator drifting off the bottom edge under a mis-measured tilt "falls"
    #: and is lost too); raising it lets only hypotheses nearly as diver-like as the best end the live dive
    entry_live_min_share: float = 0.25


@dataclass(frozen=True)
class ReacquireConfig:
    """Re-acquisition in the image (:mod:`fdpose.pipelines.tracking.reacquire`): a broadcast
    camera follows the diver, so where its motion was not measured the diver stays near his
    last place in the image, not in the (unknown) scene. Pass 2 only (needs linking)."""

    enabled: bool = True
    image_reach: float = 0.5  #: raising it accepts a lone box farther (last box's diagonals, image) from the last one
    reacquire_max_gap: int = 10  #: raising it re-acquires after longer runs of frames without a box


@dataclass(frozen=True)
class FillConfig:
    """Short-gap fill (:mod:`fdpose.pipelines.tracking.fill`): between two boxes of the track a
    few frames apart the diver moved smoothly, so the boxes in between are interpolated
    (decision ``filled``)."""

    enabled: bool = False
    fill_max_gap: int = 8  #: raising it fills longer runs of frames without a box
    #: where boxes are interpolated: ``auto`` (scene where the camera is measured over the whole gap, else
    #: image), ``image`` or ``scene``
    fill_space: str = "auto"
    fill_after_fall: bool = False  #: also fill once the track has fallen entry_min_drop (near the entry)

    def __post_init__(self) -> None:
        if self.fill_space not in ("auto", "image", "scene"):
            raise ConfigError(f"tracker fill_space must be 'auto', 'image' or 'scene', got {self.fill_space!r}")
        if self.fill_max_gap < 0:
            raise ConfigError(f"tracker fill_max_gap must be >= 0, got {self.fill_max_gap}")


@dataclass(frozen=True)
class SyncConfig:
    """Synchronised-dive check (:func:`fdpose.pipelines.tracking.synchronised_partner`)."""

    sync_share: float = 0.5  #: raising it needs a second diver in more of the tracked frames
    sync_distance: float = 3.0  #: raising it accepts a second diver farther away (diagonals)
    sync_size_ratio: float = 1.5  #: raising it accepts a second diver of more different size
    #: raising it accepts a partner whose place beside the diver wanders more (diver diagonals)
    sync_offset_tolerance: float = 1.0
    #: raising it needs the diver to travel further (scene, diagonals) over the frames with a partner
    sync_min_travel: float = 1.0


@dataclass(frozen=True)
class RedetectConfig:
    """Local re-detection where the track has no box (:mod:`fdpose.pipelines.tracking.redetect`).

    Needs the clip's frames and a detector that runs on one image (the runner's ``ssd``,
    ``mediapipe``, ``mmdet``); with the ``file`` detector or without frames it does nothing.
    """

    enabled: bool = True
    #: crop long side / box long side: two runs that must agree (one value: a single run, no agreement)
    contexts: tuple[float, ...] = (1.5, 2.25)
    agree_iou: float = 0.6  #: raising it keeps fewer boxes (both contexts must find the same box more exactly)
    min_aspect: float = 0.5  #: raising it makes crops of thin boxes narrower (the box squarer in the input)
    rotate: bool = True  #: also search the crop rotated 180 degrees (inverted divers); off halves the cost
    max_shift: float = 0.5  #: raising it accepts boxes farther from the prediction (diagonals)
    max_size_ratio: float = 1.6  #: raising it accepts boxes of more different size than the prediction
    max_gap: int = 12  #: raising it searches longer runs of frames without a track box
    extend_start: int = 8  #: frames before the track's first box searched at that box's scene place
    #: track-gap search rounds (each re-runs the tracker); 0 (default): off - it found nothing on the real
    #: dev clips that growing had not, and cost synth plain frames (docs/tracker.md)
    rounds: int = 0
    grow_steps: int = 6  #: frames a detection is extended into its neighbours by local search (0: no growing)
    grow_cover: float = 1.5  #: lowering it grows into frames where a similar box was detected nearby (fast movers)
    grow_budget: float = 2.0  #: at most this many growing searches per frame of the clip (bounds the cost)
    #: replace whole-frame boxes thinner than the detector's anchors by the crop's box; off (default): it gained
    #: the real dev clips 3 frames but cost the synth plain worlds up to 5 points (docs/tracker.md)
    refine_thin: bool = False
    #: raising it refines fewer boxes: only those at least this tall for their width in the detector's
    #: stretched square input (SSD's anchors stop at 3:1)
    refine_aspect: float = 3.0
    refine_iou: float = 0.3  #: raising it replaces a thin box only by a crop box overlapping it more

    def __post_init__(self) -> None:
        object.__setattr__(self, "contexts", tuple(float(c) for c in self.contexts))  # (JSON gives a list)
        if not 1 <= len(self.contexts) <= 2 or min(self.contexts) <= 1:
            raise ConfigError(f"tracker redetect contexts must be one or two values > 1, got {self.contexts}")
        if not 0 < self.min_aspect <= 1 or not 0 < self.agree_iou <= 1 or self.max_size_ratio < 1:
            raise ConfigError("tracker redetect: min_aspect and agree_iou in (0, 1], max_size_ratio >= 1")
        if min(self.max_gap, self.extend_start, self.rounds, self.grow_steps, self.grow_budget) < 0:
            raise ConfigError("tracker redetect: max_gap, extend_start, rounds, grow_steps and grow_budget must be >= 0")


@dataclass(frozen=True)
class VerifyConfig:
    """Crop check of the kept box where several candidates lie on the diver
    (:mod:`fdpose.pipelines.tracking.verify`): a whole-frame candidate overlapping the kept box by IoU >=
    ``same_iou`` is a second box of the same person, boxed loosely for want of pixels; a crop shows him
    larger (and a lone box thinner than the anchors, ``thin_aspect``, is checked too). Needs the clip's frames and a
    one-image detector (the search settings are the ``redetect`` section's); idle otherwise."""

    enabled: bool = True
    #: a candidate overlapping the kept box by at least this IoU is a second box of the diver (a check is
    #: made; the SSD's NMS keeps two boxes up to IoU 0.5), and a verified crop box must overlap the kept box
    #: as much to replace it; raising it checks fewer frames and accepts fewer crop boxes
    same_iou: float = 0.4
    #: also check a kept box alone when it is at least this tall for its width in the detector's
    #: stretched square input (SSD's anchors stop at 3:1: taller boxes are drawn too wide); raising it checks
    #: fewer boxes (0: never)
    thin_aspect: float = 3.0
    #: a lone thin box is replaced only by a narrower verified box overlapping it by at least this IoU (a
    #: narrower box that keeps less of it is a part of the body); raising it replaces fewer thin boxes
    thin_iou: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.same_iou <= 1 or not 0 < self.thin_iou <= 1 or self.thin_aspect < 0:
            raise ConfigError(f"tracker verify: same_iou and thin_iou must be in (0, 1] and thin_aspect >= 0, got "
                              f"{self.same_iou}, {self.thin_iou}, {self.thin_aspect}")


@dataclass(frozen=True)
class RepeatsConfig:
    """Repeated frames (:mod:`fdpose.pipelines.tracking.repeats`): a frame that repeats the previous
    picture up to codec noise carries no new information; the tracker runs on the distinct frames and
    a repeat takes its source's box. Needs the clip's pixels (the runner's decoded frames)."""

    enabled: bool = True
    grid_width: int = 96  #: raising it compares finer grey grids (more sensitive to small motion and to noise)
    noise_max: float = 3.0  #: raising it lets frames whose whole picture changed more (grey levels) be repeats
    noise_floor: float = 0.25  #: raising it tolerates larger local peaks on nearly identical frames (grey levels)
    peak_ratio: float = 12.0  #: raising it lets frames with larger local change (a swaying diver) be repeats
    rel_mean: float = 0.25  #: raising it lets frames changed by more of the clip's typical step be repeats

    def __post_init__(self) -> None:
        if self.grid_width < 8 or min(self.noise_max, self.noise_floor, self.peak_ratio, self.rel_mean) < 0:
            raise ConfigError("tracker repeats: grid_width must be >= 8 and the thresholds >= 0")


#: The switchable refinements, in the order the ablation benchmark reports them.
REFINEMENTS: tuple[str, ...] = ("camera", "velocity", "gates", "linking", "people", "stills", "fall", "seed",
                                "recovery", "entry", "reacquire", "fill", "redetect", "verify", "repeats")


_SECTIONS: dict[str, type] = {
    "core": CoreConfig, "camera": CameraConfig, "velocity": VelocityConfig, "gates": GateConfig,
    "linking": LinkingConfig, "people": PeopleConfig, "stills": StillConfig, "fall": FallConfig,
    "seed": SeedConfig, "recovery": RecoveryConfig, "entry": EntryConfig, "reacquire": ReacquireConfig,
    "fill": FillConfig, "sync": SyncConfig, "redetect": RedetectConfig, "verify": VerifyConfig,
    "repeats": RepeatsConfig,
}


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's nested configuration (see the module docstring)."""

    core: CoreConfig = field(default_factory=CoreConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    velocity: VelocityConfig = field(default_factory=VelocityConfig)
    gates: GateConfig = field(default_factory=GateConfig)
    linking: LinkingConfig = field(default_factory=LinkingConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    stills: StillConfig = field(default_factory=StillConfig)
    fall: FallConfig = field(default_factory=FallConfig)
    seed: SeedConfig = field(default_factory=SeedConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    entry: EntryConfig = field(default_factory=EntryConfig)
    reacquire: ReacquireConfig = field(default_factory=ReacquireConfig)
    fill: FillConfig = field(default_factory=FillConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    redetect: RedetectConfig = field(default_factory=RedetectConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    repeats: RepeatsConfig = field(default_factory=RepeatsConfig)

    def __post_init__(self) -> None:
        g, li, p, s = self.gates, self.linking, self.people, self.seed
        for name, value in (("max_jump", g.max_jump), ("max_jump_cap", g.max_jump_cap),
                            ("max_size_ratio", g.max_size_ratio), ("link_dist", li.link_dist),
                            ("static_gate", p.static_gate)):
            if value <= 0:
                raise ConfigError(f"tracker {name} must be > 0, got {value}")
        if g.max_size_ratio < 1:
            raise ConfigError(f"tracker max_size_ratio must be >= 1, got {g.max_size_ratio}")
        if not 0 <= self.entry.entry_live_min_share <= 1:
            raise ConfigError(f"tracker entry_live_min_share must be in [0, 1], got {self.entry.entry_live_min_share}")
        if not 0 <= self.velocity.velocity_smoothing < 1:
            raise ConfigError(f"tracker velocity_smoothing must be in [0, 1), got {self.velocity.velocity_smoothing}")
        counts = (p.static_min_frames, s.init_min_frames, g.confirm_frames, p.static_window,
                  self.stills.still_after_frames, self.entry.entry_lost_frames)
        if li.link_max_gap < 0 or min(counts) < 1:
            raise ConfigError("tracker link_max_gap must be >= 0 and frame counts >= 1")
        if not 0 < self.camera.work_min_diagonal <= self.camera.work_max_diagonal:
            raise ConfigError("tracker camera work_min_diagonal must be > 0 and <= work_max_diagonal, got "
                              f"{self.camera.work_min_diagonal}, {self.camera.work_max_diagonal}")
        if self.camera.source not in ("pixels", "boxes"):
            raise ConfigError(f"tracker camera source must be 'pixels' or 'boxes', got {self.camera.source!r}")

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def paper(cls) -> "TrackerConfig":
        """Every refinement off: Eq. 25 alone (the paper's rule)."""
        return cls().without(*REFINEMENTS)

    def without(self, *sections: str) -> "TrackerConfig":
        """A copy with the named refinement sections disabled."""
        return self.with_(**{name: {"enabled": False} for name in sections})

    def with_(self, **changes: Any) -> "TrackerConfig":
        """A copy with changes: ``section={"field": value}`` or a field name unique over the
        sections (``max_jump=2.0``); a section name may also take a whole section object."""
        sections = {name: getattr(self, name) for name in _SECTIONS}
        for key, value in changes.items():
            if key in _SECTIONS:
                sections[key] = value if isinstance(value, _SECTIONS[key]) else dataclasses.replace(
                    sections[key], **value)
                continue
            owners = [name for name, cls in _SECTIONS.items() if key in {f.name for f in dataclasses.fields(cls)}]
            if len(owners) != 1:
                raise ConfigError(f"unknown tracker setting {key!r}")
            sections[owners[0]] = dataclasses.replace(sections[owners[0]], **{key: value})
        return TrackerConfig(**sections)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrackerConfig":
        """Inverse of :meth:`to_dict` (unknown keys are an error naming them)."""
        kw = {}
        for name, value in data.items():
            if name not in _SECTIONS or not isinstance(value, dict):
                raise ConfigError(f"unknown tracker section {name!r}")
            try:
                kw[name] = _SECTIONS[name](**value)
            except TypeError as exc:
                raise ConfigError(f"tracker section {name!r}: {exc}") from None
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON gives it back (tuples as lists), so a stored run's settings compare equal."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def refinements_off(self) -> bool:
        """True when every refinement is disabled (the tracker is Eq. 25 alone)."""
        return not any(getattr(self, name).enabled for name in REFINEMENTS)

    # ---- the engine's flat view ---------------------------------------------------------

    def flat(self) -> Params:
        """The flat parameters, a disabled section replaced by its "off" values."""
        c, cam, v, g, li = self.core, self.camera, self.velocity, self.gates, self.linking
        p, st, fa, s, r, e, sy = self.people, self.stills, self.fall, self.seed, self.recovery, self.entry, self.sync
        kw: dict[str, Any] = {"conf_weight": c.conf_weight}
        kw.update(camera_source=cam.source if cam.enabled else "none", cam_tol=cam.cam_tol,
                  cam_min_inliers=cam.cam_min_inliers, cam_size_ratio=cam.cam_size_ratio,
                  cam_fill_gap=cam.cam_fill_gap)
        kw.update(use_velocity=v.enabled, velocity_smoothing=v.velocity_smoothing,
                  velocity_horizon=v.velocity_horizon)
        if g.enabled:
            kw.update({f.name: getattr(g, f.name) for f in dataclasses.fields(g) if f.name != "enabled"})
        else:  # no gate: every candidate admissible, no size term, no confirmation needed
            kw.update(min_conf=-OFF, max_jump=OFF, jump_growth=0.0, max_jump_cap=OFF, max_size_ratio=OFF,
                      size_ratio_growth=0.0, cut_size_ratio=OFF, entry_size_ratio=OFF, size_weight=0.0,
                      confirm_frames=1, confirm_gap=1)
        kw.update({f.name: getattr(li, f.name) for f in dataclasses.fields(li) if f.name != "enabled"})
        if p.enabled:
            kw.update({f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name != "enabled"})
        else:  # nobody is static (a static tracklet needs more measured frames than any clip has)
            kw.update({f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name != "enabled"})
            kw.update(static_min_frames=10 ** 9, static_penalty=0.0, exclude_after=10 ** 9, head_leave_gate=OFF)
        kw.update(flight_motion=st.flight_motion, still_after_frames=st.still_after_frames,
                  split_still_after_flight=st.split_still_after_flight and st.enabled,
                  still_short_static=st.still_short_static and st.enabled)
        if not st.enabled:  # no still tail or head ever qualifies
            kw.update(still_after_frames=10 ** 9)
        kw.update(fall_link_dist=fa.fall_link_dist if fa.enabled else 0.0, fall_cos=fa.fall_cos)
        # (init_rate_fps is read by the clip entry, tracking.clip, not by the engine)
        kw.update({f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name not in ("enabled", "init_rate_fps")})
        if not s.enabled:  # one hypothesis: the best-ranked tracklet (see tracker.track_diver)
            kw.update(seed_hypotheses=1, seed_still_hypothesis=False, seed_keep=1.0)
        kw.update(resume=r.enabled, resume_other_tracklets=r.resume_other_tracklets and r.enabled)
        kw.update(entry_end=e.enabled, entry_min_drop=e.entry_min_drop, entry_lost_frames=e.entry_lost_frames,
                  entry_live_first=e.entry_live_first and e.enabled, entry_live_min_share=e.entry_live_min_share)
        ra = self.reacquire  # (off: no reach, the confirmation rule alone)
        kw.update(reacquire_reach=ra.image_reach if ra.enabled else -OFF, reacquire_max_gap=ra.reacquire_max_gap)
        kw.update(sync_share=sy.sync_share, sync_distance=sy.sync_distance, sync_size_ratio=sy.sync_size_ratio,
                  sync_offset_tolerance=sy.sync_offset_tolerance, sync_min_travel=sy.sync_min_travel)
        return Params(**kw)
