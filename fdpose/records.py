"""Typed records shared by every stage: a person box, a 16-joint pose and its provenance.

Coordinates are image pixels, x right, y down, 0-based; boxes are xyxy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fdpose.errors import ValidationError
from fdpose.skeleton import NUM_JOINTS


class JointSource(str, enum.Enum):
    """Where a joint's coordinates came from (kept per joint through every stage)."""

    MANUAL = "manual"
    ESTIMATED = "estimated"
    INTERPOLATED = "interpolated"
    MISSING = "missing"


@dataclass(frozen=True)
class PersonBox:
    """One person box: ``xyxy`` (4,) float64 pixels and a detector ``score`` in [0, 1]."""

    xyxy: np.ndarray
    score: float = 1.0

    def __post_init__(self) -> None:
        arr = np.asarray(self.xyxy, dtype=np.float64).reshape(-1)
        if arr.shape != (4,):
            raise ValidationError(f"box needs 4 numbers (x1, y1, x2, y2), got shape {np.shape(self.xyxy)}")
        if not np.all(np.isfinite(arr)):
            raise ValidationError(f"box has non-finite coordinates {arr.tolist()}")
        x1, y1, x2, y2 = arr
        # LabelMe rectangles may be drawn from any corner: normalise to x1<=x2, y1<=y2.
        ordered = np.array([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)])
        object.__setattr__(self, "xyxy", ordered)
        object.__setattr__(self, "score", float(self.score))

    @property
    def width(self) -> float:
        return float(self.xyxy[2] - self.xyxy[0])

    @property
    def height(self) -> float:
        return float(self.xyxy[3] - self.xyxy[1])

    @property
    def center(self) -> np.ndarray:
        """(2,) box centre (x, y)."""
        return np.array([(self.xyxy[0] + self.xyxy[2]) / 2, (self.xyxy[1] + self.xyxy[3]) / 2])

    @property
    def area(self) -> float:
        return self.width * self.height

    def enlarged(self, factor: float) -> "PersonBox":
        """The box scaled about its centre by ``factor`` (same score)."""
        c = self.center
        half = np.array([self.width, self.height]) * factor / 2
        return PersonBox(np.concatenate([c - half, c + half]), self.score)

    def to_list(self) -> list[float]:
        """``[x1, y1, x2, y2, score]`` for JSON."""
        return [*map(float, self.xyxy), self.score]

    @classmethod
    def from_list(cls, values: Any) -> "PersonBox":
        vals = list(values)
        if len(vals) not in (4, 5):
            raise ValidationError(f"box needs [x1, y1, x2, y2(, score)], got {len(vals)} numbers")
        return cls(np.asarray(vals[:4], dtype=np.float64), float(vals[4]) if len(vals) == 5 else 1.0)


def _source_array(values: Any) -> np.ndarray:
    arr = np.asarray([JointSource(v).value for v in values], dtype=object)
    if arr.shape != (NUM_JOINTS,):
        raise ValidationError(f"joint_source needs {NUM_JOINTS} entries, got {arr.shape[0]}")
    return arr


@dataclass
class Pose:
    """A 16-joint pose in MPII order.

    keypoints: (16, 3) float64 ``[x, y, c]``: pixels and a confidence in [0, 1]
    (for manual labels c is the visibility flag: 1 visible, 0 occluded/absent).
    source: (16,) object array of :class:`JointSource` values (as strings).
    """

    keypoints: np.ndarray
    source: np.ndarray = field(default_factory=lambda: np.full(NUM_JOINTS, JointSource.ESTIMATED.value, dtype=object))

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float64)
        if kp.shape == (NUM_JOINTS, 2):
            kp = np.concatenate([kp, np.ones((NUM_JOINTS, 1))], axis=1)
        if kp.shape != (NUM_JOINTS, 3):
            raise ValidationError(f"keypoints must be ({NUM_JOINTS}, 3) [x, y, c], got {kp.shape}")
        self.keypoints = kp
        self.source = _source_array(self.source)

    @property
    def xy(self) -> np.ndarray:
        """(16, 2) view of the coordinates."""
        return self.keypoints[:, :2]

    @property
    def confidence(self) -> np.ndarray:
        """(16,) confidence / visibility."""
        return self.keypoints[:, 2]

    def present(self) -> np.ndarray:
        """(16,) bool: joints that have finite coordinates and are not marked missing."""
        return np.isfinite(self.xy).all(axis=1) & (self.source != JointSource.MISSING.value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "keypoints": [[None if not np.isfinite(v) else float(v) for v in row] for row in self.keypoints],
            "joint_source": [str(s) for s in self.source],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Pose":
        kp = np.array([[np.nan if v is None else v for v in row] for row in d["keypoints"]], dtype=np.float64)
        return cls(kp, d.get("joint_source", [JointSource.ESTIMATED.value] * NUM_JOINTS))
