"""Repeated frames: find frames that show the previous picture again, track the distinct ones.

Real-world assumption: broadcast footage often repeats whole pictures - 25 fps material
delivered at 30 fps (every fifth picture twice) or at 50 fps (every picture twice), telecine
pulldown, a stream that stalls - and a repeated picture carries no new information. The
tracker's rules count frames (velocities per frame, confirmation and gap counts, static windows)
and its camera sees a step of zero there, so a repeat reads as a frame where nothing moved: the
diver's push-off looks static and a false box's tracklet gets long enough to be confirmed
(docs/tracker_robustness.md). So the tracker runs on the distinct frames only, and each repeat
gets its source frame's box and decision (:func:`expand_track`).

A repeat is a copy up to noise, which a still scene is not: a diver standing still on the board
on a still camera still sways, breathes and moves his arms by a fraction of a pixel, and that
motion is *local* (a few pixels at his edges), while re-encoding noise (the encoder coded the
same picture again) is spread over the whole frame. So frame t repeats frame t-1 when, on grey
frames area-downscaled to ``grid_width`` px wide (which averages the codec's noise), the
absolute difference ``d`` (one value per grid pixel) satisfies all three (:func:`is_repeat`):

- ``median(d) <= noise_max``: the frame-wide change is at noise level (a fade or an exposure
  step is not a repeat);
- ``max(d) <= peak_ratio * max(median(d), noise_floor)``: no grid pixel changed much more than
  the noise (a swaying diver, a ripple, a fidgeting spectator: a local peak);
- ``mean(d) <= rel_mean * typical``, ``typical`` the clip's 75th percentile of ``mean(d)``
  over its steps: in a clip where little moves at all, nothing is called a repeat unless it is
  far below the clip's own steps (the detector stays off where still and repeated are hard to tell).

A picture shown twice under fresh sensor noise only is "identical up to noise" and counts as a
repeat (its peak / noise ratio is that of a re-encoded repeat). The thresholds' measurements:
``docs/tracker_robustness.md`` (``benchmarks/repeat_stats.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

import numpy as np

from fdpose.pipelines.tracking.camera import CameraMotion

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import RepeatsConfig
    from fdpose.pipelines.tracking.tracker import TrackResult

__all__ = ["StepChange", "RepeatFinder", "find_repeats", "is_repeat", "distinct_camera", "expand_track"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepChange:
    """How much the downscaled grey picture changed from frame t-1 to t (grey levels, 0-255)."""

    noise: float  #: median absolute difference over the grid
    peak: float  #: largest absolute difference
    mean: float  #: mean absolute difference


def _grid(image: np.ndarray, width: int) -> np.ndarray:
    """``(H, W[, 3])`` BGR or grey image -> ``(h, width)`` float32 grey, area-downscaled."""
    import cv2

    grey = (image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)).astype(np.float32)
    h, w = grey.shape[:2]
    width = min(width, w)
    height = max(1, round(h * width / w))
    # (averaged in float: a uint8 grid would round away the sub-level differences the test compares)
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)


def _noise_like(change: StepChange, cfg: "RepeatsConfig") -> bool:
    """The step's change is small everywhere and has no local peak (codec noise, not motion)."""
    return change.noise <= cfg.noise_max and change.peak <= cfg.peak_ratio * max(change.noise, cfg.noise_floor)


def is_repeat(change: StepChange, typical: float, cfg: "RepeatsConfig") -> bool:
    """The step is a repeated picture (see the module docstring); ``typical``: the clip's 75th
    percentile of :attr:`StepChange.mean` over its steps that are not noise-like."""
    return _noise_like(change, cfg) and change.mean <= cfg.rel_mean * typical


