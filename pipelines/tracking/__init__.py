"""Diver tracking (method.md 2.2 step 3, Eq. 25): pick the diver's box in every frame of a clip.

Public API: :func:`track_diver`, :class:`TrackerConfig` (nested: one section per refinement,
:meth:`TrackerConfig.paper` = every refinement off), :class:`TrackResult`,
:class:`TrackDecision`, :func:`synchronised_partner`.

Modules: ``core`` (Eq. 25 alone), ``config``, ``tracker`` (the refinement engine and its
rules), one module per refinement naming its real-world assumption - ``camera`` (pan and zoom
from the pixels, or a box vote), ``tracklets`` (linking), ``seed``, ``gates``, ``people``,
``still`` + ``runon`` (still phases), ``fall``, ``entry``, ``reacquire`` (in the image after an
unmeasured tilt), ``fill`` (short gaps interpolated), ``redetect`` (local re-detection),
``verify`` (a crop check of the kept box where several candidates lie on the diver), ``repeats`` (repeated frames) - and ``pass2`` (the nearest-neighbour pass with the velocity
prediction and the lone-false-detection recovery). The runner's entry for a whole clip:
``clip.track_clip``. Measurements: ``docs/tracker.md`` (``benchmarks/tracker_ablation.py``),
``docs/tracker_robustness.md`` (``benchmarks/real_robustness.py``).
"""

from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking.config import TrackerConfig
from fdpose.pipelines.tracking.pass2 import TrackDecision
from fdpose.pipelines.tracking.seed import track_value
from fdpose.pipelines.tracking.tracker import TrackResult, synchronised_partner, track_diver

__all__ = ["TrackDecision", "TrackerConfig", "TrackResult", "track_diver", "track_value", "iou",
           "synchronised_partner"]
