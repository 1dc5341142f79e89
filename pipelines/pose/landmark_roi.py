"""BlazePose's landmark model run directly on a region of interest built from the tracked box.

The ``mediapipe`` backend's detector path (``roi_source="detector"``, its default before session 10)
hands a 3x context crop to mediapipe's legacy Pose solution, which first runs BlazePose's own person
detector (face-anchored, trained on upright people) inside the crop and only then the landmark model
on the region that detector proposes. The tracker already has the diver's box, so ``roi_source="box"``
(the default) skips that second detector: this module runs the landmark model file itself (``pose_landmark_full.tflite``
from the mediapipe wheel, or heavy from install.sh) with ``ai_edge_litert`` on

- a square centred on the box, side ``roi_scale`` x the box's longer side, turned by each of the
  candidate angles ``roi_angles`` (relative to the orientation prior), warped with one affine
  (:mod:`.crop`) and mapped back with its exact inverse;
- each candidate refined by ``roi_refine`` more runs, each on the ROI mediapipe's own tracking
  derives from the last answer: centred on the model's hip-centre auxiliary landmark, turned so
  that the body-circle landmark points up, side ``ROI_FROM_LANDMARKS_SCALE`` x the circle's
  diameter (mediapipe's ``pose_landmarks_to_roi`` graph). The model was trained on such ROIs; a
  box says nothing about where the hips are or which way the body points;
- one candidate kept per box by ``roi_choice``: the heatmap score (``heatmap``: how sharply the
  model locates the joints, :class:`LandmarkResult`), the pose-presence flag (``presence``) or the
  medoid of the candidates (``medoid``, :mod:`.consensus`).

**Model contract** (checked on the tensors, never taken from a fixed index alone: :func:`pick_outputs`).
Input ``(1, 256, 256, 3)`` float32 RGB in [0, 1] (mediapipe's ``pose_landmark_by_roi_cpu`` graph:
``ImageToTensorCalculator`` with output range 0..1, a square ROI so no letterbox). Outputs, told
apart by shape: landmarks ``(1, 195)`` = 39 x ``[x, y, z, visibility, presence]`` with x, y in
input pixels (edges at 0 and 256) and visibility / presence as logits; the pose-presence flag
``(1, 1)``, a probability (mediapipe thresholds it at 0.5 without an activation); a segmentation
``(1, 256, 256, 1)``; a heatmap ``(1, 64, 64, 39)`` of logits, which mediapipe uses to refine x, y
(``RefineLandmarksFromHeatmapCalculator``, kernel 7, refined where the kernel's max sigmoid >=
0.5); world landmarks ``(1, 117)``. Landmarks 0-32 are the 33 BlazePose landmarks, 33 the hip
centre and 34 the body-circle point (the ROI of the next frame in mediapipe's tracking), 35-38
are not used by mediapipe's pose graph.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.errors import DependencyError, InputError
from fdpose.pipelines.pose.consensus import consensus_candidate
from fdpose.pipelines.pose.crop import CropTransform, box_crop, crop_transform, upright_angle, wrap_angle
from fdpose.pipelines.tflite import TFLiteNet, sigmoid
from fdpose.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

#: Side of the landmark model's square input, pixels.
INPUT_SIZE = 256
#: Landmarks in the model's output: 33 BlazePose + 2 auxiliary (ROI) + 4 unused.
MODEL_LANDMARKS = 39
#: Auxiliary landmarks: hip centre and the point on the body circle (mediapipe's next-frame ROI).
AUX_CENTRE, AUX_CIRCLE = 33, 34
#: mediapipe's ROI from landmarks: the square's side is this times the body circle's diameter.
ROI_FROM_LANDMARKS_SCALE = 1.5
#: Heatmap refinement (mediapipe's pose graph): kernel side and the sigmoid max needed to refine.
HEATMAP_KERNEL, HEATMAP_MIN_CONFIDENCE = 7, 0.5
#: Choice rules of ``roi_choice`` (:func:`choose_candidate`).
CHOICES = ("heatmap", "presence", "medoid")
#: Model files in the mediapipe wheel's ``modules/pose_landmark`` folder.
FULL_FILE = "pose_landmark_full.tflite"


def pick_outputs(details: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Tensor index of each named output (``landmarks``, ``presence``, ``segmentation``, ``heatmap``,
    ``world``) from the interpreter's output details, told apart by shape; ValueError naming what is
    missing or doubled when the model is not BlazePose's landmark model."""
    want = {"landmarks": (1, MODEL_LANDMARKS * 5), "presence": (1, 1),
            "segmentation": (1, INPUT_SIZE, INPUT_SIZE, 1), "heatmap": (1, 64, 64, MODEL_LANDMARKS),
            "world": (1, MODEL_LANDMARKS * 3)}
    found: dict[str, int] = {}
    for d in details:
        shape = tuple(int(v) for v in d["shape"])
        for name, s in want.items():
            if shape == s:
                if name in found:
                    raise ValueError(f"two outputs of shape {s} ({name})")
                found[name] = int(d["index"])
    missing = [n for n in ("landmarks", "presence", "heatmap") if n not in found]
    if missing:
        shapes = [tuple(int(v) for v in d["shape"]) for d in details]
        raise ValueError(f"not BlazePose's landmark model: no output for {', '.join(missing)} (outputs {shapes})")
    return found


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """mediapipe's heatmap refinement: ``(L, 2)`` landmark x, y in [0, 1] input units -> refined copy.

    ``heatmap`` ``(h, w, L)`` logits. For each landmark inside the map, the sigmoid-weighted mean of
    the cell indices in a ``kernel`` x ``kernel`` window at the landmark's cell, divided by the map's
    side (mediapipe's convention: cell ``c`` stands for ``c / w``, not its centre ``(c + 0.5) / w``;
    on the real dev clip mediapipe's convention scored best, docs/pose.md), replaces x, y where the
    window's largest sigmoid reaches ``min_confidence``.
    """
    hm_h, hm_w, n = heatmap.shape
    out = np.array(xy_norm, dtype=np.float64)
    half = (kernel - 1) // 2
    for i in range(min(n, len(out))):
        if not np.all(np.isfinite(out[i])):
            continue
        col, row = int(out[i, 0] * hm_w), int(out[i, 1] * hm_h)  # C++ truncation toward zero, as mediapipe
        if not (0 <= col < hm_w and 0 <= row < hm_h) or out[i, 0] < 0 or out[i, 1] < 0:
            continue
        r0, r1, c0, c1 = max(0, row - half), min(hm_h, row + half + 1), max(0, col - half), min(hm_w, col + half + 1)
        conf = sigmoid(heatmap[r0:r1, c0:c1, i])
        total = conf.sum()
        if conf.max() >= min_confidence and total > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            out[i] = [(cols * conf).sum() / hm_w / total, (rows * conf).sum() / hm_h / total]
    return out


