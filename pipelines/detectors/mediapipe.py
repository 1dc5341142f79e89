"""The ``mediapipe`` person detector: BlazePose's own detector + landmarks, inside the wheel (offline).

BlazePose (``mp.solutions.pose``, ``static_image_mode=True``) runs on the whole frame and
returns **at most one person per frame** (the one its detector ranks first). The box is the
extent of that person's landmarks: all 33 BlazePose landmarks plus the MPII head top derived
from them (:func:`fdpose.pipelines.pose.mediapipe.blazepose_to_mpii`, since the highest
landmark is an eye, not the crown), clipped to the frame and enlarged by ``margin`` of its
size on every side (landmarks are joint centres, the body extends beyond them). The score is
the mean visibility of the 33 landmarks (the legacy API exposes no detector score).

On diving frames the one returned person is usually the diver, but the detector needs
context: on a tight crop around the diver it fails; give it whole frames (or crops of a few
times the diver box). One candidate per frame means the tracker
cannot choose between people: frames where BlazePose picks a spectator are rejected by the
tracker's jump gate and become misses.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.records import Boxes
from fdpose.pipelines.pose.base import check_image
from fdpose.pipelines.pose.mediapipe import MODEL_NAME, BlazePose, blazepose_to_mpii
from fdpose.skeleton import HEAD_TOP

log = logging.getLogger(__name__)


def landmarks_box(landmarks: np.ndarray, image_width: int, image_height: int, margin: float = 0.1,
                  ) -> Optional[np.ndarray]:
    """``(5,)`` ``[x1, y1, x2, y2, score]`` around BlazePose landmarks ``(33, 3)`` (pixels + visibility).

    Returns None when the clipped box is empty (the person lies outside the frame).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    head_top = blazepose_to_mpii(lm)[HEAD_TOP, :2]
    pts = np.vstack([lm[:, :2], head_top[None]])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return None
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    x1, x2 = np.clip([x1 - mx, x2 + mx], 0, image_width - 1)
    y1, y2 = np.clip([y1 - my, y2 + my], 0, image_height - 1)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    score = float(np.clip(np.mean(np.clip(lm[:, 2], 0, 1)), 0, 1))
    return np.array([x1, y1, x2, y2, score])


class MediaPipeDetector:
    """The ``mediapipe`` backend of the :class:`~.base.PersonDetector` protocol (one box per frame)."""

    def __init__(self, min_detection_confidence: float = 0.5, margin: float = 0.1, min_score: float = 0.0) -> None:
        if not 0 <= min_detection_confidence <= 1 or not 0 <= min_score <= 1 or margin < 0:
            raise ConfigError("mediapipe detector: confidences must lie in [0, 1] and margin must be >= 0")
        self.margin = float(margin)
        self.min_score = float(min_score)
        self._model = BlazePose(min_detection_confidence)

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(name="mediapipe", version=self._model.version, checkpoint=MODEL_NAME)

    def detect_one(self, image_bgr: np.ndarray) -> Boxes:
        """K in {0, 1} boxes: the BlazePose person of one frame."""
        image = check_image(image_bgr)
        lm = self._model.landmarks(image)
        if lm is None:
            return Boxes.empty()
        box = landmarks_box(lm, image.shape[1], image.shape[0], self.margin)
        if box is None or box[4] < self.min_score:
            return Boxes.empty()
        return Boxes.from_rows(box[None])

    def detect(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Boxes]:
        """One :class:`Boxes` per frame (K_t <= 1). Frames run one by one: BlazePose has no batch."""
        return [self.detect_one(f) for f in frames]

    def close(self) -> None:
        self._model.close()

    def __enter__(self) -> "MediaPipeDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_detector(cfg: Any) -> MediaPipeDetector:
    """The pipeline runner's factory (``RunConfig`` duck-typed: this backend needs none of it)."""
    return MediaPipeDetector()
