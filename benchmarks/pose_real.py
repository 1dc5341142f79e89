"""PCKh@0.5 of the mediapipe pose variants on the labelled real dev clip (``finediving_10m_clipA``).

    OMP_NUM_THREADS=1 python benchmarks/pose_real.py [--shared ../shared] [--variants a,b] [--json]

For every variant, BlazePose runs on the 34 frames of the clip and the MPII-16 joints are
scored against the human labels (``labels_mpii.json``) with :func:`fdpose.metrics.pose.pckh`
(head-size proxy ``|head_top - upper_neck|`` of the label). Three columns per variant:

- ``raw``: the backend's output (a joint the model did not place counts as wrong);
- ``interp 0.3``: after the pipeline's interpolation with its default rule (joints below
  confidence 0.3 replaced from their neighbours, Eq. 27);
- ``interp 0``: after interpolation of missing joints only.

Boxes: ``whole`` runs BlazePose on the whole frame (the model alone, no box); ``oracle`` gives
the crop path the label's joint extent + 10% per side (what the ``mediapipe`` detector's
landmark box looks like); ``tracked`` gives it the boxes of the ``mediapipe`` detector +
tracker (the pipeline as run by ``track-and-estimate --detector mediapipe``); ``ssd-tracked`` the
boxes of the no-flag default's tracking. Variants named ``box ...`` run the default path (since
session 10: BlazePose's landmark model on the box's ROI, ``roi_source="box"``); the others the
detector path (``roi_source="detector"``, the default before). ms/frame is the pose stage alone
(noisy when the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from fdpose.metrics.pose import pckh
from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints
from fdpose.pipelines.pose.mediapipe import MediaPipePoseConfig, MediaPipePoseEstimator, blazepose_to_mpii

CLIP = "finediving_10m_clipA"
#: The backend as it was before docs/pose.md (context 2.5); variants change one or two fields.
#: The detector path (mediapipe's Pose solution on a context crop), the default before session 10: the rows
#: measured before then use it.
DETECTOR = MediaPipePoseConfig(roi_source="detector")
BASE = MediaPipePoseConfig(roi_source="detector", context=2.5, max_frame_share=0.0, model_complexity=1, orient=True, candidate_angles=(),
                           flip_test=False, whole_frame=False)
ORIENT4 = (90.0, 180.0, -90.0)

#: roi_source="box" variants (name -> config fields changed from the defaults), each run on the oracle and the
#: ssd-tracked boxes. Defaults of the box path: first ROI 1.5 x the box turned by the orientation prior, 2
#: refinement runs on the model's own ROI; with several angles the heatmap score chooses.
Q8 = (0.0, 45.0, 90.0, 135.0, 180.0, -135.0, -90.0, -45.0)
BOX_VARIANTS: dict[str, dict[str, Any]] = {
    "q1 (prior angle only)": {},
    "(s1.5 q8 r2 heatmap)": {"roi_angles": Q8},
    "q4": {"roi_angles": (0.0, 90.0, 180.0, -90.0)},
    "r0": {"roi_refine": 0, "roi_angles": Q8}, "r1": {"roi_refine": 1, "roi_angles": Q8},
    "r3": {"roi_refine": 3, "roi_angles": Q8},
    "s1.25": {"roi_scale": 1.25, "roi_angles": Q8}, "s2.0": {"roi_scale": 2.0, "roi_angles": Q8},
    "presence": {"roi_choice": "presence", "roi_angles": Q8}, "medoid": {"roi_choice": "medoid", "roi_angles": Q8},
    "no-orient": {"orient": False, "roi_angles": Q8},
    "heavy": {"model_complexity": 2, "roi_angles": Q8},
    # one ROI per frame, turned by the orientation prior (the previous frame's body axis), refined
    "q1 r1": {"roi_angles": (0.0,), "roi_refine": 1}, "q1 r3": {"roi_angles": (0.0,), "roi_refine": 3},
    "q1 s1.25": {"roi_angles": (0.0,), "roi_scale": 1.25}, "q1 s2.0": {"roi_angles": (0.0,), "roi_scale": 2.0},
    "q1 heavy": {"roi_angles": (0.0,), "model_complexity": 2},
    "q1 min-presence 0": {"roi_min_presence": 0.0},
    "q1 fallback 180/90/-90": {"roi_fallback_angles": (180.0, 90.0, -90.0)},
    "q1 + whole": {"whole_frame": True},
    "q1 heavy r3": {"model_complexity": 2, "roi_refine": 3},
    "q2 (prior +180)": {"roi_angles": (0.0, 180.0)},
    "q3 (prior +-90)": {"roi_angles": (0.0, 90.0, -90.0)},
}

#: name -> (boxes, config); "whole" ignores the config's crop settings.
VARIANTS: dict[str, tuple[str, MediaPipePoseConfig]] = {
    "whole full": ("whole", BASE),
    "whole heavy": ("whole", replace(BASE, model_complexity=2)),
    "whole heavy flip": ("whole", replace(BASE, model_complexity=2, flip_test=True)),
    "crop full (old default)": ("oracle", BASE),
    "crop full no-orient": ("oracle", replace(BASE, orient=False)),
    "crop full ctx 1.5": ("oracle", replace(BASE, context=1.5)),
    "crop full ctx 2.0": ("oracle", replace(BASE, context=2.0)),
    "crop full ctx 3.0": ("oracle", replace(BASE, context=3.0)),
    "crop full ctx 4.0": ("oracle", replace(BASE, context=4.0)),
    "crop full 4 orient": ("oracle", replace(BASE, candidate_angles=ORIENT4)),
    "crop full flip": ("oracle", replace(BASE, flip_test=True)),
    "crop heavy": ("oracle", replace(BASE, model_complexity=2)),
    "crop heavy no-orient": ("oracle", replace(BASE, model_complexity=2, orient=False)),
    "crop heavy ctx 2.0": ("oracle", replace(BASE, model_complexity=2, context=2.0)),
    "crop heavy ctx 3.0": ("oracle", replace(BASE, model_complexity=2, context=3.0)),
    "crop heavy 4 orient": ("oracle", replace(BASE, model_complexity=2, candidate_angles=ORIENT4)),
    "crop heavy flip": ("oracle", replace(BASE, model_complexity=2, flip_test=True)),
    "crop heavy 4 orient flip": ("oracle", replace(BASE, model_complexity=2, candidate_angles=ORIENT4,
                                                   flip_test=True)),
    "crop heavy + whole": ("oracle", replace(BASE, model_complexity=2, whole_frame=True)),
    "crop heavy 4 orient + whole": ("oracle", replace(BASE, model_complexity=2, candidate_angles=ORIENT4,
                                                      whole_frame=True)),
    "crop full ctx 3.0 no-orient": ("oracle", replace(BASE, context=3.0, orient=False)),
    "crop full ctx 3.5": ("oracle", replace(BASE, context=3.5)),
    "crop full ctx 3.0 flip": ("oracle", replace(BASE, context=3.0, flip_test=True)),
    "crop full ctx 3.0 + whole": ("oracle", replace(BASE, context=3.0, whole_frame=True)),
    "crop heavy ctx 3.0 + whole": ("oracle", replace(BASE, context=3.0, model_complexity=2, whole_frame=True)),
    "crop full ctx 3.0 + whole tracked": ("tracked", replace(BASE, context=3.0, whole_frame=True)),
    "crop full ctx 3.0 tracked": ("tracked", replace(BASE, context=3.0)),
    "crop full ctx 3.0 share 0.8": ("oracle", replace(BASE, context=3.0, max_frame_share=0.8)),
    "crop full ctx 3.0 share 1.2": ("oracle", replace(BASE, context=3.0, max_frame_share=1.2)),
    "crop full ctx 3.5 share 1.0": ("oracle", replace(BASE, context=3.5, max_frame_share=1.0)),
    "default (ctx 3.0 share 1.0)": ("oracle", DETECTOR),
    "default tracked": ("tracked", DETECTOR),
    "old default tracked": ("tracked", BASE),
    # rotation consensus (session 9): every crop also turned by these angles, the pose the others agree with kept;
    # "ssd-tracked": the boxes of the no-flag default (ssd + pixel camera + tracker with re-detection)
    "default ssd-tracked": ("ssd-tracked", DETECTOR),
    "consensus 120/240": ("oracle", replace(DETECTOR, consensus_angles=(120.0, 240.0))),
    "consensus 120/240 ssd-tracked": ("ssd-tracked", replace(DETECTOR, consensus_angles=(120.0, 240.0))),
    "consensus 90/180/270": ("oracle", replace(DETECTOR, consensus_angles=ORIENT4)),
    "consensus 90/180/270 ssd-tracked": ("ssd-tracked", replace(DETECTOR, consensus_angles=ORIENT4)),
    "consensus 135/225 no-orient": ("oracle", replace(DETECTOR, orient=False,
                                                      consensus_angles=(135.0, 225.0))),
    "consensus 135/225 no-orient ssd-tracked": ("ssd-tracked", replace(DETECTOR, orient=False,
                                                                       consensus_angles=(135.0, 225.0))),
    # session 10: the landmark model alone on a ROI of the tracked box (roi_source="box", no BlazePose detector)
    **{f"box {label}{suffix}": (kind, replace(DETECTOR, roi_source="box", **opts))
       for label, opts in BOX_VARIANTS.items() for suffix, kind in (("", "oracle"), (" ssd-tracked", "ssd-tracked"))},
    # the whole runner (track-and-estimate), scored on what it writes (its own interpolation included)
    "pipeline ssd (no-flag default)": ("pipeline:ssd", MediaPipePoseConfig()),
    "pipeline mediapipe detector": ("pipeline:mediapipe", MediaPipePoseConfig()),
    # the same runs with --pose-set (the config's fields that differ from the default are passed)
    "pipeline ssd --pose-set consensus 120/240": (
        "pipeline:ssd", replace(DETECTOR, consensus_angles=(120.0, 240.0))),
    "pipeline ssd --pose-set consensus 135/225 no-orient": (
        "pipeline:ssd", replace(DETECTOR, orient=False, consensus_angles=(135.0, 225.0))),
    "pipeline ssd --pose-set heavy": ("pipeline:ssd", replace(DETECTOR, model_complexity=2)),
    "pipeline ssd --pose-set roi_source=detector": ("pipeline:ssd", DETECTOR),
    "pipeline mediapipe detector --pose-set roi_source=detector": ("pipeline:mediapipe", DETECTOR),
    "box q1 (prior angle only) tracked": ("tracked", replace(MediaPipePoseConfig(), roi_source="box")),
    "box q1 fallback 180/90/-90 tracked": ("tracked", replace(MediaPipePoseConfig(),
                                                               roi_fallback_angles=(180.0, 90.0, -90.0))),
}


def shared_dir(arg: str | None) -> Path:
    for cand in [arg, os.environ.get("FDPOSE_SHARED"), str(Path(__file__).resolve().parents[1].parent / "shared")]:
        if cand and (Path(cand) / "data" / "real").is_dir():
            return Path(cand)
    raise SystemExit("error: ../shared/data/real not found (pass --shared)")


def load_clip(folder: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames (BGR), label joints (T, 16, 2) and visibility (T, 16) of a labelled real clip."""
    import cv2

    labels = json.loads((folder / "labels_mpii.json").read_text())
    frames = [cv2.imread(str(folder / r["image"])) for r in labels]
    gt = np.array([r["joints"] for r in labels], dtype=np.float64)
    vis = np.array([r["joints_vis"] for r in labels], dtype=bool)
    return frames, gt, vis