def decode_landmarks(raw: np.ndarray, heatmap: Optional[np.ndarray] = None, size: int = INPUT_SIZE) -> np.ndarray:
    """The landmark tensor ``(195,)`` -> ``(39, 5)`` ``[x, y, z, visibility, presence]`` in input pixels.

    x, y with pixel centres at integers (the model's edges-at-0 units minus 0.5, as everywhere in
    fdpose); visibility and presence through a sigmoid; x, y refined from ``heatmap`` ``(64, 64, 39)``
    logits when given (:func:`refine_from_heatmap`).
    """
    r = np.asarray(raw, dtype=np.float64).reshape(-1)
    if r.size != MODEL_LANDMARKS * 5:
        raise ValueError(f"expected {MODEL_LANDMARKS * 5} landmark values, got {r.size}")
    lm = r.reshape(MODEL_LANDMARKS, 5).copy()
    if heatmap is not None:
        lm[:, :2] = refine_from_heatmap(lm[:, :2] / size, np.asarray(heatmap, dtype=np.float64)) * size
    lm[:, :2] -= 0.5
    lm[:, 3:] = sigmoid(lm[:, 3:])
    return lm


def landmark_model_path(model_complexity: int) -> Path:
    """The ``.tflite`` of BlazePose full (in the mediapipe wheel) or heavy (install.sh, sha256-checked)."""
    if model_complexity == 2:
        from fdpose.model_files import POSE_LANDMARK_HEAVY, model_file

        return model_file(POSE_LANDMARK_HEAVY)
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("roi_source=box needs the mediapipe wheel (its pose_landmark_full.tflite)")
    path = Path(list(spec.submodule_search_locations)[0]) / "modules" / "pose_landmark" / FULL_FILE
    if not path.is_file():
        raise DependencyError(f"{path}: BlazePose's landmark model is not in the mediapipe wheel")
    return path


