"""The person-detector contract shared by every detection backend.

A detector takes a batch of frames and returns, per frame, the candidate person boxes as one
:class:`fdpose.records.Boxes` (xyxy (K_t, 4) in image pixels, x right, y down, 0-based, and
score (K_t,) in [0, 1]). ``K_t`` may be 0. The tracker (:mod:`fdpose.pipelines.tracking`) picks
the diver among these candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from fdpose.records import Boxes


@dataclass(frozen=True)
class BackendInfo:
    """Name, version and checkpoint of a model backend, recorded in every per-clip JSON."""

    name: str
    version: Optional[str] = None
    checkpoint: Optional[str] = None

    def to_dict(self) -> dict[str, Optional[str]]:
        return {"name": self.name, "version": self.version, "checkpoint": self.checkpoint}


@runtime_checkable
class PersonDetector(Protocol):
    """A batched person detector.

    ``detect(frames, frame_indices)`` gets a list of ``(H, W, 3) uint8`` BGR images and their
    0-based positions in the clip, and returns one :class:`Boxes` per frame, in order.
    Backends that do not need pixels (precomputed files) use only ``frame_indices``.
    ``info`` names the backend, its version and checkpoint for the per-clip JSON.
    """

    @property
    def info(self) -> BackendInfo: ...

    def detect(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Boxes]: ...
