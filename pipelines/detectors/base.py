"""The person-detector contract shared by every detection backend.

A detector takes a batch of frames and returns, per frame, an array of candidate person boxes
``(K_t, 5)`` float64: ``[x1, y1, x2, y2, score]`` in image pixels (x right, y down, 0-based),
``x1 <= x2``, ``y1 <= y2``, score in [0, 1]. ``K_t`` may be 0 (shape ``(0, 5)``). The tracker
(:mod:`fdpose.pipelines.tracking`) picks the diver among these candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from fdpose.errors import ValidationError

#: Columns of a candidate box array.
BOX_COLUMNS: tuple[str, ...] = ("x1", "y1", "x2", "y2", "score")


@dataclass(frozen=True)
class BackendInfo:
    """Name, version and checkpoint of a model backend, recorded in every per-clip JSON."""

    name: str
    version: Optional[str] = None
    checkpoint: Optional[str] = None

    def to_dict(self) -> dict[str, Optional[str]]:
        return {"name": self.name, "version": self.version, "checkpoint": self.checkpoint}


@dataclass(frozen=True)
class Detection:
    """One candidate person box in one frame (0-based ``frame_index``).

    ``track_id`` is whatever id the source carried (MOT files have one column for it); the
    diver tracker never uses it.
    """

    frame_index: int
    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    track_id: Optional[int] = None

    def as_row(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2, self.score]


def empty_boxes() -> np.ndarray:
    """A ``(0, 5)`` float64 array: a frame without candidates."""
    return np.zeros((0, 5), dtype=np.float64)


def as_box_array(values: Any, where: str = "boxes") -> np.ndarray:
    """Validate and normalise candidate boxes into a ``(K, 5)`` float64 array.

    Accepts anything array-like of shape (K, 5) (or (K, 4): score 1.0) including an empty list.
    Corners are reordered so ``x1 <= x2`` and ``y1 <= y2``. Raises :class:`ValidationError`
    naming ``where`` for a wrong shape or non-finite numbers.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return empty_boxes()
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise ValidationError(f"{where}: expected (K, 5) [x1, y1, x2, y2, score], got shape {arr.shape}")
    if arr.shape[1] == 4:
        arr = np.concatenate([arr, np.ones((arr.shape[0], 1))], axis=1)
    if not np.all(np.isfinite(arr)):
        raise ValidationError(f"{where}: non-finite box values")
    out = arr.copy()
    out[:, 0] = np.minimum(arr[:, 0], arr[:, 2])
    out[:, 2] = np.maximum(arr[:, 0], arr[:, 2])
    out[:, 1] = np.minimum(arr[:, 1], arr[:, 3])
    out[:, 3] = np.maximum(arr[:, 1], arr[:, 3])
    return out


@runtime_checkable
class PersonDetector(Protocol):
    """A batched person detector.

    ``detect(frames, frame_indices)`` gets a list of ``(H, W, 3) uint8`` BGR images and their
    0-based positions in the clip, and returns one ``(K_t, 5)`` array per frame, in order.
    Backends that do not need pixels (precomputed files) use only ``frame_indices``.
    ``info`` names the backend, its version and checkpoint for the per-clip JSON.
    """

    @property
    def info(self) -> BackendInfo: ...

    def detect(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[np.ndarray]: ...