@dataclass(frozen=True)
class LandmarkResult:
    """One landmark-model run: ``landmarks`` ``(39, 5)`` ``[x, y, z, visibility, presence]`` in the
    input's pixels, the pose-presence flag in [0, 1] and the heatmap score in [0, 1] (the mean over
    the 33 BlazePose landmarks of their heatmap channel's largest sigmoid: how sharply the model
    locates the joints)."""

    landmarks: np.ndarray
    presence: float
    heatmap: float


class LandmarkModel:
    """BlazePose's landmark model on a 256x256 crop (one interpreter: one per worker, not thread-safe)."""

    def __init__(self, model_complexity: int = 1, num_threads: int = 1, path: Optional[Path] = None,
                 heatmap_refine: bool = True) -> None:
        self.path = Path(path) if path is not None else landmark_model_path(model_complexity)
        self.heatmap_refine = heatmap_refine
        self._tflite = TFLiteNet(self.path, num_threads, "roi_source=box", __name__)
        self._net = self._tflite.net
        inp = self._net.get_input_details()
        if len(inp) != 1 or tuple(inp[0]["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3) \
                or inp[0]["dtype"] != np.float32:
            raise InputError(f"expected one (1, {INPUT_SIZE}, {INPUT_SIZE}, 3) float32 input, got "
                             f"{[(tuple(d['shape']), d['dtype']) for d in inp]}", self.path)
        self._input = int(inp[0]["index"])
        try:
            self.outputs = pick_outputs(self._net.get_output_details())
        except ValueError as err:
            raise InputError(str(err), self.path) from None

    def run(self, crop_bgr: np.ndarray) -> LandmarkResult:
        """Landmarks of a ``(256, 256, 3)`` uint8 BGR crop (RGB in [0, 1] for the model)."""
        if crop_bgr.shape != (INPUT_SIZE, INPUT_SIZE, 3) or crop_bgr.dtype != np.uint8:
            raise ValueError(f"expected a ({INPUT_SIZE}, {INPUT_SIZE}, 3) uint8 crop, got {crop_bgr.shape} "
                             f"{crop_bgr.dtype}")
        x = np.ascontiguousarray(crop_bgr[..., ::-1], dtype=np.float32) / 255.0
        self._net.set_tensor(self._input, x[None])
        self._tflite.invoke()
        raw = self._net.get_tensor(self.outputs["landmarks"])[0]
        heat = self._net.get_tensor(self.outputs["heatmap"])[0]
        presence = float(self._net.get_tensor(self.outputs["presence"]).reshape(-1)[0])
        score = float(sigmoid(heat[..., :33].max(axis=(0, 1))).mean())  # sigmoid is monotone: max first
        return LandmarkResult(decode_landmarks(raw, heat if self.heatmap_refine else None), presence, score)

    def close(self) -> None:
        self._net = None
        self._tflite = None


def roi_from_landmarks(landmarks: np.ndarray, scale: float = ROI_FROM_LANDMARKS_SCALE,
                       size: int = INPUT_SIZE, max_side: float = math.inf) -> Optional[CropTransform]:
    """mediapipe's next-frame ROI from image-pixel landmarks ``(39, >=2)``: centred on the hip centre,
    turned so the body-circle point is straight up, side ``scale`` x the circle's diameter, at most
    ``max_side`` pixels; None when the two auxiliary landmarks coincide or are not finite."""
    c, p = np.asarray(landmarks[AUX_CENTRE, :2], float), np.asarray(landmarks[AUX_CIRCLE, :2], float)
    radius = float(np.hypot(*(p - c)))
    if not (np.all(np.isfinite(c)) and math.isfinite(radius)) or radius < 1.0:
        return None
    return crop_transform(c, min(2.0 * radius * scale, max_side), upright_angle(p - c), size)


@dataclass
class RoiTrace:
    """What the ROI path did for one box: the angle of the kept candidate, runs, its presence flag."""

    angle: float
    tries: int
    presence: float


class BoxRoiPose:
    """The ``roi_source="box"`` path of :class:`~.mediapipe.MediaPipePoseEstimator` (config duck-typed:
    ``roi_scale``, ``roi_angles``, ``roi_choice``, ``roi_refine``, ``roi_max_growth``, ``roi_min_presence``,
    ``roi_fallback_angles``,
    ``border_value``, ``model_complexity``)."""

    def __init__(self, config: Any, to_mpii: Any, model: Optional[LandmarkModel] = None) -> None:
        self.config = config
        self.to_mpii = to_mpii  # blazepose_to_mpii, passed in: .mediapipe imports this module
        self.model = model or LandmarkModel(int(config.model_complexity))

    def _run(self, image: np.ndarray, crop: CropTransform) -> LandmarkResult:
        res = self.model.run(crop.warp(image, self.config.border_value))
        lm = res.landmarks.copy()
        lm[:, :2] = crop.to_image(lm[:, :2])
        return LandmarkResult(lm, res.presence, res.heatmap)

    def _refined(self, image: np.ndarray, box: np.ndarray, angle: float) -> tuple[LandmarkResult, int]:
        """The result on the box's region turned by ``angle`` after ``roi_refine`` runs on the model's own
        region (re-centred, re-turned, re-scaled on its body circle), and the runs made."""
        res, tries = self._run(image, box_crop(box, self.config.roi_scale, angle, INPUT_SIZE)), 1
        # a body cut off by the frame edge puts the body-circle point ever further out: each run would widen the
        # region again (mediapipe smooths these two landmarks over time instead); the box bounds it
        max_side = self.config.roi_max_growth * max(box[2] - box[0], box[3] - box[1], 1.0)
        for _ in range(int(self.config.roi_refine)):
            roi = roi_from_landmarks(res.landmarks, max_side=max_side)
            if roi is None:
                break
            res, tries = self._run(image, roi), tries + 1
        return res, tries

    def landmarks(self, image: np.ndarray, box: np.ndarray, base_angle: float) -> tuple[np.ndarray, RoiTrace]:
        """Image-pixel landmarks ``(39, 5)`` of the person in ``box`` (xyxy) and the trace (its presence flag
        decides whether the pose is output: the caller's ``roi_min_presence``). ``base_angle``: the
        orientation prior (degrees). When the kept candidate's flag is below ``roi_min_presence`` (a stale or
        missing prior, e.g. the first frame after a gap with the diver horizontal), the ``roi_fallback_angles``
        (relative to the prior) are run too and the choice is made again among all candidates."""
        cfg = self.config
        scale = max(math.hypot(box[2] - box[0], box[3] - box[1]), 1.0)
        angles = [wrap_angle(base_angle + a) for a in cfg.roi_angles] or [wrap_angle(base_angle)]
        results, tries = [], 0
        for group in (angles, [wrap_angle(base_angle + a) for a in cfg.roi_fallback_angles]):
            if group is not angles:
                angles = angles + group
            for angle in group:
                res, runs = self._refined(image, box, angle)
                results.append(res)
                tries += runs
            k = choose_candidate(results, cfg.roi_choice, scale, self.to_mpii)
            if results[k].presence >= cfg.roi_min_presence:
                break
        trace = RoiTrace(angle=angles[k], tries=tries, presence=results[k].presence)
        return results[k].landmarks, trace

    def close(self) -> None:
        self.model.close()


def choose_candidate(results: Sequence[LandmarkResult], rule: str, scale: float, to_mpii: Any) -> int:
    """Index of the kept candidate among ``K >= 1`` landmark-model results of one box.

    ``heatmap``: the largest heatmap score; ``presence``: the largest pose-presence flag; ``medoid``:
    :func:`~.consensus.consensus_candidate` of their MPII-16 poses (``to_mpii`` maps ``(33, 3)``
    ``[x, y, visibility]``; ``scale``: the box diagonal), which with fewer than three candidates keeps
    the most confident.
    """
    if rule not in CHOICES:
        raise ValueError(f"roi_choice must be one of {', '.join(CHOICES)}, got {rule!r}")
    if not results:
        raise ValueError("no candidate to choose from")
    if rule == "heatmap":
        return int(np.argmax([r.heatmap for r in results]))
    if rule == "presence":
        return int(np.argmax([r.presence for r in results]))
    poses = np.stack([to_mpii(r.landmarks[:33, [0, 1, 3]]) for r in results])
    if poses.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"to_mpii must give ({NUM_JOINTS}, 3) poses, got {poses.shape[1:]}")
    return int(consensus_candidate(poses, scale))


__all__ = ["BoxRoiPose", "CHOICES", "LandmarkModel", "LandmarkResult", "RoiTrace", "choose_candidate",
           "decode_landmarks", "landmark_model_path", "pick_outputs", "refine_from_heatmap", "roi_from_landmarks"]
