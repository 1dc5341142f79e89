"""The flat parameter view the refinement engine reads (:meth:`~fdpose.pipelines.tracking.config.TrackerConfig.flat`).

One name per knob of the nested :class:`~fdpose.pipelines.tracking.config.TrackerConfig`; a
disabled section's knobs take their "off" values there. What each knob does: its section's
field comment in :mod:`fdpose.pipelines.tracking.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Params"]


@dataclass(frozen=True)
class Params:
    """Flat view of a :class:`TrackerConfig` read by the refinement engine (one name per knob)."""

    conf_weight: float
    size_weight: float
    min_conf: float
    max_jump: float
    jump_growth: float
    max_jump_cap: float
    confirm_frames: int
    confirm_gap: int
    entry_size_ratio: float
    max_size_ratio: float
    cut_size_ratio: float
    size_ratio_growth: float
    use_velocity: bool
    velocity_smoothing: float
    velocity_horizon: int
    static_window: int
    static_motion: float
    static_min_frames: int
    static_gate: float
    static_speed: float
    lost_speed_decay: float
    static_penalty: float
    continuity_bonus: float
    link_dist: float
    link_dist_still: float
    link_max_gap: int
    link_shape_weight: float
    link_swap_margin: float
    init_min_frames: int
    init_short_min_frames: int
    aspect_weight: float
    board_weight: float
    seed_isolation: float
    seed_end_margin: int
    init_iou: float
    init_presence: float
    seed_hypotheses: int
    seed_still_hypothesis: bool
    still_max_travel: float
    seed_keep: float
    camera_source: str
    cam_tol: float
    cam_min_inliers: int
    cam_size_ratio: float
    cam_fill_gap: int
    exclude_after: int
    flight_motion: float
    still_after_frames: int
    resume: bool
    resume_other_tracklets: bool
    still_short_static: bool
    fall_link_dist: float
    fall_cos: float
    split_still_after_flight: bool
    head_leave_gate: float
    inside_share: float
    entry_end: bool
    entry_min_drop: float
    entry_lost_frames: int
    entry_live_first: bool
    entry_live_min_share: float
    reacquire_reach: float
    reacquire_max_gap: int
    sync_share: float
    sync_distance: float
    sync_size_ratio: float
    sync_offset_tolerance: float
    sync_min_travel: float

    def size_gate(self, gap: int) -> float:
        """Largest diagonal ratio between boxes ``gap`` frames apart (pass 2, fall chains)."""
        return self.max_size_ratio * (1 + self.size_ratio_growth * (gap - 1))
