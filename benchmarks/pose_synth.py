"""PCKh@0.5 of mediapipe pose variants on a synth world with ground-truth boxes (docs/pose.md item 5, section 6).

    OMP_NUM_THREADS=1 python benchmarks/pose_synth.py [--videos 4] [--seed 7] [--variants a,b] [--world DIR]

The world (``fdpose.synth``, no video files) is generated into a temporary folder unless ``--world``
names one to reuse. Every clip runs through a fresh orientation state with the diver's ground-truth
box on each frame where he has one; joints are scored against the ground truth's visible joints
(``fdpose.metrics.pose.pckh``, the ground truth's head size). Columns: all frames, the frames where
the diver's body axis (pelvis -> thorax) is within 45 degrees of upright, the frames where it is
more than 135 degrees from upright (inverted) (an unplaced joint counts as wrong in these three), all
frames after the pipeline's filling of unplaced joints (interpolation, minimum confidence 0), the
share of joints placed, the frames scored, ms per frame (pose stage only).
The variants are those of ``benchmarks/pose_real.py`` whose boxes are ``oracle`` (the config is what
matters here; the boxes are the ground truth's).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fdpose.metrics.pose import pckh
from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints
from fdpose.pipelines.pose.crop import upright_angle
from fdpose.pipelines.pose.mediapipe import MediaPipePoseConfig, MediaPipePoseEstimator
from fdpose.skeleton import JOINT_INDEX as J

DEFAULT_VARIANTS = "default (ctx 3.0 share 1.0),box q1 (prior angle only),box (s1.5 q8 r2 heatmap)"


def load_world(world: Path) -> list[list[tuple[Path, np.ndarray, np.ndarray]]]:
    """Per clip, the frames with a diver box: (image path, box (4,), joints (16, 3) [x, y, visible])."""
    clips = []
    for gt_path in sorted((world / "gt").glob("*/*.json")):
        doc = json.loads(gt_path.read_text())
        rows = [(world / fr["image"], np.array(fr["diver"]["box"], float)[:4], np.array(fr["diver"]["joints"], float))
                for fr in doc["frames"] if fr.get("diver") and fr["diver"].get("box") is not None]
        clips.append(rows)
    return clips


def run(clips: list[list[tuple[Path, np.ndarray, np.ndarray]]], cfg: MediaPipePoseConfig) -> dict[str, Any]:
    """PCKh@0.5 over all scored frames, upright and inverted ones, and ms per frame."""
    import cv2

    preds, filled, gts, vis, axis = [], [], [], [], []
    seconds = 0.0
    with MediaPipePoseEstimator(cfg) as est:
        for rows in clips:
            est.reset()
            clip = []
            for image_path, box, joints in rows:
                image = cv2.imread(str(image_path))
                t0 = time.perf_counter()
                clip.append(est.estimate(image, box[None])[0])
                seconds += time.perf_counter() - t0
                gts.append(joints[:, :2])
                vis.append(joints[:, 2] >= 1)
                axis.append(abs(upright_angle(joints[J["thorax"], :2] - joints[J["pelvis"], :2])))
            poses = np.array(clip)
            preds += list(poses[..., :2])
            # the pipeline's interpolation of the joints the backend did not place (its rule for this backend)
            filled += list(interpolate_joints(poses, None, InterpolationConfig(min_confidence=0.0)).keypoints[..., :2])
    pred, fill, gt, visible, ang = np.array(preds), np.array(filled), np.array(gts), np.array(vis), np.array(axis)
    up, inv = ang < 45, ang > 135
    return {"all": pckh(pred, gt, visible).mean, "upright": pckh(pred[up], gt[up], visible[up]).mean,
            "inverted": pckh(pred[inv], gt[inv], visible[inv]).mean, "interp": pckh(fill, gt, visible).mean,
            "placed": float(np.isfinite(pred[..., 0]).mean()), "frames": len(pred),
            "ms_per_frame": 1000 * seconds / max(len(pred), 1)}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pose_real import VARIANTS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma-separated names of pose_real.py variants")
    ap.add_argument("--world", type=Path, default=None, help="a synth world folder to reuse (made when absent)")
    args = ap.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",")]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"error: unknown variants {unknown}")
    with tempfile.TemporaryDirectory() as tmp:
        world = args.world or Path(tmp) / "world"
        if not (world / "gt").is_dir():
            from fdpose.synth import SynthConfig, generate_world

            generate_world(SynthConfig(videos=args.videos, seed=args.seed, write_video=False), world)
        clips = load_world(world)
        print("| variant | all | upright | inverted | all, interp 0 | placed | frames | ms/frame |\n"
              "|---|---|---|---|---|---|---|---|")
        for name in names:
            r = run(clips, VARIANTS[name][1])
            print(f"| {name} | {r['all']:.3f} | {r['upright']:.3f} | {r['inverted']:.3f} | {r['interp']:.3f} | "
                  f"{r['placed']:.0%} | {r['frames']} | {r['ms_per_frame']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
