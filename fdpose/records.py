"""Typed records shared by every stage: person boxes, a 16-joint pose and its provenance.

Coordinates are image pixels, x right, y down, 0-based; boxes are xyxy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

from fdpose.errors import ValidationError
from fdpose.metrics.boxes import iou as _iou_one
from fdpose.skeleton import NUM_JOINTS


class JointSource(str, enum.Enum):
    """Where a joint's coordinates came from (kept per joint through every stage)."""

    MANUAL = "manual"
    ESTIMATED = "estimated"
    INTERPOLATED = "interpolated"
    MISSING = "missing"


#: What indexes a :class:`Boxes`: a position, a slice, a (K,) bool mask or an index array.
BoxIndex = Union[int, slice, np.ndarray, list[int]]


@dataclass(frozen=True, eq=False)
class Boxes:
    """Candidate person boxes of one frame: the record detectors return and the tracker reads.

    xyxy: (K, 4) float64 pixels ``[x1, y1, x2, y2]`` with ``x1 <= x2`` and ``y1 <= y2``.
    score: (K,) float64 detector confidence (1.0 for a box a person drew).
    ``K`` may be 0. Both arrays are read-only copies: a record never changes under its reader.
    Files keep their own layouts (MOT lines, JSON ``[x1, y1, x2, y2, score]`` rows): the
    conversions live at the readers and writers (:meth:`from_rows`, :meth:`rows`).
    """

    xyxy: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.array(self.xyxy, dtype=np.float64)
        score = np.array(self.score, dtype=np.float64)
        if xyxy.size == 0 and score.size == 0:
            xyxy, score = xyxy.reshape(0, 4), score.reshape(0)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValidationError(f"boxes need xyxy of shape (K, 4), got {xyxy.shape}")
        if score.shape != (xyxy.shape[0],):
            raise ValidationError(f"boxes need one score per box: xyxy {xyxy.shape}, score {score.shape}")
        if not (np.isfinite(xyxy).all() and np.isfinite(score).all()):
            bad = int(np.flatnonzero(~(np.isfinite(xyxy).all(axis=1) & np.isfinite(score)))[0])
            raise ValidationError(f"box {bad} has non-finite values {[*xyxy[bad].tolist(), float(score[bad])]}")
        wrong = (xyxy[:, 0] > xyxy[:, 2]) | (xyxy[:, 1] > xyxy[:, 3])
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            raise ValidationError(f"box {bad} has x1 > x2 or y1 > y2: {xyxy[bad].tolist()}")
        xyxy.flags.writeable = False
        score.flags.writeable = False
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> "Boxes":
        """No boxes: xyxy (0, 4), score (0,)."""
        return cls(np.zeros((0, 4)), np.zeros(0))

    @classmethod
    def from_xywh(cls, xywh: Any, score: Optional[Any] = None) -> "Boxes":
        """From (K, 4) ``[x, y, w, h]`` (MOT / COCO layout); ``score`` (K,) defaults to 1.0."""
        a = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
        if (a[:, 2:] < 0).any():
            raise ValidationError(f"boxes need w, h >= 0, got {a[(a[:, 2:] < 0).any(axis=1)][0].tolist()}")
        sc = np.ones(len(a)) if score is None else score
        return cls(np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], axis=1), sc)

    @classmethod
    def from_rows(cls, rows: Any, where: str = "boxes") -> "Boxes":
        """From rows ``[x1, y1, x2, y2(, score)]`` (K, 5) or (K, 4) (score 1.0), as the JSON files and
        older callers hold them; a :class:`Boxes` passes through. Corners given in any order are
        sorted (a rectangle may be drawn from any corner). Errors name ``where``."""
        if isinstance(rows, Boxes):
            return rows
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"{where}: expected (K, 5) [x1, y1, x2, y2, score] numbers") from None
        if arr.size == 0:
            return cls.empty()
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] not in (4, 5):
            raise ValidationError(f"{where}: expected (K, 5) [x1, y1, x2, y2, score], got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValidationError(f"{where}: non-finite box values")
        xyxy = np.concatenate([np.minimum(arr[:, :2], arr[:, 2:4]), np.maximum(arr[:, :2], arr[:, 2:4])], axis=1)
        return cls(xyxy, arr[:, 4] if arr.shape[1] == 5 else np.ones(len(arr)))

    @classmethod
    def concat(cls, parts: "list[Boxes]") -> "Boxes":
        """The boxes of ``parts`` one after the other."""
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.xyxy for p in parts]), np.concatenate([p.score for p in parts]))

    # -- views --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: BoxIndex) -> "Boxes":
        """A position gives a 1-box record; a slice, bool mask or index array the chosen boxes."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Boxes(self.xyxy[index], self.score[index])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Boxes) and np.array_equal(self.xyxy, other.xyxy)
                and np.array_equal(self.score, other.score))

    def __repr__(self) -> str:
        return f"Boxes(K={len(self)}, rows={self.rows().round(2).tolist()})"

    def rows(self) -> np.ndarray:
        """(K, 5) float64 ``[x1, y1, x2, y2, score]``: the layout of the JSON files and the tracker's maths."""
        return np.concatenate([self.xyxy, self.score[:, None]], axis=1)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self.rows()
        return rows if dtype is None else rows.astype(dtype)

    def filter(self, keep: np.ndarray) -> "Boxes":
        """The boxes where the (K,) bool ``keep`` is true."""
        return self[np.asarray(keep, dtype=bool)]

    def above(self, threshold: float) -> "Boxes":
        """The boxes scoring at least ``threshold``."""
        return self.filter(self.score >= threshold)

    @property
    def widths(self) -> np.ndarray:
        """(K,) x2 - x1."""
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def heights(self) -> np.ndarray:
        """(K,) y2 - y1."""
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def areas(self) -> np.ndarray:
        """(K,) box areas."""
        return self.widths * self.heights

    @property
    def centers(self) -> np.ndarray:
        """(K, 2) box centres (x, y)."""
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2

    def xywh(self) -> np.ndarray:
        """(K, 4) ``[x, y, w, h]`` (MOT / COCO layout)."""
        return np.concatenate([self.xyxy[:, :2], self.xyxy[:, 2:] - self.xyxy[:, :2]], axis=1)

    def iou(self, other: "Boxes") -> np.ndarray:
        """(K, M) intersection over union with ``other``'s M boxes (0 for disjoint or empty boxes)."""
        out = np.zeros((len(self), len(other)))
        if len(other):
            for k, box in enumerate(self.xyxy):
                out[k] = _iou_one(box, other.xyxy)
        return out


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
