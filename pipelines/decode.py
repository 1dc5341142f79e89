"""The runner's decoding helpers (:mod:`fdpose.pipelines.runner`): per-stage timing, frames
decoded one batch at a time (decode time counted apart), and frames fetched by index."""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence

import numpy as np

from fdpose.pipelines.frames import ClipSource

__all__ = ["STAGES", "StageTimer", "timed_batches", "frames_at"]

#: Timed stages, in order (frames/s of each is reported).
STAGES: tuple[str, ...] = ("decode", "detect", "track", "pose", "interpolate", "write")


class StageTimer:
    """Seconds spent per stage of one clip (:data:`STAGES`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {s: 0.0 for s in STAGES}

    def add(self, stage: str, start: float) -> float:
        """Count the time since ``start`` (a ``perf_counter`` value) to ``stage``; returns now."""
        now = time.perf_counter()
        self.seconds[stage] += now - start
        return now


def timed_batches(source: ClipSource, batch: int, timer: StageTimer) -> Iterator[list[Any]]:
    """The clip's frames in batches of ``batch``, the decoding counted as the ``decode`` stage."""
    it = source.iter_batches(batch)
    while True:
        start = time.perf_counter()
        try:
            frames = next(it)
        except StopIteration:
            return
        timer.add("decode", start)
        yield frames


def frames_at(source: ClipSource, indices: Sequence[int]) -> list[np.ndarray]:
    """The ``(H, W, 3)`` images of the clip's frames at ``indices`` (one decode pass, in that order)."""
    want, last = set(indices), max(indices, default=-1)
    got: dict[int, np.ndarray] = {}
    for f in source.iter_frames():
        if f.frame_index > last:
            break
        if f.frame_index in want:
            got[f.frame_index] = f.image
    return [got[i] for i in indices]