def oracle_boxes(gt: np.ndarray, width: int, height: int, margin: float = 0.1) -> np.ndarray:
    """(T, 4) label joint extent + ``margin`` of its size per side, clipped to the frame."""
    lo, hi = gt.min(axis=1), gt.max(axis=1)
    m = margin * (hi - lo)
    lo, hi = lo - m, hi + m
    return np.stack([np.clip(lo[:, 0], 0, width - 1), np.clip(lo[:, 1], 0, height - 1),
                     np.clip(hi[:, 0], 0, width - 1), np.clip(hi[:, 1], 0, height - 1)], axis=1)


def tracked_boxes(frames: list[np.ndarray]) -> np.ndarray:
    """(T, 4) boxes of the mediapipe detector + the project's tracker (NaN where no track)."""
    from fdpose.pipelines.detectors.mediapipe import MediaPipeDetector
    from fdpose.pipelines.tracking import track_diver

    with MediaPipeDetector() as det:
        cands = det.detect(frames, list(range(len(frames))))
    h, w = frames[0].shape[:2]
    return track_diver(cands, image_size=(w, h)).boxes[:, :4]


def ssd_tracked_boxes(frames: list[np.ndarray]) -> np.ndarray:
    """(T, 4) boxes of the no-flag default's tracking: the ``ssd`` detector, the pixel camera and the
    tracker with local re-detection (as ``benchmarks/real_robustness.py`` runs it; NaN where no box)."""
    from real_robustness import Clip, track_default  # noqa: E402  (benchmarks/ is this script's folder)
    from tracker_ablation import make_detector

    boxes, _, _ = track_default(Clip(frames, [None] * len(frames), [False] * len(frames)), make_detector("ssd"))
    return np.asarray(boxes, dtype=np.float64)[:, :4]