class RepeatFinder:
    """Incremental repeat detection: feed frames in order (:meth:`add`), then :meth:`sources`.
    Lets the runner find repeats while it decodes frames for the detector; keeps one small
    grey frame."""

    def __init__(self, cfg: "RepeatsConfig") -> None:
        self.cfg = cfg
        self._prev: Optional[np.ndarray] = None
        self.changes: list[Optional[StepChange]] = []  #: per frame; None for frame 0 or a size change

    def add(self, image: np.ndarray) -> None:
        """Next frame, ``(H, W, 3)`` BGR or ``(H, W)`` grey."""
        cur = _grid(image, self.cfg.grid_width)
        change = None
        if self._prev is not None and self._prev.shape == cur.shape:
            d = np.abs(cur - self._prev)
            change = StepChange(float(np.median(d)), float(d.max()), float(d.mean()))
        self.changes.append(change)
        self._prev = cur

    def sources(self) -> np.ndarray:
        """(T,) int: the distinct frame each frame shows (itself for a distinct frame; a repeat
        of a repeat points to the first picture of the run)."""
        n = len(self.changes)
        src = np.arange(n)
        steps = [c for c in self.changes if c is not None]
        if not self.cfg.enabled or not steps:
            return src
        # The clip's typical step is taken over the steps that do not look like noise: with a picture
        # shown 4 times or more (12.5 fps at 50), 3 in 4 steps are repeats and a percentile over all
        # steps would be a repeat's own noise, which no repeat is a quarter of. A clip whose every
        # step looks like noise (nothing moves) keeps the percentile over all of them.
        moving = [c.mean for c in steps if not _noise_like(c, self.cfg)]
        typical = float(np.percentile(moving if moving else [c.mean for c in steps], 75))
        for t, c in enumerate(self.changes):
            if c is not None and is_repeat(c, typical, self.cfg):
                src[t] = src[t - 1]
        if (src != np.arange(n)).any():
            log.info("repeated frames: %d of %d show the previous picture again", int(np.sum(src != np.arange(n))), n)
        return src


def find_repeats(frames: Iterable[np.ndarray], cfg: "RepeatsConfig") -> np.ndarray:
    """:meth:`RepeatFinder.sources` of a whole clip's frames (in order)."""
    finder = RepeatFinder(cfg)
    for image in frames:
        finder.add(image)
    return finder.sources()


def distinct_camera(camera: CameraMotion, keep: np.ndarray) -> CameraMotion:
    """The camera over the frames ``keep`` (sorted indices, ``keep[0] == 0``): the same scene
    (frame 0), each kept step the composition of the steps it spans, measured when all were."""
    keep = np.asarray(keep, dtype=np.int64)
    scale, offset = camera.scale[keep], camera.offset[keep]
    known = np.array([True] + [camera.steps_known(int(a), int(b)) for a, b in zip(keep[:-1], keep[1:])])
    step_scale, step_shift = None, None
    if camera.step_scale is not None:  # (x_b = s * x_a + d composes: s = S_b / S_a, d = O_b - s * O_a)
        step_scale = np.ones(len(keep))
        step_shift = np.zeros((len(keep), 2))
        step_scale[1:] = scale[1:] / scale[:-1]
        step_shift[1:] = offset[1:] - step_scale[1:, None] * offset[:-1]
    return CameraMotion(scale.copy(), offset.copy(), known, step_scale, step_shift)


def expand_track(sub: "TrackResult", keep: np.ndarray, sources: np.ndarray) -> "TrackResult":
    """A track of the distinct frames ``keep`` spread back to all T frames: frame t takes the
    box, decision, candidate row and static flags of its source ``sources[t]`` (a position in
    ``keep`` via its frame index). ``pass1`` is dropped (its tracklets count distinct frames)."""
    pos = np.searchsorted(keep, sources)  # (T,) index into the distinct frames
    return dataclasses.replace(
        sub, boxes=sub.boxes[pos].copy(), decisions=[sub.decisions[i] for i in pos],
        candidate_index=sub.candidate_index[pos].copy(),
        seed_frame=None if sub.seed_frame is None else int(keep[sub.seed_frame]),
        static=[sub.static[i] for i in pos] if len(sub.static) == len(keep) else sub.static, pass1=None)

