"""Tracker parameters (rules in :mod:`fdpose.pipelines.tracking.tracker`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fdpose.errors import ConfigError

__all__ = ["TrackerConfig"]


@dataclass(frozen=True)
class TrackerConfig:
    """Parameters of the two-pass nearest-neighbour tracker (see the module docstring).

    Distances are in diagonals of the previous diver box, so the rule is resolution-free.
    """

    conf_weight: float = 1.0  #: weight of detector confidence against distance in the score
    size_weight: float = 0.5  #: penalty per unit of |log diagonal ratio|
    min_conf: float = 0.05  #: candidates below this confidence are ignored
    max_jump: float = 1.0  #: largest centre move per frame, in previous-box diagonals
    jump_growth: float = 0.35  #: gate growth per additional frame since the last match
    max_jump_cap: float = 3.0  #: the jump gate never exceeds this
    confirm_frames: int = 3  #: tracklet length needed to re-acquire or to match beyond ``max_jump``
    confirm_gap: int = 3  #: frames after the last box within which an unconfirmed candidate may match
    entry_size_ratio: float = 6.0  #: largest shrink (diagonal ratio) of a candidate in the diver's column
    max_size_ratio: float = 1.6  #: largest diagonal change per frame (ratio)
    cut_size_ratio: float = 3.0  #: largest diagonal change between a box cut by the border and a whole one
    size_ratio_growth: float = 0.1  #: relative growth of the size gate per additional frame
    use_velocity: bool = True  #: also measure D to a constant-velocity prediction
    velocity_smoothing: float = 0.5  #: EMA weight of the old velocity
    velocity_horizon: int = 8  #: frames the prediction may extrapolate through a miss
    static_window: int = 9  #: frames over which local motion is measured
    static_motion: float = 0.35  #: local motion (diagonals) below which a candidate is static
    static_min_frames: int = 8  #: candidates on shorter tracklets are never static
    static_gate: float = 0.3  #: static candidates of another tracklet must lie this close to the track
    static_speed: float = 0.1  #: track speed (diagonals/frame) above which static candidates are refused
    lost_speed_decay: float = 1.0  #: per missed frame, the track speed of the static check decays
    static_penalty: float = 0.5  #: score penalty of static candidates
    continuity_bonus: float = 0.2  #: score bonus of the candidate continuing the last box's tracklet
    link_dist: float = 0.75  #: tracklet link gate (diagonals per frame of gap)
    link_dist_still: float = 0.3  #: link gate of a still tracklet; it grows with the tracklet's speed
    link_max_gap: int = 3  #: frames a tracklet may skip
    link_shape_weight: float = 0.5  #: weight of box-shape change in the link cost
    link_swap_margin: float = 0.1  #: two links are exchanged when that lowers their summed cost by more (``inf``: off)
    init_min_frames: int = 5  #: shortest tracklet eligible as seed (relaxed if none is that long)
    aspect_weight: float = 1.0  #: weight of aspect change in the seed score
    board_weight: float = 0.25  #: weight of distance to ``board_xy`` in the seed score
    seed_isolation: float = 1.5  #: seed frames prefer no other candidate within this many diagonals
    seed_end_margin: int = 2  #: seed frames prefer members at least this many members from their tracklet's ends
    init_iou: float = 0.3  #: IoU for snapping ``init_box`` to a detection
    init_presence: float = 0.4  #: seed tracklets shorter than this share of the clip are scaled down
    seed_hypotheses: int = 3  #: best-ranked seed tracklets each tracked through the clip
    #: the best-ranked static tracklet seeds one more hypothesis (the diver standing on the board)
    seed_still_hypothesis: bool = True
    seed_keep: float = 1.25  #: factor on the first-ranked hypothesis' track value (ties keep it)
    cam_tol: float = 0.15  #: camera vote inlier distance, in diagonals of the box
    cam_min_inliers: int = 2  #: candidates that must agree on a camera shift
    cam_size_ratio: float = 1.35  #: largest diagonal ratio of a voting pair
    cam_fill_gap: int = 3  #: runs of at most this many frames without a camera vote are interpolated
    exclude_after: int = 2  #: frames a tracklet must be seen beside the diver to be excluded
    flight_motion: float = 0.7  #: local motion (diagonals) from which the forward track counts as flown
    still_after_frames: int = 4  #: measured members that must stay still to refuse a candidate after the flight
    #: the lone-false-detection resume may also continue on a tracklet that is not static
    resume_other_tracklets: bool = True
    #: a short tracklet still wherever measured (at least ``still_after_frames`` measured
    #: members) passes the static check like a static one
    still_short_static: bool = True
    #: fall chains: pieces of pass-1 tracklets shorter than ``confirm_frames`` are linked again
    #: within this many diagonals per frame (0: off); a chain of ``confirm_frames`` confirms
    fall_link_dist: float = 1.0
    fall_cos: float = 0.5  #: a fall chain's step points downwards: its downward share of its length
    #: pass 1 cuts a still run after flight motion off its tracklet (the diver ends in the water)
    split_still_after_flight: bool = True
    #: a box farther than this (its diagonals) from its tracklet's still head counts only the
    #: frames seen beside the diver after the head for exclusion (``inf``: off)
    head_leave_gate: float = 0.3
    sync_share: float = 0.5  #: share of tracked frames a second diver must accompany the first
    sync_distance: float = 3.0  #: largest centre distance of the two divers, in diagonals
    sync_size_ratio: float = 1.5  #: largest diagonal ratio of the two divers

    def __post_init__(self) -> None:
        for name in ("max_jump", "max_jump_cap", "max_size_ratio", "link_dist", "static_gate"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"tracker {name} must be > 0, got {getattr(self, name)}")
        if self.max_size_ratio < 1:
            raise ConfigError(f"tracker max_size_ratio must be >= 1, got {self.max_size_ratio}")
        if not 0 <= self.velocity_smoothing < 1:
            raise ConfigError(f"tracker velocity_smoothing must be in [0, 1), got {self.velocity_smoothing}")
        counts = (self.static_min_frames, self.init_min_frames, self.confirm_frames, self.static_window,
                  self.still_after_frames)
        if self.link_max_gap < 0 or min(counts) < 1:
            raise ConfigError("tracker link_max_gap must be >= 0 and frame counts >= 1")

    def size_gate(self, gap: int) -> float:
        """Largest diagonal ratio between boxes ``gap`` frames apart (pass 2, fall chains)."""
        return self.max_size_ratio * (1 + self.size_ratio_growth * (gap - 1))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
