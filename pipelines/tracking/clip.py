"""The tracking entry of a whole clip, shared by the runner (``fdpose track-and-estimate``) and
``benchmarks/real_robustness.py``, so the benchmark measures what the runner does.

:func:`track_clip` = repeated frames left out (:mod:`fdpose.pipelines.tracking.repeats`), local
re-detection where it can run (:func:`~fdpose.pipelines.tracking.redetect.track_with_redetect`,
else :func:`~fdpose.pipelines.tracking.track_diver`), the synchronised-dive check on the
distinct frames, and the track spread back to every frame; where the source gives its frame
rate, the seed's minimum tracklet length is counted at the rate of distinct frames
(:func:`seed_rate_config`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.pipelines.tracking.camera import CameraMotion, PixelCamera
from fdpose.pipelines.tracking.config import TrackerConfig
from fdpose.pipelines.tracking.redetect import FrameGetter, RedetectStats, track_with_redetect
from fdpose.pipelines.tracking.repeats import RepeatFinder, distinct_camera, expand_track
from fdpose.pipelines.tracking.tracker import TrackResult, synchronised_partner
from fdpose.records import Boxes

__all__ = ["ClipPixels", "ClipTrack", "track_clip", "seed_rate_config"]

log = logging.getLogger(__name__)


@dataclass
class ClipTrack:
    """The tracking outcome of one clip of T frames.

    track: over all T frames (a repeated frame carries its source frame's box and decision).
    candidates: T ``(K_t, 5)`` rows the track chose from (grown by re-detection; a repeated
    frame: its source frame's rows, so ``track.candidate_index`` indexes them).
    sources: (T,) int, the distinct frame each frame shows (``arange(T)``: no repeat).
    partner: frames with a second diver beside the tracked one when the clip is a synchronised
    dive (:func:`~fdpose.pipelines.tracking.synchronised_partner`, counted on distinct frames), else None.
    redetect: what the local re-detection did (frame indices of the whole clip).
    """

    track: TrackResult
    candidates: list[np.ndarray]
    sources: np.ndarray
    partner: Optional[int]
    redetect: RedetectStats

    @property
    def repeats(self) -> int:
        """Frames that repeat the previous picture."""
        return int(np.sum(self.sources != np.arange(len(self.sources))))


class ClipPixels:
    """What the tracker measures from a clip's decoded frames, fed in order while they are decoded
    anyway (for the detector): the pixel camera (when the config's camera uses pixels) and the
    repeated frames (when the ``repeats`` section is on)."""

    def __init__(self, config: TrackerConfig) -> None:
        cam = config.camera
        self._camera = PixelCamera(cam) if cam.enabled and cam.source == "pixels" else None
        self._repeats = RepeatFinder(config.repeats) if config.repeats.enabled else None

    def add(self, image: np.ndarray, boxes: Optional[np.ndarray] = None) -> None:
        """Next ``(H, W, 3)`` BGR frame and its ``(K, >=4)`` candidate boxes."""
        if self._camera is not None:
            self._camera.add(image, boxes)
        if self._repeats is not None:
            self._repeats.add(image)

    def camera(self) -> Optional[CameraMotion]:
        return None if self._camera is None else self._camera.motion()

    def sources(self) -> Optional[np.ndarray]:
        """(T,) the distinct frame each frame shows, None when repeats are not looked for."""
        return None if self._repeats is None else self._repeats.sources()


def track_clip(cands: Sequence[Boxes | np.ndarray], config: TrackerConfig, *, frames: Optional[FrameGetter] = None,
               detector: Any = None, sources: Optional[np.ndarray] = None,
               image_size: Optional[tuple[int, int]] = None, camera: Optional[CameraMotion] = None,
               init_box: Optional[Sequence[float]] = None, fps: Optional[float] = None) -> ClipTrack:
    """Track the diver through a clip.

    cands: T frames' whole-frame detections (:class:`~fdpose.records.Boxes` or ``(K_t, 5)`` rows).
    frames / detector: the clip's frames by index and a one-image detector, for local
    re-detection (None: no re-detection, e.g. the ``file`` detector).
    sources: (T,) the distinct frame each frame shows
    (:meth:`~fdpose.pipelines.tracking.repeats.RepeatFinder.sources`); None, or the ``repeats``
    section off: every frame is distinct.
    camera: the clip's pixel camera over all T frames (None: the config's fallback).
    init_box: the user's ``[x1, y1, x2, y2]`` diver box at frame 0.
    fps: the clip's frame rate when the source gives it (a video; frame folders carry none): the
    seed's minimum tracklet length is counted at its rate of distinct frames (:func:`seed_rate_config`).
    """
    n = len(cands)
    src = np.arange(n) if sources is None or not config.repeats.enabled else np.asarray(sources, dtype=np.int64)
    if len(src) != n or (n and ((src < 0).any() or (src > np.arange(n)).any() or (src[src] != src).any())):
        raise ValueError(f"repeat sources must point each of the {n} frames to itself or an earlier distinct frame")
    keep = np.flatnonzero(src == np.arange(n))
    if fps is not None and n:
        config = seed_rate_config(config, fps * len(keep) / n)
    if len(keep) == n:  # (no repeat: exactly the tracker on the clip)
        track, rows, stats = track_with_redetect(cands, config, frames, detector, image_size=image_size,
                                                 camera=camera, init_box=init_box)
        return ClipTrack(track, rows, src, synchronised_partner(rows, track, config), stats)
    sub_frames: Optional[FrameGetter] = None
    if frames is not None:
        get = frames

        def sub_frames(idx: list[int]) -> list[np.ndarray]:
            return get([int(keep[i]) for i in idx])
    track, rows, stats = track_with_redetect([cands[int(t)] for t in keep], config, sub_frames, detector,
                                             image_size=image_size, init_box=init_box,
                                             camera=None if camera is None else distinct_camera(camera, keep))
    partner = synchronised_partner(rows, track, config)
    pos = np.searchsorted(keep, src)
    back = RedetectStats([int(keep[t]) for t in stats.searched], [int(keep[t]) for t in stats.added],
                         [int(keep[t]) for t in stats.refined], stats.rounds, [int(keep[t]) for t in stats.verified])
    return ClipTrack(expand_track(track, keep, src), [rows[int(i)] for i in pos], src, partner, back)


def seed_rate_config(config: TrackerConfig, fps: float) -> TrackerConfig:
    """``config`` with the seed's ``init_min_frames`` counted at ``fps`` distinct frames a second
    instead of ``init_rate_fps``: proportionally fewer frames (at least 2) at a lower rate, unchanged
    at the same or a higher one. At 5 fps the real armstand's diver is boxed in 2-3 consecutive
    frames and cannot seed with 5, so a seated official's tracklet does (docs/tracker_robustness.md)."""
    s = config.seed
    if not s.enabled or s.init_rate_fps <= 0 or not 0 < fps < s.init_rate_fps:
        return config
    frames = max(2, int(round(s.init_min_frames * fps / s.init_rate_fps)))
    if frames >= s.init_min_frames:
        return config
    log.info("seed: %.3g distinct frames/s, tracklets of %d frames may seed (%d at %g fps)", fps, frames,
             s.init_min_frames, s.init_rate_fps)
    return config.with_(seed={"init_min_frames": frames})
