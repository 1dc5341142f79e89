"""Diver tracking (method.md 2.2 step 3, Eq. 25): pick the diver's box in every frame of a clip.

Public API: :func:`track_diver`, :class:`TrackerConfig`, :class:`TrackResult`,
:class:`TrackDecision`, :func:`synchronised_partner`.
"""

from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking.config import TrackerConfig
from fdpose.pipelines.tracking.pass2 import TrackDecision
from fdpose.pipelines.tracking.tracker import TrackResult, synchronised_partner, track_diver
from fdpose.pipelines.tracking.seed import track_value

__all__ = ["TrackDecision", "TrackerConfig", "TrackResult", "track_diver", "track_value", "iou",
           "synchronised_partner"]