def pipeline_poses(folder: Path, detector: str, pose_options: dict[str, Any] | None = None
                   ) -> tuple[np.ndarray, float]:
    """(T, 16, 3) keypoints written by ``track-and-estimate --detector DETECTOR --pose mediapipe`` (the runner
    itself: its tracker with the pixel camera, its pose stage and interpolation) on the clip, and ms per frame."""
    import tempfile

    from fdpose.pipelines.runner import RunConfig, run_batch

    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "frames" / "real" / "0"
        tree.mkdir(parents=True)
        for i, path in enumerate(sorted(folder.glob("*.jpg"))):
            (tree / f"{i:05d}.jpg").symlink_to(path.resolve())
        t0 = time.perf_counter()
        summary = run_batch([Path(tmp) / "frames"], RunConfig(out=Path(tmp) / "out", detector=detector,
                                                              pose="mediapipe", pose_options=pose_options or {}),
                            progress=False)
        seconds = time.perf_counter() - t0
        assert summary.outcomes[0].status == "done", summary.outcomes[0].reason
        record = json.loads(next((Path(tmp) / "out").glob("*.json")).read_text())
    kps = np.array([[[np.nan if v is None else v for v in j] for j in f["keypoints"]] for f in record["frames"]],
                   dtype=float)
    return kps, 1000 * seconds / len(kps)


def run_variant(frames: list[np.ndarray], boxes: np.ndarray | None, cfg: MediaPipePoseConfig
                ) -> tuple[np.ndarray, float]:
    """(T, 16, 3) poses and ms per frame of one variant (``boxes`` None: whole frames)."""
    est = MediaPipePoseEstimator(cfg)
    out = np.full((len(frames), 16, 3), np.nan)
    out[..., 2] = 0.0
    try:
        t0 = time.perf_counter()
        if boxes is None:
            for t, f in enumerate(frames):
                lm = est._landmarks_tta(f)
                if lm is not None:
                    out[t] = blazepose_to_mpii(lm)
        else:
            est.reset()
            for t, (f, b) in enumerate(zip(frames, boxes)):
                if np.isfinite(b).all():
                    out[t] = est.estimate(f, b[None])[0]
        ms = 1000 * (time.perf_counter() - t0) / len(frames)
    finally:
        est.close()
    return out, ms


def score(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray) -> dict[str, Any]:
    """PCKh@0.5 raw and after the pipeline's interpolation (min confidence 0.3 and 0)."""
    res = {"raw": pckh(pred[..., :2], gt, vis).mean}
    for thr in (0.3, 0.0):
        filled = interpolate_joints(pred, None, InterpolationConfig(min_confidence=thr))
        res[f"interp {thr:g}"] = pckh(filled.keypoints[..., :2], gt, vis).mean
        res[f"filled {thr:g}"] = float(np.mean(filled.joint_source.astype(str) == "interpolated"))
    res["placed"] = float(np.isfinite(pred[..., 0]).mean())
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=None)
    ap.add_argument("--variants", default=None, help="comma-separated names (default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    frames, gt, vis = load_clip(shared_dir(args.shared) / "data" / "real" / CLIP)
    h, w = frames[0].shape[:2]
    names = list(VARIANTS) if not args.variants else [v.strip() for v in args.variants.split(",")]
    box_sets: dict[str, np.ndarray | None] = {"whole": None, "oracle": oracle_boxes(gt, w, h)}
    rows = []
    for name in names:
        kind, cfg = VARIANTS[name]
        if kind.startswith("pipeline:"):
            changed = {f.name: getattr(cfg, f.name) for f in fields(cfg)
                       if getattr(cfg, f.name) != getattr(MediaPipePoseConfig(), f.name)}
            pred, ms = pipeline_poses(shared_dir(args.shared) / "data" / "real" / CLIP, kind.split(":")[1], changed)
            row = {"variant": name, "boxes": kind, **score(pred, gt, vis), "ms_per_frame": ms}
            rows.append(row)
            if not args.json:
                print(f"| {name} | {kind} | {row['raw']:.3f} | {row['interp 0.3']:.3f} ({row['filled 0.3']:.0%}) | "
                      f"{row['interp 0']:.3f} | {row['placed']:.0%} | {ms:.0f} |", flush=True)
            continue
        if kind not in box_sets:
            box_sets[kind] = ssd_tracked_boxes(frames) if kind == "ssd-tracked" else tracked_boxes(frames)
        pred, ms = run_variant(frames, box_sets[kind], cfg)
        row = {"variant": name, "boxes": kind, **score(pred, gt, vis), "ms_per_frame": ms}
        rows.append(row)
        if not args.json:
            print(f"| {name} | {kind} | {row['raw']:.3f} | {row['interp 0.3']:.3f} ({row['filled 0.3']:.0%}) | "
                  f"{row['interp 0']:.3f} | {row['placed']:.0%} | {ms:.0f} |", flush=True)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
